// SPDX-License-Identifier: MIT
#include "world.hpp"

#include "p2p/file_name.hpp"
#include "p2p/probe_routing_id.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace p2p::sim {

namespace {

/// ZeroMQ's queue limit per connection and direction, in messages (socket_setup.hpp's peer_hwm on both ends).
constexpr int high_water_mark = 512;
/// How much of the trace a failure report shows.
constexpr std::size_t trace_kept = 400;
/// DEALER reconnect: first try after 100 ms, doubling to 2 s (socket_setup.hpp).
constexpr clock_time reconnect_first = std::chrono::milliseconds(100);
constexpr clock_time reconnect_max = std::chrono::milliseconds(2000);

std::string type_name(const message& m) {
    return std::string(to_string(type_of(m)));
}

} // namespace

/// A peer's way out of its core: every call goes to the world, tagged with the peer.
class peer_effects final : public core::effects {
public:
    peer_effects(world& w, int index) : world_(w), index_(index) {}

    bool send(peer_id to, core::link_id via, message msg) override {
        return world_.send(index_, to, via, std::move(msg));
    }
    std::optional<std::string> dial(core::link_id link, const std::string& endpoint,
                                    const std::optional<std::string>&) override {
        return world_.dial(index_, link, endpoint);
    }
    std::optional<std::string> dial_probe(core::link_id link, const std::string& endpoint,
                                          const std::optional<std::string>&) override {
        return world_.dial(index_, link, endpoint, true);
    }
    bool send_to_probe(std::string_view probe, message msg) override {
        return world_.send_routed(index_, std::string(probe), std::move(msg));
    }
    void hang_up(core::link_id link) override { world_.hang_up(index_, link); }
    void start_job(core::job_id id, core::job work) override { world_.start_job(index_, id, std::move(work)); }
    void cancel_job(core::job_id id) override { world_.cancel_job(index_, id); }
    void emit(event e) override { world_.observe(index_, std::move(e)); }
    payload buffer(std::size_t size) override { return payload::allocate(size); }
    void send_beacon(std::span<const std::uint8_t> datagram) override { world_.broadcast(index_, datagram); }

private:
    world& world_;
    int index_;
};

world::world(std::uint64_t seed, peer_options options) : rng_(seed), options_(std::move(options)) {
    origin_ = now_ = steady_time{} + std::chrono::hours(1);
    now_ns_ = 1'700'000'000'000'000'000;
}

world::~world() {
    // Cores first: their destructors must not find the world half gone.
    for (auto& p : peers_) {
        p->core.reset();
    }
}

int world::add_peer() {
    const int index = static_cast<int>(peers_.size());
    auto p = std::make_unique<sim_peer>(&now_ns_);
    p->index = index;
    p->endpoint = "inproc://peer-" + std::to_string(index);
    p->effects = std::make_unique<peer_effects>(*this, index);
    // From a slow USB stick to a fast NVMe disk (log-uniform, 1 MB/s to 1 GB/s): a resume hash can take a while.
    p->hash_bytes_per_second = std::pow(10.0, std::uniform_real_distribution<double>(6, 9)(rng_));
    peers_.push_back(std::move(p));
    return index;
}

int world::add_host(int lan_index) {
    const int index = add_peer();
    auto& p = peer(index);
    // 10.0.0.1, 10.0.0.2, ...: 250 hosts to each /24, so a host's address is its index.
    p.address = "10." + std::to_string(index / 62500) + "." + std::to_string(index / 250 % 250) + "." +
                std::to_string(index % 250 + 1);
    p.endpoint = "tcp://" + p.address + ":" + std::to_string(lan_port);
    p.lan = lan_index;
    return index;
}

void world::start(int index) {
    auto& p = peer(index);
    if (p.core) {
        return;
    }
    ++p.incarnation;
    p.messages_delivered = 0;
    p.listed.clear();
    p.cancelled_jobs.clear();
    p.worker_free = now_;
    auto o = options_;
    o.folder = p.endpoint;
    const peer_id id(rng_() | 1); // never 0
    p.core = std::make_unique<core::node_core>(o, id, p.endpoint, false, p.folder, false, *p.effects, now_);
    note("peer " + std::to_string(index) + " starts as " + id.short_hex());
    if (!p.address.empty()) {
        // As the real node: every process its own redial jitter, so peers that lose each other spread out.
        p.core->seed_jitter(rng_());
    }
    if (options_.discover && p.lan >= 0) {
        core::discovery_settings discovery;
        discovery.port = lan_port;
        p.core->start_discovery(std::move(discovery), now_);
    }
    reschedule(index);
}

