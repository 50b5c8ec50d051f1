// SPDX-License-Identifier: MIT
// node.cpp - the poll loop, the sockets, and carrying out what the core decides.
#include "p2p/node.hpp"

#include "p2p/capture.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/interface_addresses.hpp"
#include "p2p/interrupted.hpp"
#include "p2p/log.hpp"
#include "p2p/pipe.hpp"
#include "p2p/probe_routing_id.hpp"
#include "p2p/socket_setup.hpp"
#include "p2p/stored_id.hpp"

#include <algorithm>
#include <limits>
#include <thread>

namespace p2p {

namespace {

/// Who a ROUTER routing id is, for the capture: a peer's id, or the peer whose probe it is; peer_id{} for neither.
peer_id sender_of(std::string_view routing_id) {
    return peer_id::from_hex(routing_id).value_or(prober_of(routing_id).value_or(peer_id{}));
}

/// Messages taken from one socket per turn, so one busy peer cannot starve the others or the pipe.
constexpr int batch_per_socket = 64;

/// A connection's source as the host of "host:port": the router listens on IPv6 and IPv4 at once, so an IPv4 peer
/// shows as "::ffff:10.0.0.7" (back to "10.0.0.7"), and an IPv6 one ("fe80::1%eth0") needs brackets.
std::string dialable_host(std::string_view address) {
    constexpr std::string_view mapped = "::ffff:";
    if (address.starts_with(mapped) && address.find('.') != std::string_view::npos) {
        return std::string(address.substr(mapped.size()));
    }
    if (address.find(':') != std::string_view::npos) {
        return "[" + std::string(address) + "]";
    }
    return std::string(address);
}

/// Messages a link keeps while its host name resolves (the core sends one, its HELLO).
constexpr std::size_t max_held_while_resolving = 4;

/// Events the front end can do without when it falls behind: the newest state is asked for anyway (peers(),
/// progress again 200 ms later). Replies and the outcomes of operations are never dropped.
bool droppable(const node_output& out) {
    const auto* e = std::get_if<event>(&out);
    return e != nullptr && !std::holds_alternative<connect_finished>(*e) &&
           !std::holds_alternative<download_finished>(*e);
}

} // namespace

void node_main(zmq::context_t& context, peer_options options, std::string pipe_endpoint) {
    zmq::socket_t pipe(context, zmq::socket_type::pair);
    pipe.set(zmq::sockopt::linger, 0);
    retry_interrupted([&] { pipe.connect(pipe_endpoint); });
    std::unique_ptr<node> n;
    try {
        n = std::make_unique<node>(context, std::move(options), pipe);
    } catch (const std::exception& e) {
        pipe::send(pipe, node_output{node_reply{node_failed{e.what()}}});
        return;
    }
    try {
        n->run();
    } catch (const std::exception& e) {
        // Only a bug gets here: network input never throws out of its handler.
        log(log_level::error, "node ", n->id().short_hex(), " stopped on an internal error: ", e.what());
        pipe::send(pipe, node_output{node_reply{node_stopped{}}});
    }
}

node::node(zmq::context_t& context, peer_options options, zmq::socket_ref pipe)
    : context_(context), options_(std::move(options)), pipe_(pipe), id_(peer_id::random()),
      router_(context, zmq::socket_type::router), folder_(options_.folder) {
    configure_router(router_);
    std::optional<std::set<std::string>> allowed_keys; // secure mode: also the only keys peer exchange dials
    if (options_.keep_id && !options_.secure) {
        // After folder_: the folder exists now (it is created when missing).
        id_ = load_or_create_peer_id(options_.folder);
    }
    if (options_.secure) {
        // Keys and the ZAP policy must be in place before bind: a CURVE socket without a handler lets anyone in.
        keys_ = load_or_create_keypair(options_.folder);
        id_ = peer_id_for_key(keys_->public_key);
        std::optional<std::set<std::string>> allowed;
        if (!options_.allow.empty()) {
            allowed = read_allowlist(options_.allow);
        }
        zap_ = zap_authenticator::of(context_);
        zap_domain_ = "p2p-" + id_.hex();
        allowed_keys = allowed;
        zap_->set_policy(zap_domain_, std::move(allowed));
        make_curve_server(router_, *keys_, zap_domain_);
    }
    // An inproc name is free again only once libzmq's reaper has closed the socket that had it, a moment after
    // close(): a peer restarted in the same process under the same name waits for that (a second at most).
    const auto give_up = clock::now() + std::chrono::seconds(1);
    // On every interface means IPv6 too (a peer found by IPv6 multicast is dialled there): "*" with ZMQ_IPV6 is
    // libzmq's dual-stack wildcard, and falls back to IPv4 alone where the system has no IPv6.
    auto bind_to = options_.bind;
    if (bind_to.starts_with("tcp://0.0.0.0:")) {
        router_.set(zmq::sockopt::ipv6, 1);
        bind_to = "tcp://*:" + endpoint_port(bind_to);
    }
    for (;;) {
        try {
            retry_interrupted([&] { router_.bind(bind_to); });
            break;
        } catch (const zmq::error_t& e) {
            if (e.num() != EADDRINUSE || !options_.bind.starts_with("inproc://") || clock::now() >= give_up) {
                throw std::runtime_error("cannot listen on " + display_address(options_.bind) + ": " + e.what());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    if (!options_.capture.empty()) {
        capture_ = std::make_unique<capture_writer>(options_.capture);
    }
    core_.emplace(options_, id_, endpoint_, options_.secure, folder_, folder_.watch_fd() >= 0,
                  static_cast<core::effects&>(*this), clock::now());
    core_->allow_keys(std::move(allowed_keys));
    // The redial backoff's jitter: different in every process, so peers that lost each other at once spread out.
    core_->seed_jitter(peer_id::random().value());
    if (endpoint_.starts_with("tcp://")) {
        core_->set_this_machine(this_machine_hosts());
    }
    if (options_.discover && !options_.client) {
        start_discovery();
    }
}

void node::start_discovery() {
    // Only a TCP bind can be dialled; its host says which interfaces the beacon goes out on.
    if (!endpoint_.starts_with("tcp://")) {
        return;
    }
    const auto host = endpoint_host(endpoint_);
    // On every interface, discovery is on even with none up yet: a beacon goes out when one comes up.
    if (!beacon_socket::is_every_interface(host) && beacon_socket::interfaces_for(host).empty()) {
        log(log_level::info, "discovery is off: ", display_address(endpoint_), " is on no interface that broadcasts");
        return;
    }
    try {
        beacons_.emplace(options_.discover_port, host);
    } catch (const std::runtime_error& e) {
        log(log_level::warn, "discovery is off: ", e.what());
        return;
    }
    core::discovery_settings settings;
    settings.port = static_cast<std::uint16_t>(std::stoul(endpoint_port(endpoint_)));
    if (keys_) {
        settings.key = keys_->public_key;
        if (!options_.allow.empty()) {
            settings.allowed = read_allowlist(options_.allow);
        }
    }
    interfaces_.emplace();
    core_->start_discovery(std::move(settings), clock::now());
}

void node::read_beacons() {
    // A flood cannot hold the loop: the rest waits for the next turn, or the kernel drops it.
    for (int i = 0; i < 4 * batch_per_socket && beacons_->receive(datagram_source_, datagram_); ++i) {
        core_->on_beacon(datagram_source_, datagram_, clock::now());
    }
}

node::~node() {
    if (zap_) {
        zap_->remove_policy(zap_domain_);
    }
}

void node::run() {
    // The front end waits for this one, and for everything after the loop: those may block.
    pipe::send(pipe_, node_output{node_reply{node_started{id_, endpoint_, keys_ ? keys_->public_key : std::string()}}});
    while (!core_->finished()) {
        poll_once();
    }
    close_all();
    for (auto& out : backlog_) {
        pipe::send(pipe_, std::move(out));
    }
    backlog_.clear();
    pipe::send(pipe_, node_output{node_reply{node_stopped{}}});
}

// ---------------------------------------------------------------------------------------------------------------
// What the core asks for

bool node::send(peer_id to, core::link_id via, message msg) {
    zmq::socket_t* socket = &router_;
    if (via != 0) {
        auto it = links_.find(via);
        if (it == links_.end()) {
            return false;
        }
        auto& l = it->second;
        if (to != peer_id{}) {
            l.remote = to;
        }
        if (!l.host.empty()) {
            // Still resolving: nothing to send on yet. The core sends only its HELLO before the answer it waits for.
            if (l.held.size() >= max_held_while_resolving) {
                return false;
            }
            l.held.push_back(std::move(msg));
            return true;
        }
        socket = &l.connection.socket();
    }
    auto encoded = encode(std::move(msg));
    // A successful send empties the frames, so the capture keeps references (zmq_msg_copy shares the bytes of
    // anything but a tiny message) and records after the send, marked dropped when the queue refused it.
    zmq::message_t body_copy, payload_copy;
    if (capture_) {
        body_copy.copy(encoded.body);
        if (encoded.payload) {
            payload_copy.copy(*encoded.payload);
        }
    }
    const auto more = encoded.payload ? zmq::send_flags::sndmore : zmq::send_flags::none;
    bool sent = false;
    try {
        if (via != 0) {
            sent = retry_interrupted([&] {
                       return socket->send(encoded.body, more | zmq::send_flags::dontwait);
                   }).has_value();
        } else {
            sent = send_routed(to.hex(), encoded.body, more);
        }
        // A multipart message is queued whole once its first part is: the payload cannot fail here (a signal is
        // waited out above, not taken for a failure, or half a message would stay queued).
        if (sent && encoded.payload) {
            retry_interrupted([&] { return socket->send(*encoded.payload, zmq::send_flags::none); });
        }
    } catch (const zmq::error_t& e) {
        log(log_level::debug, "send to ", to.short_hex(), " failed: ", e.what());
        sent = false;
    }
    if (capture_) {
        capture_->record(capture_direction::sent, id_, to, body_copy, encoded.payload ? &payload_copy : nullptr, !sent);
    }
    return sent;
}

bool node::send_routed(std::string_view routing_id, zmq::message_t& body, zmq::send_flags more) {
    // ROUTER_MANDATORY: a vanished peer gives EHOSTUNREACH (thrown), a full queue EAGAIN (empty result).
    const bool sent =
        retry_interrupted([&] {
            return router_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        }).has_value();
    if (sent) {
        retry_interrupted([&] { return router_.send(body, more); });
    }
    return sent;
}

bool node::send_to_probe(std::string_view probe, message msg) {
    auto encoded = encode(std::move(msg));
    zmq::message_t body_copy; // as in send(): the send empties the frame
    if (capture_) {
        body_copy.copy(encoded.body);
    }
    bool sent = false;
    try {
        sent = send_routed(probe, encoded.body, zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
        log(log_level::debug, "answer to probe ", probe, " failed: ", e.what());
    }
    if (capture_) {
        capture_->record(capture_direction::sent, id_, sender_of(probe), body_copy, nullptr, !sent);
    }
    return sent;
}

std::optional<std::string> node::dial(core::link_id link_number, const std::string& endpoint,
                                      const std::optional<std::string>& server_key) {
    return open_link(link_number, endpoint, server_key, id_.hex());
}

std::optional<std::string> node::dial_probe(core::link_id link_number, const std::string& endpoint,
                                            const std::optional<std::string>& server_key) {
    return open_link(link_number, endpoint, server_key, probe_routing_id(id_, link_number));
}

std::optional<std::string> node::open_link(core::link_id link_number, const std::string& endpoint,
                                           const std::optional<std::string>& server_key,
                                           const std::string& routing_id) {
    zmq::socket_t dealer(context_, zmq::socket_type::dealer);
    configure_dealer(dealer, routing_id);
    if (server_key) {
        make_curve_client(dealer, *keys_, *server_key);
    }
    constexpr int watched = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_DELAYED | ZMQ_EVENT_CONNECT_RETRIED |
                            ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    // "tcp://host:port" with a host name: resolved off this thread first (host_lookup.hpp says why); the socket
    // connects when the answer comes (on_lookup).
    const std::string host = endpoint_host(endpoint), port = endpoint_port(endpoint);
    const bool resolve_first = !host.empty() && !host_lookup::is_numeric(host);
    if (host.starts_with("[")) {
        dealer.set(zmq::sockopt::ipv6, 1); // an IPv6 literal ("[fe80::1%eth0]"): libzmq dials it only with this
    }
    try {
        // Watched before connect, so the monitor sees every event of this connection from the first.
        watched_socket connection(context_, std::move(dealer), watched);
        if (!resolve_first) {
            retry_interrupted([&] { connection.socket().connect(endpoint); });
        }
        links_.emplace(
            link_number,
            link{std::move(connection), peer_id{}, resolve_first ? host : "", port, resolve_first ? "" : host, {}});
    } catch (const zmq::error_t& e) {
        return std::string(e.what());
    }
    if (resolve_first) {
        lookups_.start(link_number, host);
    }
    return std::nullopt;
}

void node::hang_up(core::link_id link_number) {
    // LINGER 0: whatever is queued (a HELLO to a peer that never answered) is dropped, nothing reconnects.
    links_.erase(link_number);
}

void node::start_job(core::job_id id, core::job work) {
    const auto* hash = std::get_if<core::hash_job>(&work);
    (hash != nullptr && hash->background ? background_worker_ : worker_).submit(id, std::move(work));
}

void node::cancel_job(core::job_id id) {
    worker_.cancel(id); // ids are unique across both workers: the one that does not have it ignores it
    background_worker_.cancel(id);
}

void node::emit(event e) {
    output(node_output{std::move(e)});
}

payload node::buffer(std::size_t size) {
    return chunk_pool_.take_payload(size);
}

void node::send_beacon(std::span<const std::uint8_t> datagram) {
    if (beacons_) {
        beacons_->send(datagram);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The loop

void node::poll_once() {
    // Item order: pipe, router, worker, lookups, background worker, [watch], [beacons].
    items_.clear();
    items_.push_back({pipe_.handle(), 0, ZMQ_POLLIN, 0});
    items_.push_back({router_.handle(), 0, ZMQ_POLLIN, 0});
    items_.push_back({nullptr, worker_.notify_fd(), ZMQ_POLLIN, 0});
    items_.push_back({nullptr, lookups_.notify_fd(), ZMQ_POLLIN, 0});
    items_.push_back({nullptr, background_worker_.notify_fd(), ZMQ_POLLIN, 0});
    const bool watching = folder_.watch_fd() >= 0;
    if (watching) {
        items_.push_back({nullptr, folder_.watch_fd(), ZMQ_POLLIN, 0});
    }
    const std::size_t beacon_item = items_.size();
    if (beacons_) {
        for (const int fd : beacons_->fds()) {
            items_.push_back({nullptr, fd, ZMQ_POLLIN, 0});
        }
    }
    const std::size_t interface_item = items_.size();
    const bool watching_interfaces = interfaces_ && interfaces_->fd() >= 0;
    if (watching_interfaces) {
        items_.push_back({nullptr, interfaces_->fd(), ZMQ_POLLIN, 0});
    }
    // Then two per connection the core has open: its socket and its monitor.
    const std::size_t first_link = items_.size();
    std::vector<core::link_id> link_numbers;
    for (auto& [number, l] : links_) {
        items_.push_back({l.connection.socket().handle(), 0, ZMQ_POLLIN, 0});
        items_.push_back({l.connection.monitor().handle(), 0, ZMQ_POLLIN, 0});
        link_numbers.push_back(number);
    }
    if (!backlog_.empty()) {
        items_[0].events |= ZMQ_POLLOUT; // the front end reads again: pass on what waited
    }

    auto now = clock::now();
    auto timeout = std::chrono::milliseconds(1000);
    if (auto due = core_->next_deadline()) {
        // Rounded up: a deadline less than a millisecond away must not become a zero timeout and a spin until it.
        timeout =
            std::clamp(std::chrono::ceil<std::chrono::milliseconds>(*due - now), std::chrono::milliseconds(0), timeout);
    }
    poll_through_signals(items_, timeout);
    ++loop_wakeups_;

    if (items_[0].revents & ZMQ_POLLOUT) {
        flush_output();
    }
    if (items_[0].revents & ZMQ_POLLIN) {
        for (int i = 0; i < batch_per_socket && !core_->finished(); ++i) {
            auto cmd = pipe::receive<node_command>(pipe_, zmq::recv_flags::dontwait);
            if (!cmd) {
                break;
            }
            on_command(*cmd);
        }
        if (core_->finished()) {
            return; // stopped at once: nothing more is taken
        }
    }
    if (items_[1].revents & ZMQ_POLLIN) {
        std::string routing_id;
        for (int i = 0; i < batch_per_socket && receive_from(router_, &routing_id); ++i) {
            on_router_message(routing_id, frames_);
        }
    }
    if (items_[2].revents & ZMQ_POLLIN) {
        for (auto& result : worker_.take_results()) {
            core_->on_job_done(std::move(result), clock::now());
        }
    }
    if (items_[3].revents & ZMQ_POLLIN) {
        for (auto& answer : lookups_.take()) {
            if (answer.greeting) {
                on_greeting(answer);
            } else {
                on_lookup(answer);
            }
        }
    }
    if (items_[4].revents & ZMQ_POLLIN) {
        for (auto& result : background_worker_.take_results()) {
            core_->on_job_done(std::move(result), clock::now());
        }
    }
    if (watching && (items_[5].revents & ZMQ_POLLIN) && folder_.drain_watch()) {
        core_->on_folder_changed(clock::now());
    }
    if (beacons_ && std::any_of(items_.begin() + static_cast<std::ptrdiff_t>(beacon_item),
                                items_.begin() + static_cast<std::ptrdiff_t>(interface_item),
                                [](const auto& item) { return (item.revents & ZMQ_POLLIN) != 0; })) {
        read_beacons();
    }
    if (watching_interfaces && (items_[interface_item].revents & ZMQ_POLLIN) && interfaces_->drain()) {
        beacons_->refresh(); // the IPv6 group joined on a new interface before the beacon goes out there
        core_->set_this_machine(this_machine_hosts());
        core_->on_interfaces_changed(clock::now());
    }
    for (std::size_t i = 0; i < link_numbers.size(); ++i) {
        if (items_[first_link + 2 * i].revents & ZMQ_POLLIN) {
            read_link(link_numbers[i], batch_per_socket);
        }
        if (items_[first_link + 2 * i + 1].revents & ZMQ_POLLIN) {
            on_monitor_events(link_numbers[i]);
        }
    }
    now = clock::now();
    if (auto due = core_->next_deadline(); due && now >= *due) {
        core_->on_deadline(now);
    }
}

void node::read_link(core::link_id link_number, int limit) {
    for (int k = 0; k < limit; ++k) {
        // Look the link up again each time: handling a message may close it (and the stop command earlier in this
        // turn may have closed it since the poll saw it ready).
        auto it = links_.find(link_number);
        if (it == links_.end() || !receive_from(it->second.connection.socket(), nullptr)) {
            return;
        }
        on_link_message(link_number, it->second.remote);
    }
}

void node::on_monitor_events(core::link_id link_number) {
    for (int k = 0; k < batch_per_socket; ++k) {
        auto it = links_.find(link_number);
        if (it == links_.end()) {
            return;
        }
        const auto reported = it->second.connection.next_event();
        if (!reported) {
            return;
        }
        const auto kind = reported->kind;
        const auto value = reported->value;
        auto& l = it->second;
        std::optional<core::link_event> what;
        std::string detail;
        switch (kind) {
        case ZMQ_EVENT_CONNECT_DELAYED:
            l.trying = true;
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            // A try failed before any connection: refused when a TCP connect had started, else it could not start
            // (a name that does not resolve, no route). After a drop, libzmq's retries are no news.
            if (!l.ever_connected && !l.reported) {
                l.reported = true;
                if (l.trying) {
                    what = core::link_event::refused;
                } else {
                    // The address is numeric by now (names are resolved before connect): no route to it.
                    what = core::link_event::unreachable;
                    detail = "the connection could not be started (no route to the host?)";
                }
            }
            l.trying = false;
            break;
        case ZMQ_EVENT_CONNECTED:
            l.ever_connected = true;
            what = core::link_event::connected;
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            l.handshaken = true;
            what = core::link_event::handshake_done;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            what = value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ? core::link_event::mechanism_mismatch
                                                                       : core::link_event::handshake_failed;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            what = core::link_event::auth_refused;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            // The other side closed during the handshake: a wrong key, or (a race in libzmq) a peer of the other
            // mode that closed before its greeting said so. Its greeting tells which (zmtp_greeting.hpp).
            if (!l.handshaken && !l.greeting_asked && !l.address.empty()) {
                l.greeting_asked = true;
                lookups_.start_greeting(link_number, l.address, l.port);
            }
            what = core::link_event::handshake_failed;
            break;
        case ZMQ_EVENT_DISCONNECTED:
            // What the peer sent before it closed is read first: a GOODBYE queued behind other messages says it
            // left on purpose, and the drop is then no news. No more than the queue limit (peer_hwm) can wait.
            read_link(link_number, std::numeric_limits<int>::max());
            what = core::link_event::dropped;
            break;
        default:
            break;
        }
        if (what) {
            core_->on_link_event(link_number, *what, detail, clock::now());
        }
    }
}

void node::on_lookup(const host_lookup::answer& answer) {
    auto it = links_.find(answer.tag);
    if (it == links_.end()) {
        return; // hung up while the name was being resolved
    }
    auto& l = it->second;
    if (answer.address.empty()) {
        l.reported = true;
        core_->on_link_event(answer.tag, core::link_event::unresolved, "'" + l.host + "': " + answer.error,
                             clock::now());
        return;
    }
    try {
        retry_interrupted([&] { l.connection.socket().connect("tcp://" + answer.address + ":" + l.port); });
    } catch (const zmq::error_t& e) {
        l.reported = true;
        core_->on_link_event(answer.tag, core::link_event::unreachable, e.what(), clock::now());
        return;
    }
    l.host.clear();
    l.address = answer.address;
    auto held = std::move(l.held);
    for (auto& msg : held) {
        send(l.remote, answer.tag, std::move(msg));
    }
}

void node::on_greeting(const host_lookup::answer& answer) {
    if (links_.find(answer.tag) == links_.end() || answer.mechanism.empty()) {
        return; // hung up meanwhile, or nothing to learn: the failed handshake stands as reported
    }
    const std::string ours = options_.secure ? "CURVE" : "NULL";
    if (answer.mechanism != ours) {
        core_->on_link_event(answer.tag, core::link_event::mechanism_mismatch, "", clock::now());
    }
}

bool node::receive_from(zmq::socket_ref socket, std::string* routing_id) {
    zmq::message_t first;
    if (!retry_interrupted([&] { return socket.recv(first, zmq::recv_flags::dontwait); })) {
        return false;
    }
    frames_.clear();
    bool more = first.more();
    if (routing_id != nullptr) {
        routing_id->assign(first.data<char>(), first.size());
    } else {
        frames_.push_back(std::move(first));
    }
    // Read every part so the socket stays in step; keep at most three (one too many is enough to refuse it).
    while (more) {
        zmq::message_t part;
        [[maybe_unused]] auto got = retry_interrupted([&] { return socket.recv(part, zmq::recv_flags::none); });
        more = part.more();
        if (frames_.size() < 3) {
            frames_.push_back(std::move(part));
        }
    }
    if (frames_.empty()) {
        frames_.emplace_back(); // a routing id alone: decodes as an empty (truncated) body
    }
    return true;
}

void node::on_router_message(std::string_view routing_id, std::span<zmq::message_t> frames) {
    core::inbox_origin origin{routing_id, std::nullopt, {}};
    std::string connection_address;
    if (!frames.empty()) {
        // Secure mode: the ZAP handler named the key this connection authenticated with.
        if (const char* key = zmq_msg_gets(frames[0].handle(), "User-Id"); key != nullptr && options_.secure) {
            origin.key = std::string(key);
        }
        if (capture_) {
            capture_->record(capture_direction::received, id_, sender_of(routing_id), frames[0],
                             frames.size() > 1 ? &frames[1] : nullptr);
        }
    }
    auto decoded = decode(frames);
    if (decoded && std::holds_alternative<hello>(decoded.value()) && !frames.empty()) {
        // Only a HELLO needs where the connection came from (a peer listening on every interface).
        if (const char* address = zmq_msg_gets(frames[0].handle(), "Peer-Address"); address != nullptr) {
            connection_address = dialable_host(address);
            origin.connection_address = connection_address;
        }
    }
    const auto started = clock::now();
    core_->on_inbox(origin, std::move(decoded), started);
    core_->on_handled(started, clock::now());
}

void node::on_link_message(core::link_id link_number, peer_id remote) {
    if (capture_) {
        capture_->record(capture_direction::received, id_, remote, frames_[0],
                         frames_.size() > 1 ? &frames_[1] : nullptr);
    }
    const auto started = clock::now();
    core_->on_link(link_number, decode(frames_), started);
    core_->on_handled(started, clock::now());
}

void node::on_command(node_command& cmd) {
    const auto now = clock::now();
    std::visit(
        [&](auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, command::list_files>) {
                output(node_output{node_reply{core_->files()}});
            } else if constexpr (std::is_same_v<T, command::list_peers>) {
                output(node_output{node_reply{core_->peers()}});
            } else if constexpr (std::is_same_v<T, command::list_failures>) {
                // The core keeps steady times; users read wall-clock ones.
                const auto wall_now = std::chrono::system_clock::now();
                std::vector<failure_record> out;
                for (const auto& f : core_->failures()) {
                    failure_record record;
                    record.address = f.address;
                    record.count = f.count;
                    record.last_error = f.last_error;
                    record.last_time =
                        wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - f.last);
                    out.push_back(std::move(record));
                }
                for (const auto& r : core_->retrying()) {
                    auto it =
                        std::find_if(out.begin(), out.end(), [&](const auto& f) { return f.address == r.address; });
                    if (it == out.end()) {
                        failure_record record;
                        record.address = r.address;
                        record.last_time = wall_now;
                        it = out.insert(out.end(), std::move(record));
                    }
                    it->retrying = true;
                    it->retry_id = r.id;
                    it->attempts = r.attempts;
                    it->next_retry = r.dialing
                                         ? milliseconds(0)
                                         : std::max(milliseconds(0), std::chrono::ceil<milliseconds>(r.next_at - now));
                }
                output(node_output{node_reply{std::move(out)}});
            } else if constexpr (std::is_same_v<T, command::get_stats>) {
                auto stats = core_->stats();
                stats.chunk_buffers = chunk_pool_.allocations();
                stats.loop_wakeups = loop_wakeups_;
                stats.events_dropped = events_dropped_;
                stats.entries_skipped = options_.client ? 0 : folder_.skipped();
                output(node_output{node_reply{stats}});
            } else {
                core_->on_command(core_command{std::move(c)}, now);
            }
        },
        cmd);
}

void node::close_all() {
    // A short linger lets GOODBYE leave on every connection before it closes.
    for (auto& [number, l] : links_) {
        l.connection.socket().set(zmq::sockopt::linger, goodbye_linger_ms);
    }
    links_.clear();
    router_.set(zmq::sockopt::linger, goodbye_linger_ms);
}

void node::output(node_output out) {
    // Never blocks: a front end that stops reading must not stop the node serving its peers. What the pipe cannot
    // take waits here, in bounded memory; the oldest droppable events go first, counted.
    if (backlog_.empty() && pipe::try_send(pipe_, out)) {
        return;
    }
    backlog_.push_back(std::move(out));
    if (backlog_.size() > max_backlog) {
        auto oldest = std::find_if(backlog_.begin(), backlog_.end(), droppable);
        if (oldest != backlog_.end()) {
            backlog_.erase(oldest);
            ++events_dropped_;
        }
    }
}

void node::flush_output() {
    while (!backlog_.empty() && pipe::try_send(pipe_, backlog_.front())) {
        backlog_.pop_front();
    }
}

} // namespace p2p
