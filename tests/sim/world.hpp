// SPDX-License-Identifier: MIT
// world.hpp - the simulated world: many peer cores on a simulated network and simulated disks, one clock that moves
// only when the world says, one seed for every choice. Nothing here reads a real clock or opens a socket.
//
// The network keeps ZeroMQ's promises and only those: per connection, messages arrive in order or not at all; a
// message is lost only when its connection breaks (a cut, a crash, a partition) or when a queue is at its
// high-water mark (the send is refused). A DEALER reconnects by itself and then delivers what was queued; a ROUTER
// gives a second connection under a routing id it already has nothing (ROUTER_HANDOVER 0). Jobs run on one worker
// per peer, each taking a time proportional to its bytes.
//
// A peer can also be a host with an IPv4 address ("10.0.x.y", listening on tcp port lan_port) on a simulated LAN: a
// broadcast domain in which every beacon one peer sends reaches every peer of the same LAN (itself too, as a
// broadcast loops back), each after its own small latency, or is lost at the LAN's loss rate. A datagram is not a
// connection: it is delivered or not, to whichever core runs there when it arrives.
#pragma once

#include "memory_folder.hpp"

#include "p2p/core/node_core.hpp"
#include "p2p/options.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace p2p::sim {

using clock_time = std::chrono::nanoseconds;

/// What a run found wrong: the invariant, and a line on the case.
struct violation {
    std::string invariant;
    std::string detail;
};

/// One line of the trace kept for a failure report.
struct trace_entry {
    clock_time at;
    std::string text;
};

class world;

/// What can happen next in the world, each at its time.
namespace happening {
/// A message reaches the other end of a connection (direction 0: dialer to listener's inbox; 1: back).
struct delivery {
    std::uint64_t connection = 0;
    int direction = 0;
    std::uint64_t generation = 0; ///< Of the connection when sent: a broken connection delivers nothing.
    message msg;
};
/// A DEALER tries (again) to reach its endpoint.
struct connect_attempt {
    int from = 0;
    core::link_id link = 0;
};
/// A core's deadline.
struct wake {
    int peer = 0;
    std::uint64_t generation = 0;
};
/// A file job is done.
struct job_done {
    int peer = 0;
    std::uint64_t incarnation = 0;
    core::job_id id = 0;
    std::shared_ptr<core::job> work;
};
/// Something the scenario does.
struct action {
    std::size_t index = 0;
};
/// A beacon reaches a peer on the sender's LAN.
struct datagram {
    int to = 0;
    int from = 0;
    std::shared_ptr<const std::vector<std::uint8_t>> bytes; ///< One copy for all the receivers of a broadcast.
};
using any = std::variant<std::shared_ptr<delivery>, connect_attempt, wake, job_done, action, datagram>;
} // namespace happening

/// One simulated peer: a core, its folder, its effects, and what the world observed of it.
struct sim_peer {
    int index = 0;
    std::string endpoint; ///< "inproc://peer-<index>", or "tcp://10.0.x.y:7000" for a host (add_host)
    std::string address;  ///< A host's IPv4 address, the source of its beacons; empty for an inproc peer.
    int lan = -1;         ///< The broadcast domain its beacons reach; -1: none (no discovery).
    memory_folder folder;
    std::unique_ptr<core::effects> effects;
    std::unique_ptr<core::node_core> core; ///< nullptr while crashed.
    std::uint64_t incarnation = 0;         ///< Grows with each start: stale events of an earlier one are dropped.
    std::optional<steady_time> wake;       ///< The deadline a wake event is queued for.
    std::uint64_t wake_generation = 0;
    steady_time worker_free;                       ///< The file worker is busy until then.
    std::set<core::job_id> cancelled_jobs;         ///< Results of these are dropped.
    double hash_bytes_per_second = 2e8;            ///< How fast this peer's disk and CPU hash.
    std::uint64_t messages_delivered = 0;          ///< To this incarnation's core: must match its messages_received.
    std::set<peer_id> listed;                      ///< Joined and not left since, as its events said.
    std::map<operation_id, std::string> downloads; ///< Started and not finished: op -> name.
    std::uint64_t beacons_sent = 0;                ///< Over all its incarnations.
    std::uint64_t beacons_heard = 0;               ///< Datagrams handed to its core.

