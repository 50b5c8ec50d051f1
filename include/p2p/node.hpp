// SPDX-License-Identifier: MIT
// node.hpp - the socket shell around a peer's core: one thread, one zmq::poll loop, every socket (as zyre_node.c).
//
// The front end (peer.hpp) starts node_main() in a thread and talks to it over an inproc PAIR pipe with the
// node_command and node_output values below. Nothing else touches the node's sockets. The node decides nothing:
// it polls, decodes, feeds the core (core/node_core.hpp) with the wall clock's `now`, and carries out what the core
// asks through the effects interface (send, dial, hang up, run a file job, tell the front end).
#pragma once

#include "p2p/beacon_socket.hpp"
#include "p2p/chunk_pool.hpp"
#include "p2p/codec.hpp"
#include "p2p/core/commands.hpp"
#include "p2p/core/node_core.hpp"
#include "p2p/curve_keys.hpp"
#include "p2p/event.hpp"
#include "p2p/host_lookup.hpp"
#include "p2p/interface_watch.hpp"
#include "p2p/io_worker.hpp"
#include "p2p/options.hpp"
#include "p2p/posix_folder.hpp"
#include "p2p/watched_socket.hpp"
#include "p2p/zap_authenticator.hpp"

#include <zmq.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace p2p {

class capture_writer;

// ---------------------------------------------------------------------------------------------------------------
// The pipe between front end and node.

namespace command {
struct list_files {};
struct list_peers {};
struct list_failures {};
struct get_stats {};
} // namespace command

using node_command = std::variant<command::connect, command::download, command::cancel, command::list_files,
                                  command::list_peers, command::list_failures, command::get_stats, command::stop>;

/// The node is bound and serving.
struct node_started {
    peer_id id;
    std::string endpoint;
    std::string public_key; ///< Secure mode only.
};
/// The node could not start; the reason is one line.
struct node_failed {
    std::string reason;
};
/// The node has said goodbye and closed its sockets; the thread ends next.
struct node_stopped {};

using node_reply = std::variant<node_started, node_failed, node_stopped, std::vector<file_entry>,
                                std::vector<peer_info>, std::vector<failure_record>, peer_stats>;
using node_output = std::variant<event, node_reply>;

/// The thread body: builds a node on `pipe_endpoint` (a bound inproc PAIR) and runs it until stopped.
void node_main(zmq::context_t& context, peer_options options, std::string pipe_endpoint);

// ---------------------------------------------------------------------------------------------------------------

class node final : private core::effects {
public:
    /// Binds and lists the folder. Throws std::runtime_error with a one-line reason.
    node(zmq::context_t& context, peer_options options, zmq::socket_ref pipe);
    ~node() override;
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    peer_id id() const { return id_; }
    const std::string& endpoint() const { return endpoint_; }

    /// Runs the poll loop until the core has left.
    void run();

    /// Handles one message that arrived on the ROUTER (routing id removed). Public so that a fuzz target can feed
    /// frames into a node without sockets; never throws on any input.
    void on_router_message(std::string_view routing_id, std::span<zmq::message_t> frames);

private:
    using clock = std::chrono::steady_clock;

    // What the core asks for (core::effects).
    bool send(peer_id to, core::link_id via, message msg) override;
    std::optional<std::string> dial(core::link_id link, const std::string& endpoint,
                                    const std::optional<std::string>& server_key) override;
    std::optional<std::string> dial_probe(core::link_id link, const std::string& endpoint,
                                          const std::optional<std::string>& server_key) override;
    bool send_to_probe(std::string_view probe, message msg) override;
    /// Queues `body` (and, with `more`, a payload the caller sends next) on the ROUTER to `routing_id`; false when
    /// its queue is full. Throws zmq::error_t when nobody has that routing id.
    bool send_routed(std::string_view routing_id, zmq::message_t& body, zmq::send_flags more);
    /// Both kinds of dial: a DEALER under `routing_id` connected to `endpoint`, watched, kept as link `link`.
    std::optional<std::string> open_link(core::link_id link, const std::string& endpoint,
                                         const std::optional<std::string>& server_key, const std::string& routing_id);
    void hang_up(core::link_id link) override;
    void start_job(core::job_id id, core::job work) override;
    void cancel_job(core::job_id id) override;
    void emit(event e) override;
    payload buffer(std::size_t size) override;
    void send_beacon(std::span<const std::uint8_t> datagram) override;

