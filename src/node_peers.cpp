// SPDX-License-Identifier: MIT
// node_peers.cpp - connecting, HELLO, file lists, liveness and leaving.
#include "p2p/capture.hpp"
#include "p2p/codec.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"
#include "p2p/node.hpp"
#include "p2p/pipe.hpp"
#include "p2p/protocol.hpp"
#include "p2p/socket_setup.hpp"

#include <algorithm>

namespace p2p {

namespace {

/// The address to show for a peer that connected to us: its advertised endpoint, with the host taken from the
/// connection when it bound every interface (it cannot know which of its addresses reached us).
std::string advertised_address(const std::string& endpoint, zmq::message_t& frame) {
    if (!is_wildcard_endpoint(endpoint)) {
        return display_address(endpoint);
    }
    try {
        return std::string(frame.gets("Peer-Address")) + ":" + endpoint_port(endpoint);
    } catch (const zmq::error_t&) {
        return display_address(endpoint);
    }
}

} // namespace

remote_peer* node::find_peer(peer_id id) {
    auto it = peers_.find(id);
    return it == peers_.end() ? nullptr : &it->second;
}

bool node::send(remote_peer& to, message msg) {
    auto encoded = encode(std::move(msg));
    if (capture_) {
        // A successful send empties the frames, so the capture keeps references (zmq_msg_copy shares the bytes of
        // anything but a tiny message) and records after the send, marked dropped when the queue refused it.
        zmq::message_t body, payload;
        body.copy(encoded.body);
        if (encoded.payload) {
            payload.copy(*encoded.payload);
        }
        const bool sent = send_encoded(to, encoded);
        capture_->record(capture_direction::sent, id_, to.id, body, encoded.payload ? &payload : nullptr, !sent);
        return sent;
    }
    return send_encoded(to, encoded);
}

bool node::send_encoded(remote_peer& to, encoded_message& encoded) {
    const auto more = encoded.payload ? zmq::send_flags::sndmore : zmq::send_flags::none;
    try {
        if (to.dealer) {
            if (!to.dealer->send(encoded.body, more | zmq::send_flags::dontwait)) {
                return false;
            }
        } else {
            const auto routing_id = to.id.hex();
            // ROUTER_MANDATORY: a vanished peer gives EHOSTUNREACH (thrown), a full queue EAGAIN (empty result).
            if (!router_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
                return false;
            }
            router_.send(encoded.body, more);
        }
        // A multipart message is queued whole once its first part is: the payload cannot fail here.
        if (encoded.payload) {
            (to.dealer ? *to.dealer : router_).send(*encoded.payload, zmq::send_flags::none);
        }
        return true;
    } catch (const zmq::error_t& e) {
        log(log_level::debug, "send to ", to.id.short_hex(), " failed: ", e.what());
        return false;
    }
}

bool node::send_hello_via_router(std::string_view routing_id) {
    auto encoded = encode(hello{id_, endpoint_, catalog_.version()});
    try {
        if (!router_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            return false;
        }
        router_.send(encoded.body, zmq::send_flags::none);
        return true;
    } catch (const zmq::error_t&) {
        return false;
    }
}

void node::record_failure(const std::string& address, const std::string& error) {
    auto& record = failures_[address];
    record.address = address;
    ++record.count;
    record.last_error = error;
    record.last_time = std::chrono::system_clock::now();
}

void node::protocol_error(remote_peer* from, std::string_view who, const std::string& reason) {
    ++stats_.protocol_errors;
    // A flood of bad frames must not become a flood of log lines: at most a few per second, then a count.
    const auto now = clock::now();
    if (now - error_log_window_ >= std::chrono::seconds(1)) {
        if (errors_not_logged_ > 0) {
            log(log_level::warn, "dropped ", errors_not_logged_, " more bad frames without logging each");
        }
        error_log_window_ = now;
        errors_logged_ = 0;
        errors_not_logged_ = 0;
    }
    if (errors_logged_ < errors_logged_per_second) {
        ++errors_logged_;
        log(log_level::warn, "dropped a frame from ", escape_for_terminal(who), ": ", escape_for_terminal(reason));
    } else {
        ++errors_not_logged_;
    }
    if (from != nullptr && ++from->strikes > options_.max_strikes) {
        remove_peer(from->id, peer_left::reason::dropped,
                    "more than " + std::to_string(options_.max_strikes) + " protocol errors");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Connecting out

void node::start_connect(const command::connect& cmd) {
    connect_finished failed{cmd.op, cmd.address, false, false, peer_id{}, 0, ""};
    if (stopping_) {
        failed.error = "the peer is shutting down";
        output(node_output{event{failed}});
        return;
    }
    std::string endpoint;
    const auto keyed = split_keyed_address(cmd.address);
    if (keys_ && !keyed.server_key) {
        failed.error = "this peer is in secure mode: connect to KEY@host:port with the other peer's public key";
        output(node_output{event{failed}});
        return;
    }
    if (!keys_ && keyed.server_key) {
        failed.error = "a key was given, but this peer is not in secure mode (--secure)";
        output(node_output{event{failed}});
        return;
    }
    try {
        endpoint = to_endpoint(keyed.address);
    } catch (const std::invalid_argument& e) {
        failed.error = e.what();
        output(node_output{event{failed}});
        return;
    }
    const auto address = display_address(endpoint);
    failed.address = address;
    // Known already by the address we reached it at: no socket, no HELLO, nothing changes.
    for (const auto& [id, p] : peers_) {
        if (p.address == address) {
            failed.already_connected = true;
            failed.id = id;
            failed.error = "already connected to peer " + id.short_hex();
            output(node_output{event{failed}});
            return;
        }
    }
    auto pending = std::make_unique<pending_connect>();
    pending->op = cmd.op;
    pending->address = address;
    pending->endpoint = endpoint;
    pending->dealer = zmq::socket_t(context_, zmq::socket_type::dealer);
    configure_dealer(pending->dealer, id_);
    if (keys_) {
        make_curve_client(pending->dealer, *keys_, *keyed.server_key);
        pending->expected_id = peer_id_for_key(*keyed.server_key);
    }
    try {
        pending->dealer.connect(endpoint);
    } catch (const zmq::error_t& e) {
        failed.error = std::string("cannot connect: ") + e.what();
        record_failure(address, failed.error);
        output(node_output{event{failed}});
        return;
    }
    pending->started = clock::now();
    pending->deadline = pending->started + options_.connect_timeout;
    // Queued until the TCP connection is up; sent at once after.
    auto encoded = encode(hello{id_, endpoint_, catalog_.version()});
    if (capture_) {
        capture_->record(capture_direction::sent, id_, peer_id{}, encoded.body, nullptr);
    }
    if (!pending->dealer.send(encoded.body, zmq::send_flags::dontwait)) {
        failed.error = "cannot queue HELLO";
        output(node_output{event{failed}});
        return;
    }
    connects_.push_back(std::move(pending));
}

void node::fail_connect(pending_connect& pending, std::string error, bool already_connected) {
    if (!already_connected) {
        record_failure(pending.address, error);
    }
    connect_finished done{pending.op, pending.address, false, already_connected, peer_id{}, 0, std::move(error)};
    // Closing with LINGER 0 drops the queued HELLO: nothing keeps reconnecting in the background.
    pending.dealer.close();
    output(node_output{event{std::move(done)}});
}

void node::on_connect_reply(pending_connect& pending, message& msg) {
    auto* h = std::get_if<hello>(&msg);
    if (h == nullptr) {
        fail_connect(pending, "the peer at " + pending.address + " answered " + std::string(to_string(type_of(msg))) +
                                  " instead of HELLO");
        return;
    }
    if (h->id == id_) {
        fail_connect(pending, pending.address + " is this peer", true);
        return;
    }
    if (pending.expected_id && h->id != *pending.expected_id) {
        // CURVE proved the other end holds the key; an id that is not the key's is a lie.
        fail_connect(pending, "the peer at " + pending.address + " claims id " + h->id.short_hex() +
                                  ", which is not the id of its key");
        return;
    }
    if (auto* known = find_peer(h->id)) {
        // A HELLO of ours crossing theirs (both connected at once) made it known after we started: keep this
        // DEALER as our way to it, so both sides end with one entry and one send path each.
        const bool crossed = !known->dealer && known->joined_at >= pending.started;
        if (!crossed) {
            connect_finished done{pending.op,
                                  pending.address,
                                  false,
                                  true,
                                  h->id,
                                  known->files.size(),
                                  "already connected to peer " + h->id.short_hex()};
            pending.dealer.close();
            output(node_output{event{std::move(done)}});
            return;
        }
        known->dealer = std::move(pending.dealer);
        known->address = pending.address;
        if (known->has_list) {
            output(node_output{
                event{connect_finished{pending.op, pending.address, true, false, h->id, known->files.size(), ""}}});
        } else {
            known->connect_op = pending.op;
        }
        return;
    }
    if (peers_.size() >= options_.max_peers) {
        fail_connect(pending, "peer limit reached (" + std::to_string(options_.max_peers) + ")");
        return;
    }
    const auto now = clock::now();
    auto& p = peers_[h->id];
    p.id = h->id;
    p.address = pending.address;
    p.dealer = std::move(pending.dealer);
    p.join_order = next_join_order_++;
    p.joined_at = p.last_heard = p.last_ping = now;
    p.connect_op = pending.op;
    send_file_list(p);
}

// ---------------------------------------------------------------------------------------------------------------
// Messages in

void node::on_router_message(std::string_view routing_id, std::span<zmq::message_t> frames) {
    auto sender = peer_id::from_hex(routing_id);
    auto* known = sender ? find_peer(*sender) : nullptr;
    auto* from = known != nullptr && known->inbound ? known : nullptr;
    if (keys_ && !frames.empty() && (!sender || !sent_with_key_of(frames[0], *sender))) {
        // Secure mode: ids derive from keys, and the ZAP handler named the key of this connection as User-Id. A
        // message whose routing id is not that key's id claims someone else's id (in HELLO or any time after).
        protocol_error(nullptr, routing_id, "routing id is not the id of the connection's key");
        return;
    }
    auto decoded = decode(frames);
    if (capture_ && !frames.empty()) {
        capture_->record(capture_direction::received, id_, sender.value_or(peer_id{}), frames[0],
                         frames.size() > 1 ? &frames[1] : nullptr);
    }
    if (!decoded) {
        protocol_error(from, from ? from->id.short_hex() : routing_id, decoded.error().what());
        return;
    }
    auto& msg = decoded.value();
    if (auto* h = std::get_if<hello>(&msg)) {
        if (!sender || *sender != h->id) {
            protocol_error(from, routing_id, "HELLO id does not match the routing id");
            return;
        }
        on_hello(routing_id, *h, frames[0]);
        return;
    }
    if (from == nullptr) {
        // Nothing is accepted before HELLO, nothing from a peer we removed, and nothing under the id of a peer we
        // know only through our own DEALER (no strike against that peer: it is not the one sending).
        protocol_error(
            nullptr, routing_id,
            std::string(to_string(type_of(msg))) +
                (known != nullptr ? " on our ROUTER under the id of a peer we connected to" : " before HELLO"));
        return;
    }
    on_peer_message(*from, msg);
}

bool node::sent_with_key_of(const zmq::message_t& frame, peer_id id) {
    // No User-Id: not a connection our ZAP handler authenticated.
    const char* key = zmq_msg_gets(frame.handle(), "User-Id");
    return key != nullptr && peer_id_for_key(key) == id;
}

void node::on_hello(std::string_view routing_id, const hello& h, zmq::message_t& frame) {
    if (stopping_) {
        return; // not taking new connections: the connector's deadline tells it
    }
    if (h.id == id_ || peers_.contains(h.id)) {
        // Ourselves, or a peer we know: answer so the connector can say so, and change nothing here. The one
        // exception is a crossed connect: we reached it through our DEALER a moment ago while its DEALER reached our
        // ROUTER, and it keeps that DEALER as its way to us.
        auto* known = find_peer(h.id);
        if (known != nullptr && !known->inbound && known->dealer &&
            clock::now() - known->joined_at <= options_.connect_timeout) {
            known->inbound = true;
            known->last_heard = clock::now();
        }
        send_hello_via_router(routing_id);
        return;
    }
    if (peers_.size() >= options_.max_peers) {
        ++stats_.protocol_errors;
        log(log_level::warn, "refused HELLO from ", h.id.short_hex(), ": peer limit (", options_.max_peers,
            ") reached");
        return;
    }
    const auto now = clock::now();
    auto& p = peers_[h.id];
    p.id = h.id;
    p.address = advertised_address(h.endpoint, frame);
    p.inbound = true;
    p.join_order = next_join_order_++;
    p.joined_at = p.last_heard = p.last_ping = now;
    if (!send_hello_via_router(routing_id)) {
        peers_.erase(h.id);
        return;
    }
    send_file_list(p);
}

void node::on_peer_message(remote_peer& from, message& msg) {
    from.last_heard = clock::now();
    std::visit(
        [&](auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, hello>) {
                protocol_error(&from, from.id.short_hex(), "second HELLO");
            } else if constexpr (std::is_same_v<T, file_list>) {
                on_file_list(from, m);
            } else if constexpr (std::is_same_v<T, request>) {
                on_request(from, m);
            } else if constexpr (std::is_same_v<T, offer>) {
                on_offer(from, m);
            } else if constexpr (std::is_same_v<T, chunk>) {
                on_chunk(from, m);
            } else if constexpr (std::is_same_v<T, ack>) {
                on_ack(from, m);
            } else if constexpr (std::is_same_v<T, not_found>) {
                on_transfer_refused(from, m.transfer, "Peer error: " + m.reason, download_errc::not_found);
            } else if constexpr (std::is_same_v<T, abort_transfer>) {
                // From a holder, about our download: the transfer number is ours (never its upload's).
                on_transfer_refused(from, m.transfer, "peer " + from.id.short_hex() + " aborted: " + m.reason,
                                    download_errc::aborted);
            } else if constexpr (std::is_same_v<T, cancel_transfer>) {
                // From a downloader, about its transfer with us: it wants nothing more, so nothing goes back.
                erase_upload(upload_key{from.id, m.transfer});
            } else if constexpr (std::is_same_v<T, ping>) {
                send(from, pong{});
            } else if constexpr (std::is_same_v<T, pong>) {
                // last_heard is all a PONG is for
            } else if constexpr (std::is_same_v<T, goodbye>) {
                remove_peer(from.id, peer_left::reason::goodbye, "");
            } else if constexpr (std::is_same_v<T, preparing>) {
                on_preparing(from, m);
            }
        },
        msg);
}

void node::on_file_list(remote_peer& from, file_list& page) {
    auto& in = from.incoming;
    if (page.page == 0) {
        in = remote_peer::incoming_list{page.list_version, page.page_count, 0, {}};
    }
    if (page.list_version != in.version || page.page != in.next_page || page.page_count != in.page_count) {
        // A page went missing (its sender will send the whole list again) or a newer list started over it.
        in = {};
        return;
    }
    in.files.insert(in.files.end(), std::make_move_iterator(page.files.begin()),
                    std::make_move_iterator(page.files.end()));
    if (++in.next_page < in.page_count) {
        return;
    }
    const bool first = !from.has_list;
    from.files = std::move(in.files);
    from.list_version = in.version;
    from.has_list = true;
    in = {};
    if (!first) {
        output(node_output{event{peer_files_changed{from.id, from.files}}});
    } else if (from.connect_op) {
        output(node_output{
            event{connect_finished{*from.connect_op, from.address, true, false, from.id, from.files.size(), ""}}});
        from.connect_op.reset();
    } else {
        output(node_output{event{peer_joined{from.id, from.address, from.files.size()}}});
    }
}

void node::send_file_list(remote_peer& to) {
    const auto& files = catalog_.files();
    const auto pages =
        std::max<std::size_t>(1, (files.size() + protocol::files_per_page - 1) / protocol::files_per_page);
    const auto listed = std::min(pages, protocol::max_pages);
    if (pages > listed) {
        log(log_level::warn, "sharing only the first ", protocol::max_files, " of ", files.size(), " files");
    }
    to.list_unsent = false;
    for (std::size_t page = 0; page < listed; ++page) {
        file_list msg;
        msg.list_version = catalog_.version();
        msg.page = static_cast<std::uint32_t>(page);
        msg.page_count = static_cast<std::uint32_t>(listed);
        const auto begin = page * protocol::files_per_page;
        const auto end = std::min(files.size(), begin + protocol::files_per_page);
        msg.files.assign(files.begin() + static_cast<std::ptrdiff_t>(begin),
                         files.begin() + static_cast<std::ptrdiff_t>(end));
        if (!send(to, std::move(msg))) {
            to.list_unsent = true; // the receiver drops the incomplete version; it all goes again next turn
            return;
        }
    }
}

void node::remove_peer(peer_id id, peer_left::reason why, std::string detail) {
    auto it = peers_.find(id);
    if (it == peers_.end()) {
        return;
    }
    const auto address = it->second.address;
    if (why == peer_left::reason::evicted) {
        record_failure(address, "not reachable: " + detail);
    } else if (why == peer_left::reason::dropped) {
        record_failure(address, "dropped: " + detail);
    }
    if (it->second.connect_op) {
        // It said HELLO but left before its list was complete.
        output(node_output{event{connect_finished{*it->second.connect_op, address, false, false, id, 0,
                                                  "peer " + id.short_hex() + " left during the handshake"}}});
    }
    const bool had_joined = it->second.has_list;
    peers_.erase(it); // closes our DEALER to it, if any
    std::vector<upload_key> gone;
    for (const auto& [key, u] : uploads_) {
        if (key.first == id) {
            gone.push_back(key);
        }
    }
    for (const auto& key : gone) {
        erase_upload(key);
    }
    std::vector<std::uint32_t> affected;
    for (auto& [transfer, d] : downloads_) {
        // A download that is finishing has every byte: its source leaving changes nothing.
        if (d.source == id && d.current_phase() != download::phase::finishing) {
            affected.push_back(transfer);
        }
    }
    for (auto transfer : affected) {
        if (auto* d = find_download(transfer)) {
            fail_over(*d,
                      why == peer_left::reason::goodbye ? "peer " + id.short_hex() + " left"
                                                        : "peer " + id.short_hex() + " is not reachable",
                      download_errc::source_left, source_state::ended);
        }
    }
    if (had_joined) {
        output(node_output{event{peer_left{id, address, why, std::move(detail)}}});
    }
}

} // namespace p2p