void world::crash(int index) {
    auto& p = peer(index);
    if (!p.core) {
        return;
    }
    note("peer " + std::to_string(index) + " crashes");
    // Open downloads end with the process: nobody will hear of them.
    p.downloads.clear();
    p.core.reset();
    p.wake.reset();
    ++p.wake_generation;
    std::vector<std::uint64_t> broken;
    for (const auto& [id, c] : connections_) {
        if (c.dialer == index || c.listener == index) {
            broken.push_back(id);
        }
    }
    for (auto id : broken) {
        drop_connection(id, connections_[id].listener == index);
    }
    std::erase_if(dealers_, [index](const auto& d) { return d.first.first == index; });
}

void world::partition(const std::set<int>& side) {
    partition_side_ = side;
    partitioned_ = true;
    note("partition");
    std::vector<std::uint64_t> broken;
    for (const auto& [id, c] : connections_) {
        if (blocked(c.dialer, c.listener)) {
            broken.push_back(id);
        }
    }
    for (auto id : broken) {
        drop_connection(id, true);
    }
}

void world::heal() {
    partitioned_ = false;
    partition_side_.clear();
    note("heal");
}

bool world::blocked(int a, int b) const {
    return partitioned_ && partition_side_.contains(a) != partition_side_.contains(b);
}

void world::cut_one() {
    if (connections_.empty()) {
        return;
    }
    auto it = connections_.begin();
    std::advance(it, static_cast<long>(rng_() % connections_.size()));
    note("cut connection " + std::to_string(it->first));
    drop_connection(it->first, true);
}

void world::command(int index, core_command cmd) {
    auto& p = peer(index);
    if (!p.core) {
        return;
    }
    if (auto* d = std::get_if<command::download>(&cmd)) {
        p.downloads[d->op] = d->request.name;
        note("peer " + std::to_string(index) + " downloads " + d->request.name + " (op " + std::to_string(d->op) + ")");
    }
    p.core->on_command(std::move(cmd), now_);
    check_after(index, "command");
    reschedule(index);
}

void world::folder_changed(int index) {
    auto& p = peer(index);
    if (p.core) {
        p.core->on_folder_changed(now_);
        reschedule(index);
    }
}

void world::at(clock_time when, std::function<void()> action) {
    actions_.push_back(std::move(action));
    schedule(origin_ + when, happening::action{actions_.size() - 1});
}

void world::note_version(const std::string& name, const std::string& bytes) {
    versions_[name].insert(bytes);
}

// -------------------------------------------------------------------------------------------------------------
// The network

int world::index_of(peer_id id) const {
    for (const auto& p : peers_) {
        if (p->core && p->core->id() == id) {
            return p->index;
        }
    }
    return -1;
}

int world::peer_at(const std::string& endpoint) const {
    for (const auto& p : peers_) {
        if (p->endpoint == endpoint) {
            return p->index;
        }
    }
    return -1;
}

std::optional<std::string> world::dial(int from, core::link_id link, const std::string& endpoint, bool probe) {
    if (peer_at(endpoint) == from) {
        fail("a peer never dials itself", "peer " + std::to_string(from) + " dials its own " + endpoint);
    }
    auto& d = dealers_[{from, link}];
    d.endpoint = endpoint;
    d.probe = probe;
    d.backoff = reconnect_first;
    try_connect(from, link);
    return std::nullopt;
}

void world::try_connect(int from, core::link_id link) {
    auto it = dealers_.find({from, link});
    if (it == dealers_.end() || it->second.connection != 0) {
        return;
    }
    auto& d = it->second;
    d.connect_pending = false;
    const int target = peer_at(d.endpoint);
    if (target < 0 || !peer(target).core || blocked(from, target)) {
        // Nobody there (yet): ZeroMQ tries again with a growing interval, and keeps what was queued.
        d.connect_pending = true;
        schedule(now_ + d.backoff, happening::connect_attempt{from, link});
        d.backoff = std::min(d.backoff * 2, reconnect_max);
        return;
    }
    const auto id = next_connection_++;
    auto& c = connections_[id];
    c.dialer = from;
    c.link = link;
    c.listener = target;
    c.routing_id = d.probe ? probe_routing_id(peer(from).core->id(), link) : peer(from).core->id().hex();
    c.free[0] = c.free[1] = now_;
    c.latency = std::chrono::microseconds(std::uniform_int_distribution<int>(50, 20000)(rng_));
    // From a slow home link to a fast LAN: slow enough that cancels, crashes and failovers meet transfers in flight.
    c.bytes_per_second = std::uniform_real_distribution<double>(1e6, 1e8)(rng_);
    c.dialer_incarnation = peer(from).incarnation;
    c.listener_incarnation = peer(target).incarnation;
    d.connection = id;
    d.backoff = reconnect_first;
    establish(id);
}