    explicit sim_peer(const std::int64_t* clock_ns) : folder(clock_ns) {}
};

/// What went over the network, summed over all peers: for messages per peer per second.
struct traffic {
    std::uint64_t beacons_sent = 0;
    std::uint64_t beacons_heard = 0;               ///< Handed to a core (lost and not-running ones are not).
    std::map<std::string, std::uint64_t> messages; ///< ZeroMQ messages handed to a core, by type ("HELLO").
    std::uint64_t messages_total() const;
    traffic operator-(const traffic& earlier) const; ///< What happened between two snapshots.
};

/// A broadcast domain: how long a beacon takes to reach each peer, and how often one is lost.
struct lan_settings {
    clock_time latency_min = std::chrono::microseconds(100);
    clock_time latency_max = std::chrono::milliseconds(2);
    double loss = 0; ///< Probability that one receiver misses one beacon.
};

class world {
public:
    /// The tcp port every host listens on (each host has an address of its own).
    static constexpr int lan_port = 7000;

    world(std::uint64_t seed, peer_options options);
    ~world();

    std::mt19937_64& rng() { return rng_; }
    steady_time now() const { return now_; }
    const peer_options& options() const { return options_; }

    /// Adds a peer (not started) and returns its index.
    int add_peer();
    /// Adds a host (not started): a peer at "tcp://10.<a>.<b>.<c>:7000", on broadcast domain `lan` (-1: none).
    /// With options().discover its core sends and hears beacons from its start.
    int add_host(int lan);
    lan_settings lan;
    sim_peer& peer(int index) { return *peers_[static_cast<std::size_t>(index)]; }
    /// The peer whose running core has this id, or -1.
    int index_of(peer_id id) const;
    std::size_t peer_count() const { return peers_.size(); }
    /// Starts a peer's core (a fresh id, empty state; its folder is as it was).
    void start(int index);
    /// The process dies: state gone, folder kept as it is, every connection of it breaks.
    void crash(int index);
    /// Every connection between the two sides breaks, and none forms until heal().
    void partition(const std::set<int>& side);
    void heal();
    /// Breaks one connection (chosen by the seed), as a network glitch would.
    void cut_one();

    /// Runs a command on a peer now (connect, download, cancel, stop).
    void command(int index, core_command cmd);
    /// Tells a peer its folder changed (as inotify would).
    void folder_changed(int index);
    /// Schedules something to happen at `at`.
    void at(clock_time when, std::function<void()> action);

    /// A file version the scenario wrote: a downloaded file must equal one of the versions of its name.
    void note_version(const std::string& name, const std::string& bytes);

    /// Runs until `until` (simulated), or until a violation. Returns false on a violation.
    bool run_until(clock_time until);
    /// No two peers are joined over two connections for longer than a crossing connect takes: call it now and then
    /// (a violation when a pair seen doubled at an earlier call still is).
    void check_pairs();
    /// What went over the network so far.
    const traffic& sent() const { return traffic_; }
    /// True when no download any peer started is still open.
    bool downloads_done() const;
    /// The checks that need the whole run: every download ended, every file in every folder is a known version.
    void check_final();

    const std::optional<violation>& failure() const { return failure_; }
    const std::deque<trace_entry>& trace() const { return trace_; }
    /// Counters for the report.
    std::uint64_t events() const { return events_; }
    std::uint64_t downloads_ok() const { return downloads_ok_; }
    std::uint64_t downloads_failed() const { return downloads_failed_; }
    clock_time elapsed() const { return now_ - origin_; }
    bool tracing = false; ///< Keep a trace of every step (else only the last few hundred, for a failure).
    /// Called on a download's progress events: the scenario aims faults at transfers in flight with it.
    std::function<void(int peer, const download_progress&)> on_progress;

private:
    friend class peer_effects;
    using event_kind = happening::any;

