// SPDX-License-Identifier: MIT
// exit_code.hpp - what p2p-peer returns to its caller, and the one exception that means "usage error".
#pragma once

#include <stdexcept>

namespace p2p::cli {

/// Exit codes of p2p-peer (docs/usage.md).
enum exit_code : int {
    exit_ok = 0,            ///< Done.
    exit_failure = 1,       ///< Runtime failure: not found, unreachable, integrity, file exists, folder is a file...
    exit_usage = 2,         ///< Bad command line.
    exit_interrupted = 130, ///< Ctrl-C or SIGTERM ended the command before it was done (128 + SIGINT, as shells say).
};

/// A usage error found after parsing (options that do not go together...): main prints it and exits 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Ctrl-C or SIGTERM ended the command: main prints the message and exits exit_interrupted.
struct interrupted_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace p2p::cli
