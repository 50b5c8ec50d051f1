// SPDX-License-Identifier: MIT
// node.cpp - the poll loop, timers, and commands from the front end. Peers are in node_peers.cpp, transfers in
// node_uploads.cpp and node_downloads.cpp.
#include "p2p/node.hpp"

#include "p2p/capture.hpp"
#include "p2p/codec.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"
#include "p2p/pipe.hpp"
#include "p2p/socket_setup.hpp"

#include <algorithm>
#include <thread>

namespace p2p {

namespace {
/// Messages taken from one socket per turn, so one busy peer cannot starve the others or the pipe.
constexpr int batch_per_socket = 64;
/// Folder rescan when inotify is unavailable.
constexpr std::chrono::milliseconds periodic_scan{1000};
} // namespace

void node_main(zmq::context_t& context, peer_options options, std::string pipe_endpoint) {
    zmq::socket_t pipe(context, zmq::socket_type::pair);
    pipe.set(zmq::sockopt::linger, 0);
    pipe.connect(pipe_endpoint);
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
      router_(context, zmq::socket_type::router), catalog_(options_.folder) {
    configure_router(router_);
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
        zap_->set_policy(zap_domain_, std::move(allowed));
        make_curve_server(router_, *keys_, zap_domain_);
    }
    // An inproc name is free again only once libzmq's reaper has closed the socket that had it, a moment after
    // close(): a peer restarted in the same process under the same name waits for that (a second at most).
    const auto give_up = clock::now() + std::chrono::seconds(1);
    for (;;) {
        try {
            router_.bind(options_.bind);
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
    next_periodic_scan_ = clock::now() + periodic_scan;
}

node::~node() {
    if (zap_) {
        zap_->remove_policy(zap_domain_);
    }
}

void node::run() {
    // The front end waits for this one, and for everything after the loop: those may block.
    pipe::send(pipe_, node_output{node_reply{node_started{id_, endpoint_, keys_ ? keys_->public_key : std::string()}}});
    while (!finished_) {
        poll_once();
    }
    for (auto& out : backlog_) {
        pipe::send(pipe_, std::move(out));
    }
    backlog_.clear();
    pipe::send(pipe_, node_output{node_reply{node_stopped{}}});
}

steady_time node::next_wakeup(steady_time now) const {
    // Without anything due, wake at the ping granularity; every deadline below can only bring it closer.
    steady_time next = now + std::min(options_.ping_interval, std::chrono::milliseconds(1000));
    const auto consider = [&](steady_time t) {
        next = std::min(next, t);
    };
    for (const auto& [id, p] : peers_) {
        // The next PING is due after ping_interval of silence and ping_interval after the last PING (so a peer that
        // does not answer gets one PING per interval, not a loop that spins until it is evicted).
        consider(std::max(p.last_heard, p.last_ping) + options_.ping_interval);
        consider(p.last_heard + options_.peer_timeout);
    }
    for (const auto& c : connects_) {
        consider(c->deadline);
    }
    for (const auto& [key, u] : uploads_) {
        if (auto due = upload_deadline(u)) {
            consider(*due);
        }
    }
    for (const auto& [transfer, d] : downloads_) {
        if (auto due = download_deadline(d)) {
            consider(*due);
        }
    }
    if (auto due = hash_jobs_deadline()) {
        consider(*due);
    }
    if (rescan_at_) {
        consider(*rescan_at_);
    }
    if (catalog_.watch_fd() < 0) {
        consider(next_periodic_scan_);
    }
    if (uploads_blocked_) {
        consider(now + std::chrono::milliseconds(1));
    }
    return std::max(next, now);
}

void node::poll_once() {
    // Item order: pipe, router, worker, [watch], then one per peer DEALER, then one per pending connect.
    items_.clear();
    items_.push_back({pipe_.handle(), 0, ZMQ_POLLIN, 0});
    items_.push_back({router_.handle(), 0, ZMQ_POLLIN, 0});
    items_.push_back({nullptr, worker_.notify_fd(), ZMQ_POLLIN, 0});
    const bool watching = catalog_.watch_fd() >= 0;
    if (watching) {
        items_.push_back({nullptr, catalog_.watch_fd(), ZMQ_POLLIN, 0});
    }
    const std::size_t first_peer = items_.size();
    std::vector<peer_id> dealer_peers;
    for (auto& [id, p] : peers_) {
        if (p.dealer) {
            items_.push_back({p.dealer->handle(), 0, ZMQ_POLLIN, 0});
            dealer_peers.push_back(id);
        }
    }
    const std::size_t first_connect = items_.size();
    std::vector<pending_connect*> pending;
    for (auto& c : connects_) {
        items_.push_back({c->dealer.handle(), 0, ZMQ_POLLIN, 0});
        pending.push_back(c.get());
    }

    if (!backlog_.empty()) {
        items_[0].events |= ZMQ_POLLOUT; // the front end reads again: pass on what waited
    }
    auto now = clock::now();
    // Rounded up: a deadline less than a millisecond away must not become a zero timeout and a spin until it.
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_wakeup(now) - now);
    zmq::poll(items_, wait);
    ++stats_.loop_wakeups;

    if (items_[0].revents & ZMQ_POLLOUT) {
        flush_output();
    }
    if (items_[0].revents & ZMQ_POLLIN) {
        for (int i = 0; i < batch_per_socket && !finished_; ++i) {
            auto cmd = pipe::receive<node_command>(pipe_, zmq::recv_flags::dontwait);
            if (!cmd) {
                break;
            }
            on_command(*cmd);
        }
        if (finished_) {
            return; // stopped at once: every socket but the router is closed, and nothing more is taken
        }
    }
    if (items_[1].revents & ZMQ_POLLIN) {
        std::string routing_id;
        for (int i = 0; i < batch_per_socket && receive_from(router_, &routing_id); ++i) {
            on_router_message(routing_id, frames_);
        }
    }
    if (items_[2].revents & ZMQ_POLLIN) {
        on_worker_results();
    }
    if (watching && (items_[3].revents & ZMQ_POLLIN) && catalog_.drain_watch() && !rescan_at_) {
        rescan_at_ = clock::now() + options_.rescan_delay;
    }
    for (std::size_t i = 0; i < dealer_peers.size(); ++i) {
        if (!(items_[first_peer + i].revents & ZMQ_POLLIN)) {
            continue;
        }
        for (int k = 0; k < batch_per_socket; ++k) {
            // Look the peer up again each time: handling a message may remove it.
            auto* p = find_peer(dealer_peers[i]);
            if (p == nullptr || !p->dealer || !receive_from(*p->dealer, nullptr)) {
                break;
            }
            auto decoded = decode(frames_);
            if (capture_) {
                capture_->record(capture_direction::received, id_, p->id, frames_[0],
                                 frames_.size() > 1 ? &frames_[1] : nullptr);
            }
            if (!decoded) {
                protocol_error(p, p->id.short_hex(), decoded.error().what());
                continue;
            }
            on_peer_message(*p, decoded.value());
        }
    }
    for (std::size_t i = 0; i < pending.size(); ++i) {
        if (!(items_[first_connect + i].revents & ZMQ_POLLIN)) {
            continue;
        }
        auto* c = pending[i];
        // A command earlier in this turn (stop) may have closed this connect's socket since the poll saw it ready.
        if (!c->dealer || !receive_from(c->dealer, nullptr)) {
            continue;
        }
        auto decoded = decode(frames_);
        if (capture_) {
            capture_->record(capture_direction::received, id_, peer_id{}, frames_[0],
                             frames_.size() > 1 ? &frames_[1] : nullptr);
        }
        if (!decoded) {
            fail_connect(*c, "the peer at " + c->address + " sent a malformed answer (" + decoded.error().what() + ")");
            continue;
        }
        on_connect_reply(*c, decoded.value());
    }
    // Connects that ended (answered or failed) have released their socket.
    std::erase_if(connects_, [](const auto& c) { return !c->dealer; });
    on_timers(clock::now());
}

bool node::receive_from(zmq::socket_ref socket, std::string* routing_id) {
    zmq::message_t first;
    if (!socket.recv(first, zmq::recv_flags::dontwait)) {
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
        [[maybe_unused]] auto got = socket.recv(part, zmq::recv_flags::none);
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

void node::on_timers(steady_time now) {
    // Liveness: any traffic refreshed last_heard. Collect first, remove after: removing changes peers_.
    // PINGs due within the next quarter interval go now too: one wake-up serves many peers (a 64-peer mesh would
    // otherwise wake once per peer per second for its PINGs alone).
    const auto ping_due = options_.ping_interval - options_.ping_interval / 4;
    std::vector<peer_id> silent;
    for (auto& [id, p] : peers_) {
        const auto quiet = now - p.last_heard;
        if (quiet >= options_.peer_timeout) {
            silent.push_back(id);
        } else if (quiet >= ping_due && now - p.last_ping >= ping_due) {
            p.last_ping = now;
            send(p, ping{});
        }
        if (p.list_unsent) {
            send_file_list(p);
        }
    }
    for (auto id : silent) {
        const auto seconds = std::chrono::duration<double>(options_.peer_timeout).count();
        remove_peer(id, peer_left::reason::evicted, "silent for " + std::to_string(seconds).substr(0, 4) + " s");
    }

    for (auto& c : connects_) {
        if (c->dealer && now >= c->deadline) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.connect_timeout).count();
            fail_connect(*c, "no answer from " + c->address + " within " + std::to_string(ms) +
                                 " ms (is a peer running there?)");
        }
    }
    std::erase_if(connects_, [](const auto& c) { return !c->dealer; });

    // Uploads: retransmit what is unacknowledged past its timeout; give up on silent receivers.
    // Collect first, act after: ending an upload (also from inside pump) removes it from uploads_.
    std::vector<upload_key> stale, resend;
    for (auto& [key, u] : uploads_) {
        const auto due = upload_deadline(u);
        if (!due || now < *due) {
            continue;
        }
        if (!u.retransmit_at() || !u.on_retransmit_timeout(now, options_.transfer_timeout)) {
            // Silent too long, or everything sent was acknowledged but the receiver never came back for more.
            stale.push_back(key);
            continue;
        }
        ++stats_.chunks_resent;
        log(log_level::debug, "resending ", escape_for_terminal(u.name()), " to ", u.to().short_hex(),
            " after a timeout");
        resend.push_back(key);
    }
    for (const auto& key : stale) {
        end_upload(key, std::string("no acknowledgement for too long"));
    }
    if (uploads_blocked_) {
        uploads_blocked_ = false;
        for (const auto& [key, u] : uploads_) {
            resend.push_back(key);
        }
    }
    for (const auto& key : resend) {
        if (auto it = uploads_.find(key); it != uploads_.end()) {
            pump(it->second);
        }
    }

    // Downloads: resend unanswered REQUESTs; fail over when a source stalls.
    std::vector<std::uint32_t> stalled;
    for (auto& [transfer, d] : downloads_) {
        const auto due = download_deadline(d);
        if (!due || now < *due) {
            continue;
        }
        if (now - d.last_progress >= options_.transfer_timeout) {
            stalled.push_back(transfer);
        } else if (d.current_phase() == download::phase::requesting &&
                   now - d.last_request >= request_repeat_interval()) {
            if (auto* source = find_peer(d.source)) {
                d.last_request = now;
                send(*source, d.make_request());
            }
        }
    }
    for (auto transfer : stalled) {
        if (auto* d = find_download(transfer)) {
            const auto seconds = std::chrono::duration<double>(options_.transfer_timeout).count();
            fail_over(*d,
                      "peer " + d->source.short_hex() + " stopped answering (nothing for " +
                          std::to_string(seconds).substr(0, 4) + " s)",
                      download_errc::stalled, source_state::serving);
        }
    }

    cancel_orphaned_hashes(now);

    // The shared folder.
    if (catalog_.watch_fd() < 0 && now >= next_periodic_scan_) {
        next_periodic_scan_ = now + periodic_scan;
        rescan_at_ = now;
    }
    if (rescan_at_ && now >= *rescan_at_) {
        rescan_at_.reset();
        if (catalog_.rescan()) {
            for (auto& [id, p] : peers_) {
                send_file_list(p);
            }
        }
    }

    if (stopping_ && !finished_ && uploads_.empty() && downloads_.empty()) {
        finish_stop();
    }
}

std::optional<steady_time> node::upload_deadline(const upload& u) const {
    if (auto at = u.retransmit_at()) {
        return at; // chunks in flight: resend them then, unless the receiver has been silent too long
    }
    if (u.has_offer()) {
        return u.last_progress() + options_.transfer_timeout; // all acknowledged: wait that long for more ACKs
    }
    return std::nullopt; // the file is being hashed: the worker's result wakes the loop
}

std::optional<steady_time> node::download_deadline(const download& d) const {
    // Preparing and finishing wait for the file worker, not for a peer: no timer of ours runs then. The wake-up and
    // the handler both ask this one function, so they cannot disagree (they once did, and the loop spun).
    switch (d.current_phase()) {
    case download::phase::preparing:
    case download::phase::finishing:
        return std::nullopt;
    case download::phase::requesting:
        return std::min(d.last_progress + options_.transfer_timeout, d.last_request + request_repeat_interval());
    case download::phase::receiving:
        return d.last_progress + options_.transfer_timeout;
    }
    return std::nullopt;
}

namespace {
/// Events the front end can do without when it falls behind: the newest state is asked for anyway (peers(),
/// progress again 200 ms later). Replies and the outcomes of operations are never dropped.
bool droppable(const node_output& out) {
    const auto* e = std::get_if<event>(&out);
    return e != nullptr && !std::holds_alternative<connect_finished>(*e) &&
           !std::holds_alternative<download_finished>(*e);
}
} // namespace

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
            ++stats_.events_dropped;
        }
    }
}