void world::establish(std::uint64_t id) {
    auto& c = connections_[id];
    auto& routed = routes_[{c.listener, c.routing_id}];
    if (routed == 0 || !connections_.contains(routed)) {
        routed = id;
        c.accepted = true;
    } else {
        // ROUTER_HANDOVER 0: the routing id is taken; this connection is kept but nothing it sends is delivered.
        c.accepted = false;
    }
    auto& d = dealers_[{c.dialer, c.link}];
    while (!d.outbox.empty()) {
        transmit(id, 0, std::move(d.outbox.front()));
        d.outbox.pop_front();
    }
}

void world::drop_connection(std::uint64_t id, bool dealer_reconnects) {
    auto it = connections_.find(id);
    if (it == connections_.end()) {
        return;
    }
    const auto c = it->second;
    connections_.erase(it);
    if (auto r = routes_.find({c.listener, c.routing_id}); r != routes_.end() && r->second == id) {
        routes_.erase(r);
    }
    auto d = dealers_.find({c.dialer, c.link});
    if (d != dealers_.end() && d->second.connection == id) {
        d->second.connection = 0;
        if (dealer_reconnects && !d->second.connect_pending) {
            d->second.connect_pending = true;
            schedule(now_ + d->second.backoff, happening::connect_attempt{c.dialer, c.link});
        }
    }
}

void world::hang_up(int from, core::link_id link) {
    auto it = dealers_.find({from, link});
    if (it == dealers_.end()) {
        return;
    }
    const auto conn = it->second.connection;
    dealers_.erase(it);
    if (conn != 0) {
        drop_connection(conn, false);
    }
}

bool world::send(int from, peer_id to, core::link_id via, message msg) {
    if (via == 0) {
        return send_routed(from, to.hex(), std::move(msg));
    }
    auto it = dealers_.find({from, via});
    if (it == dealers_.end()) {
        return false;
    }
    auto& d = it->second;
    if (d.connection == 0) {
        if (static_cast<int>(d.outbox.size()) >= high_water_mark) {
            return false;
        }
        d.outbox.push_back(std::move(msg));
        return true;
    }
    if (connections_[d.connection].queued[0] >= high_water_mark) {
        return false;
    }
    transmit(d.connection, 0, std::move(msg));
    return true;
}

bool world::send_routed(int from, const std::string& routing_id, message msg) {
    auto r = routes_.find({from, routing_id});
    if (r == routes_.end()) {
        return false; // EHOSTUNREACH: nobody of that routing id is connected to our inbox
    }
    if (connections_[r->second].queued[1] >= high_water_mark) {
        return false;
    }
    transmit(r->second, 1, std::move(msg));
    return true;
}

void world::transmit(std::uint64_t id, int direction, message msg) {
    auto& c = connections_[id];
    std::size_t bytes = 32;
    if (const auto* ch = std::get_if<chunk>(&msg)) {
        bytes += ch->data.size();
    }
    const auto wire = clock_time(static_cast<std::int64_t>(static_cast<double>(bytes) / c.bytes_per_second * 1e9));
    c.free[direction] = std::max(c.free[direction], now_) + wire;
    ++c.queued[direction];
    auto d = std::make_shared<happening::delivery>();
    d->connection = id;
    d->direction = direction;
    d->generation = c.generation;
    d->msg = std::move(msg);
    schedule(c.free[direction] + c.latency, std::move(d));
}

