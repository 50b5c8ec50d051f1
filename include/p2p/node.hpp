// SPDX-License-Identifier: MIT
// node.hpp - the actor behind a peer: one thread, one zmq::poll loop, every socket (as zyre_node.c).
//
// The front end (peer.hpp) starts node_main() in a thread and talks to it over an inproc PAIR pipe with the
// node_command and node_output values below. Nothing else touches the node's sockets.
#pragma once

#include "p2p/catalog.hpp"
#include "p2p/codec.hpp"
#include "p2p/curve_keys.hpp"
#include "p2p/download.hpp"
#include "p2p/event.hpp"
#include "p2p/io_worker.hpp"
#include "p2p/options.hpp"
#include "p2p/peer.hpp"
#include "p2p/remote_peer.hpp"
#include "p2p/upload.hpp"
#include "p2p/zap_authenticator.hpp"

#include <zmq.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace p2p {

class capture_writer;

// ---------------------------------------------------------------------------------------------------------------
// The pipe between front end and node.

namespace command {
struct connect {
    operation_id op = 0;
    std::string address;
};
struct download {
    operation_id op = 0;
    download_request request;
};
/// Stop a download started with `op`; its partial file stays for a later resume.
struct cancel {
    operation_id op = 0;
};
struct list_files {};
struct list_peers {};
struct list_failures {};
struct get_stats {};
/// Leave: finish the transfers in flight while they make progress (or none, when `now`), then GOODBYE.
struct stop {
    bool now = false;
};
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

class node {
public:
    /// Binds and scans the folder. Throws std::runtime_error with a one-line reason.
    node(zmq::context_t& context, peer_options options, zmq::socket_ref pipe);
    ~node();
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    peer_id id() const { return id_; }
    const std::string& endpoint() const { return endpoint_; }

    /// Runs the poll loop until a stop command has been carried out.
    void run();

    /// Handles one message that arrived on the ROUTER (routing id removed). Public so that a fuzz target can feed
    /// frames into a node without sockets; never throws on any input.
    void on_router_message(std::string_view routing_id, std::span<zmq::message_t> frames);

private:
    using clock = std::chrono::steady_clock;
    using upload_key = std::pair<peer_id, std::uint32_t>;

    /// A connect waiting for its HELLO answer.
    struct pending_connect {
        operation_id op = 0;
        std::string address;                ///< As the user typed it, "host:port".
        std::string endpoint;               ///< As given to zmq connect.
        std::optional<peer_id> expected_id; ///< Secure mode: the id that belongs to the key we connect with.
        zmq::socket_t dealer;
        steady_time started;
        steady_time deadline;
    };

    // The loop
    void poll_once();
    steady_time next_wakeup(steady_time now) const;
    void on_timers(steady_time now);
    bool receive_from(zmq::socket_ref socket, std::string* routing_id);

    // The front end
    /// Passes a reply or event to the front end without ever blocking (see backlog_).
    void output(node_output out);
    void flush_output();
    void on_command(node_command& cmd);
    void start_connect(const command::connect& cmd);
    void start_download(const command::download& cmd);
    void cancel_download(const command::cancel& cmd);
    void begin_stop(bool now);
    void finish_stop();

    // Peers
    void on_peer_message(remote_peer& from, message& msg);
    void on_hello(std::string_view routing_id, const hello& h, zmq::message_t& frame);
    void on_connect_reply(pending_connect& pending, message& msg);
    void fail_connect(pending_connect& pending, std::string error, bool already_connected = false);
    void on_file_list(remote_peer& from, file_list& page);
    void send_file_list(remote_peer& to);
    void remove_peer(peer_id id, peer_left::reason why, std::string detail);
    void protocol_error(remote_peer* from, std::string_view who, const std::string& reason);
    remote_peer* find_peer(peer_id id);
    bool send(remote_peer& to, message msg);
    bool send_encoded(remote_peer& to, encoded_message& encoded);
    bool send_hello_via_router(std::string_view routing_id);
    void record_failure(const std::string& address, const std::string& error);

    // Uploads
    void on_request(remote_peer& from, const request& r);
    void on_ack(remote_peer& from, const ack& a);
    void start_sending(upload& u, const digest& hash);
    void pump(upload& u);
    void end_upload(const upload_key& key, std::optional<std::string> abort_reason);
    /// Removes an upload, and its claim on a hash job (a job nobody waits for is cancelled a little later).
    void erase_upload(const upload_key& key);
    void wait_for_hash(const upload& u, const upload_key& key);
    std::optional<steady_time> hash_jobs_deadline() const;
    void cancel_orphaned_hashes(steady_time now);
    /// When the upload next needs the loop (resend, give up), or nullopt while it waits for its hash.
    std::optional<steady_time> upload_deadline(const upload& u) const;

