// SPDX-License-Identifier: MIT
// zmtp_greeting.hpp - which security mechanism a ZeroMQ socket speaks, read from its greeting.
#pragma once

#include <chrono>
#include <string>

namespace p2p {

/// What a ZeroMQ socket says about itself before any security handshake.
struct greeting_answer {
    std::string mechanism; ///< "NULL" (plain), "CURVE" (secure), ...; empty when it could not be read.
    std::string error;     ///< Why not, one line.
};

/// Connects to numeric_host:port (IPv4, or IPv6 without brackets) and reads the mechanism field of its ZMTP
/// 3 greeting (RFC 23). Blocks up to `timeout` per step: run it off the loop.
///
/// Why this exists: when the two ends of a connection speak different mechanisms, libzmq on either side may read the
/// other's whole greeting in one read, see the mismatch and close before its own mechanism has gone out; the other
/// side then reports only a handshake failure with no detail, which in secure mode reads like a wrong key. This
/// probe sends only the signature and the major version, which makes the socket send its whole greeting and then
/// wait for the rest of ours, so the mechanism always arrives.
greeting_answer read_greeting_mechanism(const std::string& numeric_host, const std::string& port,
                                        std::chrono::milliseconds timeout);

} // namespace p2p