void world::broadcast(int from, std::span<const std::uint8_t> datagram) {
    auto& sender = peer(from);
    ++sender.beacons_sent;
    ++traffic_.beacons_sent;
    if (sender.lan < 0) {
        return;
    }
    auto bytes = std::make_shared<const std::vector<std::uint8_t>>(datagram.begin(), datagram.end());
    std::uniform_int_distribution<std::int64_t> latency(lan.latency_min.count(), lan.latency_max.count());
    std::uniform_real_distribution<double> draw(0, 1);
    for (const auto& p : peers_) {
        if (p->lan != sender.lan || (lan.loss > 0 && draw(rng_) < lan.loss)) {
            continue;
        }
        schedule(now_ + clock_time(latency(rng_)), happening::datagram{p->index, from, bytes});
    }
}

std::uint64_t traffic::messages_total() const {
    std::uint64_t total = 0;
    for (const auto& [type, n] : messages) {
        total += n;
    }
    return total;
}

traffic traffic::operator-(const traffic& earlier) const {
    traffic out = *this;
    out.beacons_sent -= earlier.beacons_sent;
    out.beacons_heard -= earlier.beacons_heard;
    for (const auto& [type, n] : earlier.messages) {
        out.messages[type] -= n;
    }
    return out;
}

// -------------------------------------------------------------------------------------------------------------
// Jobs and events of the cores

void world::start_job(int index, core::job_id id, core::job work) {
    auto& p = peer(index);
    std::uint64_t bytes = 0;
    auto duration = clock_time(50'000);
    if (const auto* h = std::get_if<core::hash_job>(&work)) {
        bytes = h->length;
    } else if (std::uniform_int_distribution<int>(0, 9)(rng_) == 0) {
        // Now and then an fsync waits seconds for a busy disk: longer than any transfer timeout.
        duration += std::chrono::milliseconds(std::uniform_int_distribution<int>(500, 4000)(rng_));
    }
    duration += clock_time(static_cast<std::int64_t>(static_cast<double>(bytes) / p.hash_bytes_per_second * 1e9));
    p.worker_free = std::max(p.worker_free, now_) + duration;
    schedule(p.worker_free,
             happening::job_done{index, p.incarnation, id, std::make_shared<core::job>(std::move(work))});
}

void world::cancel_job(int index, core::job_id id) {
    peer(index).cancelled_jobs.insert(id);
}

void world::observe(int index, event e) {
    auto& p = peer(index);
    std::visit(
        [&](auto& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, peer_joined>) {
                p.listed.insert(ev.id);
            } else if constexpr (std::is_same_v<T, connect_finished>) {
                if (ev.ok) {
                    p.listed.insert(ev.id);
                }
            } else if constexpr (std::is_same_v<T, peer_left>) {
                p.listed.erase(ev.id);
            } else if constexpr (std::is_same_v<T, download_progress>) {
                if (on_progress) {
                    const auto copy = ev;
                    // Later, not inside the core's call: the scenario may crash this very peer.
                    at(elapsed(), [this, index, copy] { on_progress(index, copy); });
                }
            } else if constexpr (std::is_same_v<T, download_finished>) {
                auto open = p.downloads.find(ev.op);
                if (open == p.downloads.end()) {
                    fail("every download ends once", "peer " + std::to_string(index) +
                                                         " got a second or unknown "
                                                         "download_finished for op " +
                                                         std::to_string(ev.op));
                    return;
                }
                p.downloads.erase(open);
                note("peer " + std::to_string(index) + " download " + ev.name +
                     (ev.ok ? " ok" : " failed: " + ev.error) +
                     (ev.resumed_from > 0 ? " (resumed at " + std::to_string(ev.resumed_from) + ")" : ""));
                if (!ev.ok) {
                    ++downloads_failed_;
                    return;
                }
                ++downloads_ok_;
                const auto* f = p.folder.file(ev.name);
                if (f == nullptr) {
                    fail("a finished download is in the folder", "peer " + std::to_string(index) + ": " + ev.name);
                } else if (!versions_[ev.name].contains(f->bytes())) {
                    fail("no final file differs from every version its source offered",
                         "peer " + std::to_string(index) + ": " + ev.name + " (" + std::to_string(f->bytes().size()) +
                             " bytes) is no version of it that any peer ever had");
                }
            }
        },
        e);
}

// -------------------------------------------------------------------------------------------------------------
// The clock

void world::schedule(steady_time when, event_kind e) {
    queue_.push(queued_event{std::max(when, now_), seq_++, std::move(e)});
}

void world::reschedule(int index) {
    auto& p = peer(index);
    if (!p.core) {
        return;
    }
    const auto next = p.core->next_deadline();
    if (next == p.wake) {
        return;
    }
    p.wake = next;
    ++p.wake_generation;
    if (next) {
        schedule(*next, happening::wake{index, p.wake_generation});
    }
}

