// SPDX-License-Identifier: MIT
// remote_session.hpp - what `ls` and `get` share: a short-lived peer of our own, connected to one other peer.
#pragma once

#include "global_options.hpp"
#include "stop_signal.hpp"

#include "p2p/peer.hpp"

#include <filesystem>
#include <string>

namespace p2p::cli {

/// A one-shot client peer on a free port (of --bind, default 127.0.0.1), connected to `address`. Downloads land in
/// `folder`; nothing in it is listed or served (peer_options::client).
class remote_session {
public:
    /// Starts the peer and connects. Throws std::runtime_error with one line: the peer cannot start, the address
    /// cannot be reached within the connect timeout, or a stop signal came.
    remote_session(const global_options& globals, const std::filesystem::path& folder, const std::string& address);
    /// Says goodbye to the other peer.
    ~remote_session() = default;

    /// Our own peer.
    peer& local() { return peer_; }
    /// Ctrl-C and SIGTERM while the command runs.
    stop_signal& stop() { return stop_; }
    /// The connected peer.
    const connect_finished& remote() const { return remote_; }

private:
    stop_signal stop_;
    zmq::context_t context_;
    peer peer_; ///< Declared after the context: it must go first.
    connect_finished remote_;
};

} // namespace p2p::cli
