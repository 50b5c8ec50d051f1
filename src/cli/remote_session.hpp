// SPDX-License-Identifier: MIT
// remote_session.hpp - what `ls` and `get` share: a short-lived peer of our own, connected to other peers.
#pragma once

#include "global_options.hpp"
#include "stop_signal.hpp"

#include "p2p/peer.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace p2p::cli {

/// A one-shot client peer on a free port (of --bind, default 127.0.0.1), connected to one or more addresses. Downloads
/// land in `folder`; nothing in it is listed or served (peer_options::client).
class remote_session {
public:
    /// Starts the peer and connects to `address`. Throws std::runtime_error with one line: the peer cannot start, the
    /// address cannot be reached within the connect timeout; interrupted_error when a stop signal came.
    remote_session(const global_options& globals, const std::filesystem::path& folder, const std::string& address);
    /// Starts the peer and connects to every address at once, waiting until each has answered with its file list or
    /// failed (the connect timeout bounds each). Those that failed are in failures(); throws std::runtime_error (every
    /// failure's line, joined by "; ") only when all did, interrupted_error when a stop signal came. With
    /// `follow_peers` it also connects to the peers they name (peer_options::follow_peers), without waiting for them.
    remote_session(const global_options& globals, const std::filesystem::path& folder,
                   const std::vector<std::string>& addresses, bool follow_peers);
    /// Says goodbye to the other peers.
    ~remote_session() = default;

    /// Our own peer.
    peer& local() { return peer_; }
    /// Ctrl-C and SIGTERM while the command runs.
    stop_signal& stop() { return stop_; }
    /// The first peer connected (in the order of the addresses).
    const connect_finished& remote() const { return connected_.front(); }
    /// Every peer connected, in the order of the addresses (an address that reached a peer already connected
    /// through an earlier one is a failure, not a second entry).
    const std::vector<connect_finished>& connected() const { return connected_; }
    /// "cannot connect to ADDRESS: reason" for each address that failed, in the order of the addresses.
    const std::vector<std::string>& failures() const { return failures_; }

private:
    stop_signal stop_;
    zmq::context_t context_;
    peer peer_; ///< Declared after the context: it must go first.
    std::vector<connect_finished> connected_;
    std::vector<std::string> failures_;
};

} // namespace p2p::cli