bool world::run_until(clock_time until) {
    const auto end = origin_ + until;
    while (!failure_ && !queue_.empty() && queue_.top().at <= end) {
        auto next = queue_.top();
        queue_.pop();
        now_ = next.at;
        now_ns_ = 1'700'000'000'000'000'000 + std::chrono::duration_cast<clock_time>(now_ - origin_).count();
        ++events_;
        fire(next.what);
    }
    if (!failure_ && now_ < end) {
        now_ = end;
    }
    return !failure_;
}

void world::fire(event_kind& e) {
    std::visit(
        [&](auto& h) {
            using T = std::decay_t<decltype(h)>;
            if constexpr (std::is_same_v<T, std::shared_ptr<happening::delivery>>) {
                auto it = connections_.find(h->connection);
                if (it == connections_.end() || it->second.generation != h->generation) {
                    return; // the connection broke with this message on it
                }
                auto& c = it->second;
                --c.queued[h->direction];
                const int target = h->direction == 0 ? c.listener : c.dialer;
                auto& p = peer(target);
                if (!p.core || (h->direction == 0 && !c.accepted)) {
                    return;
                }
                if (tracing) {
                    note(std::to_string(h->direction == 0 ? c.dialer : c.listener) + " -> " + std::to_string(target) +
                         " " + type_name(h->msg));
                }
                ++p.messages_delivered;
                ++traffic_.messages[type_name(h->msg)];
                if (h->direction == 0) {
                    p.core->on_inbox(core::inbox_origin{c.routing_id, std::nullopt, {}},
                                     decode_result(std::move(h->msg)), now_);
                } else {
                    p.core->on_link(c.link, decode_result(std::move(h->msg)), now_);
                }
                check_after(target, "message");
                reschedule(target);
            } else if constexpr (std::is_same_v<T, happening::connect_attempt>) {
                try_connect(h.from, h.link);
            } else if constexpr (std::is_same_v<T, happening::wake>) {
                auto& p = peer(h.peer);
                if (!p.core || h.generation != p.wake_generation) {
                    return;
                }
                p.wake.reset();
                p.core->on_deadline(now_);
                if (auto next = p.core->next_deadline(); next && *next <= now_ && !p.core->finished()) {
                    // The deadline did not move on: a real node would poll with timeout 0 until it does (a spin).
                    fail("a deadline moves on once handled",
                         "peer " + std::to_string(h.peer) + ": next deadline is still due after on_deadline");
                    return;
                }
                check_after(h.peer, "deadline");
                reschedule(h.peer);
            } else if constexpr (std::is_same_v<T, happening::job_done>) {
                auto& p = peer(h.peer);
                if (!p.core || p.incarnation != h.incarnation || p.cancelled_jobs.erase(h.id) > 0) {
                    return;
                }
                auto result = core::run_job(h.id, *h.work, [] { return false; });
                h.work.reset();
                p.core->on_job_done(std::move(result), now_);
                check_after(h.peer, "job");
                reschedule(h.peer);
            } else if constexpr (std::is_same_v<T, happening::datagram>) {
                auto& p = peer(h.to);
                if (!p.core) {
                    return; // nobody listens on the port now
                }
                ++p.beacons_heard;
                ++traffic_.beacons_heard;
                p.core->on_beacon(peer(h.from).address, *h.bytes, now_);
                check_after(h.to, "beacon");
                reschedule(h.to);
            } else {
                actions_[h.index]();
            }
        },
        e);
}

// -------------------------------------------------------------------------------------------------------------
// Invariants

void world::retire(int index) {
    auto& p = peer(index);
    note("peer " + std::to_string(index) + " has left");
    p.downloads.clear();
    p.core.reset();
    p.wake.reset();
    ++p.wake_generation;
    // The process exits: its dealers close at once, and its connections a linger later, so that the GOODBYEs
    // already on them still arrive (socket_setup.hpp: goodbye_linger_ms).
    std::erase_if(dealers_, [index](const auto& d) { return d.first.first == index; });
    const auto incarnation = p.incarnation;
    at(std::chrono::duration_cast<clock_time>(now_ - origin_) + std::chrono::milliseconds(200),
       [this, index, incarnation] {
           if (peer(index).incarnation != incarnation) {
               return;
           }
           std::vector<std::uint64_t> broken;
           for (const auto& [id, c] : connections_) {
               if ((c.dialer == index && c.dialer_incarnation == incarnation) ||
                   (c.listener == index && c.listener_incarnation == incarnation)) {
                   broken.push_back(id);
               }
           }
           for (auto id : broken) {
               drop_connection(id, connections_[id].listener == index);
           }
       });
}

