// SPDX-License-Identifier: MIT
// peer.hpp - the front end of one peer: starts the node actor and talks to it over an inproc pipe.
//
// Like zyre.c in front of zyre_node.c: the node thread owns every socket; this class only sends commands and reads
// replies and events. One peer object is used from one thread. Several peers may share a context, which is what
// lets tests run a mesh in one process over inproc.
#pragma once

#include "p2p/event.hpp"
#include "p2p/options.hpp"

#include <zmq.hpp>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace p2p {

/// What to download and from whom.
struct download_request {
    std::string name;                        ///< File name as listed by the other peer.
    std::string from;                        ///< Peer id or unique id prefix; empty for any peer that has it.
    std::optional<std::uint32_t> window;     ///< Overrides peer_options::window for this download.
    std::optional<std::uint32_t> chunk_size; ///< Overrides peer_options::chunk_size.
};

class peer {
public:
    /// Starts the node and waits until it is bound and has scanned its folder.
    /// Throws std::runtime_error with a one-line reason (bind failed, folder is a regular file...).
    peer(zmq::context_t& context, peer_options options);
    /// Stops gracefully if stop() was not called.
    ~peer();
    peer(const peer&) = delete;
    peer& operator=(const peer&) = delete;

    peer_id id() const { return id_; }
    /// The bound endpoint with the real port ("tcp://127.0.0.1:41234", "inproc://a").
    const std::string& endpoint() const { return endpoint_; }
    /// Secure mode: our CURVE public key (Z85), which others need to connect ("KEY@host:port"); else empty.
    const std::string& public_key() const { return public_key_; }

    /// Our shared files, sorted by name.
    std::vector<file_entry> local_files();
    /// Known peers, in the order they joined.
    std::vector<peer_info> peers();
    /// Addresses that failed or were evicted.
    std::vector<failure_record> failures();
    peer_stats stats();

    /// Connects to "host:port" or an endpoint; blocks until HELLO and the first file list, or failure.
    connect_finished connect(const std::string& address);
    /// Starts a connect; its connect_finished event carries the returned id.
    operation_id start_connect(const std::string& address);

    /// Downloads into our folder; blocks until finished. download_progress events are queued meanwhile.
    download_finished download(const download_request& request);
    /// Starts a download; its download_finished event carries the returned id.
    operation_id start_download(const download_request& request);

    /// The next event, waiting up to timeout; nullopt when none came.
    std::optional<event> next_event(milliseconds timeout);
    /// For zmq::poll together with other sources (the menu polls stdin beside it). When has_queued_events() is
    /// true, events are waiting already and poll may not fire: call next_event first.
    zmq::pollitem_t pollitem();
    bool has_queued_events() const { return !queued_.empty(); }
    /// The node thread has ended: after stop(), or on an internal error (logged), after which nothing more happens.
    bool stopped() const { return stopped_; }

    /// Graceful shutdown: GOODBYE to every peer, transfers in flight get options.shutdown_grace, then the node
    /// thread ends. Idempotent.
    void stop();

private:
    template <typename Reply, typename Command>
    Reply call(Command command);
    /// Reads from the pipe until an event matching `done` arrives; other events are queued for next_event.
    template <typename Finished>
    Finished wait_for(operation_id op);

    zmq::socket_t pipe_;
    std::thread thread_;
    peer_id id_;
    std::string endpoint_;
    std::string public_key_;
    std::deque<event> queued_;
    bool stopped_ = false;
};

} // namespace p2p