void node::flush_output() {
    while (!backlog_.empty() && pipe::try_send(pipe_, backlog_.front())) {
        backlog_.pop_front();
    }
}

void node::on_command(node_command& cmd) {
    std::visit(
        [this](auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, command::connect>) {
                start_connect(c);
            } else if constexpr (std::is_same_v<T, command::download>) {
                start_download(c);
            } else if constexpr (std::is_same_v<T, command::cancel>) {
                cancel_download(c);
            } else if constexpr (std::is_same_v<T, command::list_files>) {
                output(node_output{node_reply{catalog_.files()}});
            } else if constexpr (std::is_same_v<T, command::list_peers>) {
                std::vector<const remote_peer*> joined;
                for (const auto& [id, p] : peers_) {
                    if (p.has_list) {
                        joined.push_back(&p);
                    }
                }
                std::sort(joined.begin(), joined.end(), [](auto* a, auto* b) { return a->join_order < b->join_order; });
                std::vector<peer_info> out;
                for (const auto* p : joined) {
                    out.push_back(peer_info{p->id, p->address, p->files, p->dealer.has_value()});
                }
                output(node_output{node_reply{std::move(out)}});
            } else if constexpr (std::is_same_v<T, command::list_failures>) {
                std::vector<failure_record> out;
                for (const auto& [address, record] : failures_) {
                    out.push_back(record);
                }
                output(node_output{node_reply{std::move(out)}});
            } else if constexpr (std::is_same_v<T, command::get_stats>) {
                stats_.chunk_buffers = chunk_pool_.allocations();
                output(node_output{node_reply{stats_}});
            } else if constexpr (std::is_same_v<T, command::stop>) {
                begin_stop(c.now);
            }
        },
        cmd);
}