    // The loop
    void poll_once();
    bool receive_from(zmq::socket_ref socket, std::string* routing_id);
    void on_link_message(core::link_id link, peer_id remote);
    void on_command(node_command& cmd);
    /// Closes every socket, letting GOODBYE go out first.
    void close_all();

    /// Passes a reply or event to the front end without ever blocking (see backlog_).
    void output(node_output out);
    void flush_output();

    // Sockets and the world around the core
    zmq::context_t& context_;
    peer_options options_;
    zmq::socket_ref pipe_;
    peer_id id_;
    zmq::socket_t router_;
    std::string endpoint_;
    posix_folder folder_;
    io_worker worker_;
    io_worker background_worker_{true}; ///< Hashes nobody waits for yet (hash_job::background).
    chunk_pool chunk_pool_;
    std::unique_ptr<capture_writer> capture_;
    std::optional<curve_keypair> keys_;      ///< Secure mode only.
    std::shared_ptr<zap_authenticator> zap_; ///< Secure mode only.
    std::string zap_domain_;

    /// One outgoing connection per link the core opened.
    struct link {
        /// The DEALER and the monitor that tells us when its connection drops, without waiting for silence.
        watched_socket connection;
        peer_id remote;   ///< Who the core last sent to over it (peer_id{} before the HELLO answer): for the capture.
        std::string host; ///< The host name being resolved before connect; empty for a numeric address.
        std::string port; ///< Of the endpoint, for the connect after the lookup.
        std::string address;         ///< The numeric host connected to (for reading its greeting); empty for inproc.
        std::vector<message> held;   ///< Sent while the host name resolved: sent once connected.
        bool trying = false;         ///< A TCP connect is under way (CONNECT_DELAYED): a retry after it was refused.
        bool ever_connected = false; ///< Retries after a drop are libzmq's business, not a failed connect.
        bool reported = false;       ///< Why the first try failed was told to the core already.
        bool handshaken = false;     ///< A ZeroMQ handshake succeeded over it once.
        bool greeting_asked = false; ///< Its greeting was read after a failed handshake (host_lookup::start_greeting).
    };
    /// A host name resolved for a link: connect to its address, or tell the core it does not resolve.
    void on_lookup(const host_lookup::answer& answer);
    /// The greeting read after a handshake failed with no detail: tell the core when the mechanisms differ.
    void on_greeting(const host_lookup::answer& answer);
    /// Hands up to `limit` messages waiting on one link to the core.
    void read_link(core::link_id link_number, int limit);
    /// Reads the connection events of one link's monitor and hands the ones the core decides on to it.
    void on_monitor_events(core::link_id link_number);
    std::map<core::link_id, link> links_;
    host_lookup lookups_;

    std::optional<core::node_core> core_;

    /// LAN discovery's UDP sockets (--discover), when the bind address has an interface beacons can go out on.
    std::optional<beacon_socket> beacons_;
    /// With discovery: tells when interfaces or addresses change, so the core sends a beacon on the new ones.
    std::optional<interface_watch> interfaces_;
    /// Opens beacons_ and starts discovery in the core; without it (a warning says why) the peer runs on.
    void start_discovery();
    /// Hands the datagrams waiting on beacons_ to the core, a bounded number per turn.
    void read_beacons();
    std::vector<std::uint8_t> datagram_;
    std::string datagram_source_;

    /// Outputs the pipe could not take yet, oldest first. At most max_backlog of them, unless every one is a reply or
    /// an operation's outcome (those are bounded by the commands the front end sent).
    std::deque<node_output> backlog_;
    static constexpr std::size_t max_backlog = 1000;
    std::uint64_t loop_wakeups_ = 0;
    std::uint64_t events_dropped_ = 0;

    /// Reused frame storage, so receiving allocates nothing per message once warm.
    std::vector<zmq::message_t> frames_;
    std::vector<zmq::pollitem_t> items_;
};

} // namespace p2p