void world::check_after(int index, const char* what) {
    if (failure_) {
        return;
    }
    auto& p = peer(index);
    if (p.core && p.core->finished()) {
        retire(index);
        return;
    }
    if (!p.folder.bad_names().empty()) {
        return fail("nothing is written outside a folder",
                    "peer " + std::to_string(index) + " touched " + escape_for_terminal(p.folder.bad_names().front()));
    }
    if (!p.core) {
        return;
    }
    const auto& stats = p.core->stats();
    if (stats.messages_received != p.messages_delivered) {
        return fail("every received message is accounted for",
                    "peer " + std::to_string(index) + " counted " + std::to_string(stats.messages_received) +
                        " of the " + std::to_string(p.messages_delivered) + " delivered to it (after a " + what + ")");
    }
    const auto ids = p.core->peer_ids();
    if (ids.size() > options_.max_peers) {
        return fail("no peer exceeds the degree cap", "peer " + std::to_string(index) + " has " +
                                                          std::to_string(ids.size()) + " peers, more than " +
                                                          std::to_string(options_.max_peers));
    }
    for (const auto& id : ids) {
        if (!p.listed.contains(id)) {
            return fail("no peer is listed after it left and did not join again",
                        "peer " + std::to_string(index) + " lists " + id.short_hex());
        }
    }
    // Memory: one hash per served file version and one job per download, no more.
    const auto job_bound = options_.max_uploads + p.downloads.size() + 1;
    if (p.core->jobs_pending() > job_bound) {
        return fail("file jobs stay within their bound",
                    "peer " + std::to_string(index) + " has " + std::to_string(p.core->jobs_pending()) + " jobs open");
    }
}

void world::check_pairs() {
    if (failure_) {
        return;
    }
    std::map<std::pair<int, int>, int> count;
    for (const auto& [id, c] : connections_) {
        // By direction: two peers that each dial the other (a beacon on one side, peer exchange on the other) keep
        // both connections today, one each way (docs/architecture.md); one side holding two is a pair joined twice.
        ++count[{c.dialer, c.listener}];
    }
    std::map<std::pair<int, int>, steady_time> doubled;
    for (const auto& [pair, n] : count) {
        if (n < 2) {
            continue;
        }
        auto before = doubled_since_.find(pair);
        const auto since = before == doubled_since_.end() ? now_ : before->second;
        // A redial while the old connection is still closing holds two for a moment (a connect timeout at most).
        if (now_ - since > options_.connect_timeout + std::chrono::seconds(1)) {
            return fail("no peer dials another twice", "peer " + std::to_string(pair.first) + " has " +
                                                           std::to_string(n) + " connections to peer " +
                                                           std::to_string(pair.second));
        }
        doubled[pair] = since;
    }
    doubled_since_ = std::move(doubled);
}

bool world::downloads_done() const {
    return std::all_of(peers_.begin(), peers_.end(), [](const auto& p) { return p->downloads.empty(); });
}

void world::check_final() {
    if (failure_) {
        return;
    }
    for (const auto& p : peers_) {
        if (!p->downloads.empty()) {
            return fail("every download ends after the last fault heals",
                        "peer " + std::to_string(p->index) + " still downloads " + p->downloads.begin()->second);
        }
        for (const auto& [name, f] : p->folder.files()) {
            if (!versions_[name].contains(f->bytes())) {
                return fail("no final file differs from every version its source offered",
                            "peer " + std::to_string(p->index) + " holds an unknown " + name);
            }
        }
    }
}

void world::fail(std::string invariant, std::string detail) {
    if (!failure_) {
        failure_ = violation{std::move(invariant), std::move(detail)};
        note("VIOLATION: " + failure_->invariant + ": " + failure_->detail);
    }
}

void world::note(std::string text) {
    trace_.push_back(trace_entry{std::chrono::duration_cast<clock_time>(now_ - origin_), std::move(text)});
    if (!tracing && trace_.size() > trace_kept) {
        trace_.pop_front();
    }
}

} // namespace p2p::sim