void node::begin_stop(bool now) {
    if (now) {
        finish_stop();
        return;
    }
    if (stopping_) {
        return;
    }
    // From now on: no new peers, connects, requests or downloads. What is in flight goes on for as long as it moves
    // (the original peer's "finish any ongoing file transfers"); one that stalls ends after the transfer timeout.
    stopping_ = true;
    for (auto& c : connects_) {
        fail_connect(*c, "the peer is shutting down");
    }
    stop_pending waiting;
    for (const auto& [key, u] : uploads_) {
        waiting.transfers.push_back(pending_transfer{true, key.first, u.name(), u.acknowledged(), u.stat().size});
    }
    for (const auto& [transfer, d] : downloads_) {
        waiting.transfers.push_back(pending_transfer{false, d.source, d.name(), d.next_offset(), d.size()});
    }
    if (!waiting.transfers.empty()) {
        output(node_output{event{std::move(waiting)}});
    }
}

void node::finish_stop() {
    if (finished_) {
        return;
    }
    stopping_ = true; // from here on nothing new is taken, also when the stop was immediate
    for (auto& c : connects_) {
        if (c->dealer) {
            fail_connect(*c, "the peer is shutting down");
        }
    }
    std::vector<std::uint32_t> open_downloads;
    for (auto& [transfer, d] : downloads_) {
        open_downloads.push_back(transfer);
    }
    for (auto transfer : open_downloads) {
        if (auto* d = find_download(transfer)) {
            // The partial file stays (hidden) so that the next start can resume it.
            fail_download(*d, download_errc::cancelled, "cancelled: the peer is shutting down");
        }
    }
    std::vector<upload_key> open_uploads;
    for (auto& [key, u] : uploads_) {
        open_uploads.push_back(key);
    }
    for (const auto& key : open_uploads) {
        end_upload(key, std::string("the peer is shutting down"));
    }
    // GOODBYE lets every peer forget us at once instead of after its timeout; a short linger lets it leave.
    for (auto& [id, p] : peers_) {
        send(p, goodbye{});
        if (p.dealer) {
            p.dealer->set(zmq::sockopt::linger, goodbye_linger_ms);
        }
    }
    router_.set(zmq::sockopt::linger, goodbye_linger_ms);
    peers_.clear();
    finished_ = true;
}

} // namespace p2p
