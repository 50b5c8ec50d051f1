// SPDX-License-Identifier: MIT
// bridge.hpp - the one meeting point of the HTTP threads and the thread that owns the p2p::peer.
//
// cpp-httplib answers requests on threads of its own; a p2p::peer may be used from one thread only. So HTTP threads
// never touch the peer. They read a snapshot (self, files, peers, failures, transfers) that the loop thread keeps
// current, and they post commands (connect, download, cancel) to a queue, wake the loop through an eventfd its
// zmq::poll watches, and wait for the reply with a deadline. The loop thread also hands every event it reads to the
// bridge, which updates the snapshot and copies the event to each event-stream client's bounded queue: a client that
// falls behind is dropped, it never slows the peer.
//
//   HTTP threads                         bridge (mutex)                       loop thread (menu / serve)
//   GET  -> snapshot() ................. self, files, peers, failures, ...  <- on_event(), run(): refreshes
//   POST -> call(command) -> queue ----> eventfd ---------------------------> run(): executes on the peer
//        <- future<reply> <-------------------------------------------------- promise (at once, or on the event)
//   SSE  -> subscriber::wait() <-------- per-client queue (bounded) <-------- on_event(): fan-out
#pragma once

#include "json.hpp"
#include "web/transfer_table.hpp"

#include "p2p/peer.hpp"
#include "p2p/unique_fd.hpp"

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace p2p::web {

using cli::json;

/// The answer to one HTTP request: a status and a JSON body.
struct reply {
    int status = 200;
    json body;
};

/// Error codes in API error bodies: the exit codes of p2p-peer (src/cli/exit_code.hpp, docs/usage.md).
enum class error_code : int {
    failure = 1, ///< The operation failed: unknown peer or transfer, file exists, peer unreachable, stopping...
    usage = 2,   ///< The request was wrong: bad JSON, missing field, unknown route, wrong method, no token...
};

/// {"error": message, "code": N} with an HTTP status.
reply error_reply(int status, std::string message, error_code code);

/// POST /api/connect.
struct connect_command {
    std::string address; ///< "host:port", or "KEY@host:port" in secure mode.
};
/// POST /api/downloads.
struct download_command {
    std::string name;
    std::string from; ///< A peer id prefix, or empty for any peer that has the file.
};
/// POST /api/downloads/<op>/cancel.
struct cancel_command {
    operation_id op = 0;
};
using command = std::variant<connect_command, download_command, cancel_command>;

/// One event-stream (SSE) client: a bounded queue that the loop thread fills and one HTTP thread drains.
class subscriber {
public:
    using message = std::shared_ptr<const std::string>;
    enum class status {
        messages, ///< Messages were taken.
        timeout,  ///< Nothing came within the timeout (time for a keep-alive comment).
        ended,    ///< The stream is over: the peer stopped, or this client fell behind and was dropped.
    };

    explicit subscriber(std::size_t capacity) : capacity_(capacity) {}

    /// Loop thread. Queues a message and never blocks: when the queue is full the client is dropped instead.
    void push(message m);
    /// Ends the stream once what is queued has been taken.
    void close();
    /// HTTP thread. Waits up to timeout; moves queued messages to out. `ended` comes after the last message.
    status wait(std::vector<message>& out, std::chrono::milliseconds timeout);
    /// True once it fell behind and lost messages.
    bool dropped() const;

private:
    mutable std::mutex mutex_;
    std::condition_variable ready_; ///< Signalled on push and close.
    std::deque<message> queue_;     ///< Not yet written to the client.
    std::size_t capacity_;          ///< Most messages queued before the client counts as fallen behind.
    bool closed_ = false;           ///< The peer stopped: the stream ends once the queue is empty.
    bool dropped_ = false;          ///< It fell behind: the stream ends now, without the rest.
};

/// Bounds of the bridge; the defaults suit a person with a few browser tabs and scripts.
struct bridge_limits {
    std::size_t subscribers = 8;                      ///< Event streams at once (each holds an HTTP thread).
    std::size_t subscriber_queue = 512;               ///< Events queued per stream before that client is dropped.
    std::chrono::milliseconds queue_deadline{5000};   ///< A command waits this long for the loop to take it: 503.
    std::chrono::milliseconds answer_deadline{30000}; ///< Then this long for its outcome (a connect: 2 s normally).
    std::chrono::milliseconds refresh_interval{1000}; ///< How often our own file list is read again.
    std::size_t finished_transfers = 32;              ///< Finished downloads still listed.
};

class bridge {
public:
    /// Throws std::runtime_error when the eventfd cannot be made.
    explicit bridge(bridge_limits limits = {});
    ~bridge();
    bridge(const bridge&) = delete;
    bridge& operator=(const bridge&) = delete;

    // ---- any thread (the HTTP threads) ----

    /// Posts a command to the loop thread and waits for its reply: 202/200 on success, an error reply otherwise,
    /// 503 when the loop did not take it within queue_deadline or the peer is stopping.
    reply call(command c);
    /// GET views of the snapshot. Names and texts from other peers are in them as they came (JSON-escaped only).
    json self() const;
    json files() const;
    json peers() const;
    json failures() const;
    /// Every transfer with its rate and time left at `now`.
    json transfers(clock::time_point now) const;
    /// One transfer, or nullopt when the op is unknown.
    std::optional<json> transfer_view(operation_id op, clock::time_point now) const;
    /// A new event stream; nullptr when there are `subscribers` already or the peer has stopped.
    std::shared_ptr<subscriber> subscribe();
    void unsubscribe(const std::shared_ptr<subscriber>& s);

    // ---- the loop thread only: the thread that owns the peer ----

    /// For zmq::poll beside the peer: readable when commands wait for run().
    zmq::pollitem_t pollitem() const;
    /// Reads what the snapshot starts from: our id, address and key, our files, peers and failures.
    void attach(peer& p, clock::time_point now);
    /// Every event the loop reads: updates the snapshot and sends it to the event streams.
    void on_event(peer& p, const event& e, clock::time_point now);
    /// Runs the commands that wait, and reads our file list again when refresh_interval has passed. Cheap when there
    /// is nothing to do: call it whenever the loop wakes.
    void run(peer& p, clock::time_point now);
    /// The peer begins to stop: commands get 503 from now on, and the peer is not asked for anything any more.
    void stopping();
    /// The peer has stopped: event streams get a last "stopped" event and end, and every waiting call gets 503.
    void close();

private:
    /// A command on its way from an HTTP thread to the loop, and its answer on the way back.
    struct job {
        command what;
        std::promise<reply> answer;
        std::atomic<bool> taken{false}; ///< Set by whichever side claims it first: the loop, or a caller giving up.
    };

    // Loop thread, with mutex_ not held unless named *_locked.
    void execute(peer& p, const std::shared_ptr<job>& j, clock::time_point now);
    reply start_download(peer& p, const download_command& c, clock::time_point now);
    reply cancel(peer& p, const cancel_command& c, clock::time_point now);
    void refresh_peers(peer& p, bool with_failures);
    /// Reads our file list again; true when it changed.
    bool refresh_files(peer& p, clock::time_point now);
    /// Sends an object with an "event" key to every event stream.
    void publish_locked(const json& value);
    void publish_files_changed_locked();
    /// Sends {"event": "transfer", ...the transfer's view}.
    void publish_transfer_locked(const transfer& t, clock::time_point now);
    /// A transfer's view at `now`; as an event, with "event": "transfer" first.
    json transfer_json_locked(const transfer& t, clock::time_point now, bool as_event = false) const;

    const bridge_limits limits_;
    unique_fd wake_; ///< eventfd: HTTP threads write to it after queueing a command.

    // The snapshot and the queues, read and written under mutex_; only the loop thread writes the snapshot.
    mutable std::mutex mutex_;
    json self_;                                            ///< GET /api/self: read once, at attach().
    std::vector<file_entry> files_;                        ///< Our files, read again every refresh_interval.
    std::vector<peer_info> peers_;                         ///< Read again after each peer event.
    std::vector<failure_record> failures_;                 ///< Read again after each failed connect or leave.
    transfer_table transfers_;                             ///< Fed by the download events.
    std::deque<std::shared_ptr<job>> queue_;               ///< Commands posted, not yet taken by the loop.
    std::vector<std::shared_ptr<subscriber>> subscribers_; ///< The open event streams.
    std::uint64_t next_event_id_ = 1;                      ///< The SSE `id:` of the next event.
    bool stopping_ = false;                                ///< stopping() was called: no more commands.
    bool closed_ = false;                                  ///< close() was called: no more streams either.

    // The loop thread's own (no lock needed).
    std::map<operation_id, std::shared_ptr<job>> pending_connects_; ///< Answered by their connect_finished.
    clock::time_point next_refresh_{};                              ///< When run() reads our file list again.
    peer_id self_id_;                                               ///< For the last event, "stopped".
};

} // namespace p2p::web