    // Downloads
    void on_preparing(remote_peer& from, const preparing& p);
    /// Secure mode: whether the connection a ROUTER message came over is authenticated with the key of `id`.
    static bool sent_with_key_of(const zmq::message_t& frame, peer_id id);
    /// An unanswered REQUEST goes again this often: often enough that a holder still hashing can answer PREPARING
    /// several times before the transfer timeout.
    milliseconds request_repeat_interval() const {
        return std::clamp(options_.transfer_timeout / 4, milliseconds(20), milliseconds(500));
    }
    /// When the download next needs the loop (REQUEST repeat, stall check), or nullopt while it waits for the worker.
    std::optional<steady_time> download_deadline(const download& d) const;
    void on_offer(remote_peer& from, const offer& o);
    void on_chunk(remote_peer& from, chunk& c);
    void on_transfer_refused(remote_peer& from, std::uint32_t transfer, std::string reason, download_errc code);
    download* find_download(std::uint32_t transfer);
    void request_from(download& d, remote_peer& source);
    /// Whether a download's source may still be sending: then leaving it takes a CANCEL.
    enum class source_state { serving, ended };
    void release_source(download& d, source_state state, const std::string& reason);
    void fail_over(download& d, std::string reason, download_errc code, source_state state);
    void fail_download(download& d, download_errc code, std::string error, source_state state = source_state::serving);
    void complete_download(download& d);
    std::vector<remote_peer*> sources_for(const download& d);
    void on_worker_results();

    // Sockets and state
    zmq::context_t& context_;
    peer_options options_;
    zmq::socket_ref pipe_;
    peer_id id_;
    zmq::socket_t router_;
    std::string endpoint_;
    catalog catalog_;
    io_worker worker_;
    chunk_pool chunk_pool_;
    std::unique_ptr<capture_writer> capture_;
    std::optional<curve_keypair> keys_;      ///< Secure mode only.
    std::shared_ptr<zap_authenticator> zap_; ///< Secure mode only.
    std::string zap_domain_;

    static constexpr unsigned errors_logged_per_second = 20;
    steady_time error_log_window_{};
    unsigned errors_logged_ = 0;
    std::uint64_t errors_not_logged_ = 0;

    std::map<peer_id, remote_peer> peers_;
    std::vector<std::unique_ptr<pending_connect>> connects_;
    std::map<upload_key, upload> uploads_;
    std::map<std::uint32_t, download> downloads_;
    /// One whole-file hash in the worker, shared by every upload waiting for that file version.
    struct hash_job_entry {
        std::string name;
        file_stat stat;
        std::set<upload_key> waiters;
        std::optional<steady_time> orphaned_at; ///< Since when nobody waits for it.
    };
    std::map<std::uint64_t, hash_job_entry> hash_jobs_;  ///< io_worker job -> what it hashes and who waits
    std::map<std::uint64_t, std::uint32_t> resume_jobs_; ///< io_worker job -> download hashing its partial file
    std::map<std::uint32_t, partial_download> partial_by_transfer_; ///< What a resume hash job is hashing
    std::map<std::uint64_t, std::uint32_t> fsync_jobs_;             ///< io_worker job -> download being flushed
    std::map<std::string, failure_record> failures_;
    peer_stats stats_;

    std::uint64_t next_join_order_ = 1;
    std::uint32_t next_transfer_ = 1;
    std::optional<steady_time> rescan_at_;
    steady_time next_periodic_scan_;
    bool uploads_blocked_ = false; ///< A send hit the HWM: pump again on the next turn.
    bool stopping_ = false;
    bool finished_ = false;

    /// Outputs the pipe could not take yet, oldest first. At most max_backlog of them, unless every one is a reply or
    /// an operation's outcome (those are bounded by the commands the front end sent).
    std::deque<node_output> backlog_;
    static constexpr std::size_t max_backlog = 1000;

    /// Reused frame storage, so receiving allocates nothing per message once warm.
    std::vector<zmq::message_t> frames_;
    std::vector<zmq::pollitem_t> items_;
};

} // namespace p2p
