// SPDX-License-Identifier: MIT
// peer.hpp - the front end of one peer: starts the node actor and talks to it over an inproc pipe.
//
// Like zyre.c in front of zyre_node.c: the node thread owns every socket; this class only sends commands and reads
// replies and events. One peer object is used from one thread. Several peers may share a context, which is what
// lets tests run a mesh in one process over inproc.
#pragma once

#include "p2p/download_request.hpp"
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

class peer {
public:
    /// Starts the node and waits until it is bound and has scanned its folder.
    /// Throws std::runtime_error with a one-line reason (bind failed, folder is a regular file...).
    peer(zmq::context_t& context, peer_options options);
    /// Leaves at once (stop_now()) if stop() was not called.
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

    /// Stops the download started as `op`: its download_finished event follows with code `cancelled`, and its partial
    /// file stays (hidden) so that downloading the same file again resumes it. Nothing happens when it has ended.
    void cancel(operation_id op);

    /// The next event, waiting up to timeout; nullopt when none came.
    std::optional<event> next_event(milliseconds timeout);
    /// For zmq::poll together with other sources (the menu polls stdin beside it). When has_queued_events() is
    /// true, events are waiting already and poll may not fire: call next_event first.
    zmq::pollitem_t pollitem();
    bool has_queued_events() const { return !queued_.empty(); }
    /// The node thread has ended: after stop(), or on an internal error (logged), after which nothing more happens.
    bool stopped() const { return stopped_; }

    /// Graceful shutdown, blocking: transfers in flight finish for as long as they make progress (a stop_pending
    /// event lists them), then GOODBYE to every peer and the node thread ends. Idempotent.
    void stop();
    /// The same without waiting: events keep coming, and stopped() turns true once the node has left.
    void begin_stop();
    /// Leaves at once, blocking: transfers in flight end (downloads keep their partial files for a resume), then
    /// GOODBYE to every peer. Also ends a graceful stop that is under way.
    void stop_now();

private:
    template <typename Reply, typename Command>
    Reply call(Command command);
    /// Reads from the pipe until an event matching `done` arrives; other events are queued for next_event.
    template <typename Finished>
    Finished wait_for(operation_id op);
    /// Reads the pipe until the node says it stopped, queueing events; then joins its thread.
    void wait_stopped();

    zmq::socket_t pipe_;
    std::thread thread_;
    peer_id id_;
    std::string endpoint_;
    std::string public_key_;
    std::deque<event> queued_;
    bool stopped_ = false;
    bool stop_sent_ = false; ///< A stop command is on its way: another would be one too many.
};

} // namespace p2p
