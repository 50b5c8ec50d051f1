// SPDX-License-Identifier: MIT
// tap.hpp - the subcommands of p2p-tap, each in its own file (as CLI11's examples/subcom_in_files).
#pragma once

#include "p2p/endpoint.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <stdexcept>

namespace p2p::tap {

/// Exit codes of p2p-tap.
enum exit_code : int {
    exit_ok = 0,      ///< Done; for replay: the live peer answered as recorded.
    exit_failure = 1, ///< Runtime failure; for replay: the live peer answered differently.
    exit_usage = 2,   ///< Bad command line.
};

/// A usage error found after parsing (two options that do not go together...): main prints it and exits 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A subcommand added to the app, and what runs it once the command line is parsed.
struct subcommand {
    CLI::App* app;
    std::function<int()> run; ///< Returns the exit code; throws std::exception on runtime failure.
};

/// Checks a "host:port" option with p2p::to_endpoint, so a bad address is a usage error (exit 2).
inline CLI::Validator host_port() {
    return CLI::Validator(
        [](std::string& value) {
            try {
                (void)to_endpoint(value);
                return std::string();
            } catch (const std::invalid_argument& e) {
                return std::string(e.what());
            }
        },
        "HOST:PORT");
}

/// `relay`: a transparent recording relay that can add delay and loss (relay.cpp).
subcommand setup_relay(CLI::App& app);
/// `dump`: prints a capture, one line per message (dump.cpp).
subcommand setup_dump(CLI::App& app);
/// `replay`: plays the client side of a capture against a live peer and compares its answers (replay.cpp).
subcommand setup_replay(CLI::App& app);

} // namespace p2p::tap