    // The network, used by peer_effects.
    bool send(int from, peer_id to, core::link_id via, message msg);
    std::optional<std::string> dial(int from, core::link_id link, const std::string& endpoint, bool probe = false);
    /// Through `from`'s inbox (its ROUTER) to the connection under `routing_id` (a peer's id, or a probe's).
    bool send_routed(int from, const std::string& routing_id, message msg);
    void hang_up(int from, core::link_id link);
    void start_job(int peer, core::job_id id, core::job work);
    void cancel_job(int peer, core::job_id id);
    void observe(int peer, event e);
    void broadcast(int from, std::span<const std::uint8_t> datagram);

    void schedule(steady_time when, event_kind e);
    void try_connect(int from, core::link_id link);
    void establish(std::uint64_t conn);
    void transmit(std::uint64_t conn, int direction, message msg);
    void drop_connection(std::uint64_t conn, bool dealer_reconnects);
    void reschedule(int index);
    void fire(event_kind& e);
    /// After every input to a peer: the invariants that can be checked at once.
    void check_after(int index, const char* what);
    /// A core that said GOODBYE: its process ends.
    void retire(int index);
    void fail(std::string invariant, std::string detail);
    void note(std::string text);
    int peer_at(const std::string& endpoint) const;
    bool blocked(int a, int b) const;

    std::mt19937_64 rng_;
    peer_options options_;
    steady_time origin_;
    steady_time now_;
    std::int64_t now_ns_ = 0; ///< For file times in the folders.
    std::vector<std::unique_ptr<sim_peer>> peers_;

    struct connection {
        int dialer = 0;
        core::link_id link = 0;
        int listener = 0;
        std::string routing_id; ///< The dialer's id when it connected (16 hex digits), or its probe's.
        bool accepted = false;  ///< The listener's ROUTER took it (not a duplicate routing id).
        std::uint64_t generation = 0;
        steady_time free[2];    ///< Each direction's wire is busy until then (bandwidth).
        int queued[2] = {0, 0}; ///< Messages in flight each way (high-water mark).
        clock_time latency{};
        double bytes_per_second = 1e9;
        std::uint64_t dialer_incarnation = 0, listener_incarnation = 0;
    };
    struct dealer {
        std::string endpoint;
        std::uint64_t connection = 0; ///< 0 while not connected.
        std::deque<message> outbox;   ///< Queued before the connection is up (ZeroMQ keeps them for it).
        clock_time backoff{};
        bool connect_pending = false;
        bool probe = false; ///< Under a probe's routing id (probe_routing_id.hpp), not the dialer's id.
    };

    std::map<std::uint64_t, connection> connections_;
    std::uint64_t next_connection_ = 1;
    std::map<std::pair<int, core::link_id>, dealer> dealers_;
    /// Each listener's ROUTER: routing id -> the connection it delivers to.
    std::map<std::pair<int, std::string>, std::uint64_t> routes_;
    std::set<int> partition_side_;
    bool partitioned_ = false;

    struct queued_event {
        steady_time at;
        std::uint64_t seq;
        event_kind what;
        bool operator>(const queued_event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
    };
    std::priority_queue<queued_event, std::vector<queued_event>, std::greater<>> queue_;
    std::uint64_t seq_ = 0;
    std::vector<std::function<void()>> actions_;

    std::map<std::string, std::set<std::string>> versions_;
    std::optional<violation> failure_;
    std::deque<trace_entry> trace_;
    std::uint64_t events_ = 0;
    std::uint64_t downloads_ok_ = 0;
    std::uint64_t downloads_failed_ = 0;
    traffic traffic_;
    std::map<std::pair<int, int>, steady_time> doubled_since_; ///< Pairs with two connections, since when.
};

} // namespace p2p::sim
