// SPDX-License-Identifier: MIT
#include "p2p/core/peer_table.hpp"

#include "p2p/core/connect_table.hpp"
#include "p2p/core/download_table.hpp"
#include "p2p/core/exchange_table.hpp"
#include "p2p/core/folder_view.hpp"
#include "p2p/core/redial_table.hpp"
#include "p2p/core/upload_table.hpp"
#include "p2p/curve_keys.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"
#include "p2p/probe_routing_id.hpp"
#include "p2p/protocol.hpp"

#include <algorithm>

namespace p2p::core {

namespace {

/// The address to show for a peer that connected to us: its advertised endpoint, with the host taken from the
/// connection when it bound every interface (it cannot know which of its addresses reached us).
std::string advertised_address(const std::string& endpoint, std::string_view connection_address) {
    if (!is_wildcard_endpoint(endpoint) || connection_address.empty()) {
        return display_address(endpoint);
    }
    return std::string(connection_address) + ":" + endpoint_port(endpoint);
}

/// The new list names the same files with the same sizes, and differs only by roots the old one did not have yet.
bool only_hashes_added(const std::vector<file_entry>& before, const std::vector<file_entry>& after) {
    return std::equal(before.begin(), before.end(), after.begin(), after.end(),
                      [](const file_entry& old, const file_entry& now) {
                          return old.name == now.name && old.size == now.size && (!old.root || old.root == now.root);
                      });
}

} // namespace

peer_table::peer_table(core_state& state) : state_(state) {}

remote_peer* peer_table::find(peer_id id) {
    auto it = peers_.find(id);
    return it == peers_.end() ? nullptr : &it->second;
}

remote_peer* peer_table::find_by_link(link_id link) {
    for (auto& [id, p] : peers_) {
        if (p.link == link) {
            return &p;
        }
    }
    return nullptr;
}

bool peer_table::send(remote_peer& to, message msg) {
    return state_.out.send(to.id, to.link, std::move(msg));
}

void peer_table::record_failure(const std::string& address, const std::string& error, steady_time now) {
    if (failures_.size() >= max_failures && !failures_.contains(address)) {
        failures_.erase(std::min_element(failures_.begin(), failures_.end(),
                                         [](const auto& a, const auto& b) { return a.second.last < b.second.last; }));
    }
    auto& record = failures_[address];
    record.address = address;
    ++record.count;
    record.last_error = error;
    record.last = now;
}

void peer_table::refuse(remote_peer* from, std::string_view who, const std::string& reason, steady_time now) {
    state_.log_refused(who, reason, now);
    if (from != nullptr && ++from->strikes > state_.options.max_strikes) {
        remove(from->id, peer_left::reason::dropped,
               "more than " + std::to_string(state_.options.max_strikes) + " protocol errors", now);
    }
}

// -------------------------------------------------------------------------------------------------------------
// Messages in

void peer_table::on_inbox(const inbox_origin& from, decode_result& decoded, steady_time now) {
    if (auto prober = prober_of(from.routing_id)) {
        return on_probe(from, *prober, decoded, now);
    }
    auto sender = peer_id::from_hex(from.routing_id);
    auto* known = sender ? find(*sender) : nullptr;
    auto* peer = known != nullptr && known->inbound ? known : nullptr;
    if (state_.secure && (!sender || !from.key || peer_id_for_key(*from.key) != *sender)) {
        // Secure mode: ids derive from keys, and the ZAP handler named the key of this connection. A message whose
        // routing id is not that key's id claims someone else's id (in HELLO or any time after).
        refuse(nullptr, from.routing_id, "routing id is not the id of the connection's key", now);
        return;
    }
    if (!decoded) {
        refuse(peer, peer ? peer->id.short_hex() : from.routing_id, decoded.error().what(), now);
        return;
    }
    auto& msg = decoded.value();
    if (auto* h = std::get_if<hello>(&msg)) {
        if (!sender || *sender != h->id) {
            refuse(peer, from.routing_id, "HELLO id does not match the routing id", now);
            return;
        }
        on_hello(from, *h, now);
        return;
    }
    if (peer == nullptr) {
        // Nothing is accepted before HELLO, nothing from a peer we removed, and nothing under the id of a peer we
        // know only through our own connection (no strike against that peer: it is not the one sending).
        refuse(nullptr, from.routing_id,
               std::string(to_string(type_of(msg))) +
                   (known != nullptr ? " on our ROUTER under the id of a peer we connected to" : " before HELLO"),
               now);
        return;
    }
    dispatch(*peer, msg, now);
}

void peer_table::on_probe(const inbox_origin& from, peer_id prober, decode_result& decoded, steady_time now) {
    if (state_.secure && (!from.key || peer_id_for_key(*from.key) != prober)) {
        refuse(nullptr, from.routing_id, "routing id is not the id of the connection's key", now);
        return;
    }
    if (!decoded) {
        refuse(nullptr, from.routing_id, decoded.error().what(), now);
        return;
    }
    const auto* h = std::get_if<hello>(&decoded.value());
    if (h == nullptr || h->id != prober) {
        refuse(nullptr, from.routing_id,
               h == nullptr ? std::string(to_string(type_of(decoded.value()))) + " on a probe"
                            : "HELLO id does not match the routing id",
               now);
        return;
    }
    if (state_.stopping) {
        return;
    }
    // A probe asks only who listens here: our HELLO answers it, and nothing of it is kept (no peer, no list, no
    // event), so a peer that reached us already can ask again under another address of ours.
    state_.out.send_to_probe(from.routing_id, state_.hello_message());
}

void peer_table::on_link(remote_peer& from, decode_result& decoded, steady_time now) {
    if (!decoded) {
        refuse(&from, from.id.short_hex(), decoded.error().what(), now);
        return;
    }
    dispatch(from, decoded.value(), now);
}

void peer_table::on_hello(const inbox_origin& from, const hello& h, steady_time now) {
    if (state_.stopping) {
        return; // not taking new connections: the connector's deadline tells it
    }
    if (auto* known = find(h.id)) {
        // A crossed connect: we reached it through our connection a moment ago while its connection reached our
        // inbox, and it keeps that connection as its way to us. Answer, change nothing else.
        if (!known->inbound && known->link != 0 && now - known->joined_at <= state_.options.connect_timeout) {
            known->inbound = true;
            known->last_heard = now;
            state_.out.send(h.id, 0, state_.hello_message());
            return;
        }
        // Otherwise a peer we know connects again: it restarted (or lost us) and the entry we hold is stale. In
        // secure mode the inbox check above proved it holds the same key; without it, anyone who knows the id can
        // do this (docs/security.md).
        replace(h.id, now);
    }
    if (h.id == state_.self) {
        state_.out.send(h.id, 0, state_.hello_message());
        return;
    }
    if (peers_.size() >= state_.options.max_peers) {
        ++state_.stats.protocol_errors;
        log(log_level::warn, "refused HELLO from ", h.id.short_hex(), ": peer limit (", state_.options.max_peers,
            ") reached");
        // Said at once (GOODBYE instead of HELLO), so the dialler's connect ends now rather than holding one of its
        // own slots for a connect timeout: with peer exchange and beacons a full peer is dialled often.
        state_.out.send(h.id, 0, goodbye{});
        return;
    }
    if (!state_.out.send(h.id, 0, state_.hello_message())) {
        return;
    }
    auto& p = peers_[h.id];
    p.id = h.id;
    p.address = advertised_address(h.endpoint, from.connection_address);
    p.every_address = is_wildcard_endpoint(h.endpoint);
    p.inbound = true;
    p.client = h.client;
    p.join_order = next_join_order_++;
    p.joined_at = p.last_heard = p.last_ping = now;
    send_file_list(p, now);
}

remote_peer& peer_table::add_outbound(peer_id id, std::string address, std::optional<std::string> key, link_id link,
                                      std::optional<operation_id> op, bool client, steady_time now) {
    auto& p = peers_[id];
    p.id = id;
    p.client = client;
    p.address = std::move(address);
    p.key = std::move(key);
    p.link = link;
    p.join_order = next_join_order_++;
    p.joined_at = p.last_heard = p.last_ping = now;
    p.connect_op = op;
    if (op) {
        named_.insert(id);
    }
    p.introduced = !named_.contains(id);
    send_file_list(p, now);
    return p;
}

void peer_table::mark_named(remote_peer& p) {
    named_.insert(p.id);
    p.introduced = false;
}

void peer_table::dispatch(remote_peer& from, message& msg, steady_time now) {
    from.last_heard = now;
    auto& uploads = *state_.uploads;
    auto& downloads = *state_.downloads;
    std::visit(
        [&](auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, hello>) {
                refuse(&from, from.id.short_hex(), "second HELLO", now);
            } else if constexpr (std::is_same_v<T, file_list>) {
                on_file_list(from, m, now);
            } else if constexpr (std::is_same_v<T, request>) {
                uploads.on_request(from, m, now);
            } else if constexpr (std::is_same_v<T, ack>) {
                uploads.on_ack(from, m, now);
            } else if constexpr (std::is_same_v<T, cancel_transfer>) {
                // From a downloader, about its transfer with us: it wants nothing more, so nothing goes back.
                uploads.on_cancel(from, m, now);
            } else if constexpr (std::is_same_v<T, offer>) {
                downloads.on_offer(from, m, now);
            } else if constexpr (std::is_same_v<T, chunk>) {
                downloads.on_chunk(from, m, now);
            } else if constexpr (std::is_same_v<T, not_found>) {
                downloads.on_refused(from, m.transfer, "Peer error: " + m.reason, download_errc::not_found, now);
            } else if constexpr (std::is_same_v<T, abort_transfer>) {
                // From a holder, about our download: the transfer number is ours (never its upload's).
                downloads.on_refused(from, m.transfer, "peer " + from.id.short_hex() + " aborted: " + m.reason,
                                     download_errc::aborted, now);
            } else if constexpr (std::is_same_v<T, preparing>) {
                downloads.on_preparing(from, m, now);
            } else if constexpr (std::is_same_v<T, get_manifest>) {
                uploads.on_get_manifest(from, m);
            } else if constexpr (std::is_same_v<T, manifest_page>) {
                downloads.on_manifest(from, m, now);
            } else if constexpr (std::is_same_v<T, ping>) {
                send(from, pong{});
            } else if constexpr (std::is_same_v<T, pong>) {
                // last_heard is all a PONG is for
            } else if constexpr (std::is_same_v<T, goodbye>) {
                remove(from.id, peer_left::reason::goodbye, "", now);
            } else if constexpr (std::is_same_v<T, peer_list>) {
                state_.exchange->on_peers(from, m, now);
            }
        },
        msg);
}

void peer_table::on_file_list(remote_peer& from, file_list& page, steady_time now) {
    auto& in = from.incoming;
    if (page.page == 0) {
        in = remote_peer::incoming_list{page.list_version, page.page_count, 0, {}};
    }
    if (page.list_version != in.version || page.page != in.next_page || page.page_count != in.page_count) {
        // A page went missing (its sender will send the whole list again) or a newer list started over it.
        in = {};
        return;
    }
    if (!from.client) {
        // A one-shot client shares nothing; whatever its list says is not taken.
        in.files.insert(in.files.end(), std::make_move_iterator(page.files.begin()),
                        std::make_move_iterator(page.files.end()));
    }
    if (++in.next_page < in.page_count) {
        return;
    }
    // Holders send their lists sorted by name; one that does not is sorted here, keeping a name given twice in its
    // order, so find_file may search by halves.
    const auto by_name = [](const file_entry& a, const file_entry& b) {
        return a.name < b.name;
    };
    if (!std::is_sorted(in.files.begin(), in.files.end(), by_name)) {
        std::stable_sort(in.files.begin(), in.files.end(), by_name);
    }
    const bool first = !from.has_list;
    const bool hashes_only = !first && only_hashes_added(from.files, in.files);
    from.files = std::move(in.files);
    from.list_version = in.version;
    from.has_list = true;
    in = {};
    if (from.connect_op) {
        state_.out.emit(connect_finished{*from.connect_op, from.address, true, false, from.id, from.files.size(), ""});
        from.connect_op.reset();
    } else if (from.client) {
        // Users see the peers they share with; a `get` or `ls` passing by is none of them.
        if (first) {
            log(log_level::debug, "one-shot client ", from.id.short_hex(), " at ", escape_for_terminal(from.address),
                " connected");
        }
    } else if (!first) {
        state_.out.emit(peer_files_changed{from.id, from.files, hashes_only});
    } else {
        state_.out.emit(peer_joined{from.id, from.address, from.files.size()});
    }
    if (first) {
        // A member now: it hears whom we reached, and when we reached it, the others hear of it.
        state_.exchange->on_joined(from, now);
    }
    // A holder of a file being downloaded takes its share of it now.
    state_.downloads->on_file_list(from, now);
}

// -------------------------------------------------------------------------------------------------------------
// Messages out

namespace {
/// A list that did not fit the peer's queue goes again after this.
constexpr milliseconds list_retry{50};
} // namespace

void peer_table::send_file_list(remote_peer& to, steady_time now) {
    static const std::vector<file_entry> nothing;
    const auto& files = state_.options.client ? nothing : state_.folder->files();
    const auto pages =
        std::max<std::size_t>(1, (files.size() + protocol::files_per_page - 1) / protocol::files_per_page);
    const auto listed = std::min(pages, protocol::max_pages);
    if (pages > listed) {
        log(log_level::warn, "sharing only the first ", protocol::max_files, " of ", files.size(), " files");
    }
    to.list_unsent = false;
    for (std::size_t page = 0; page < listed; ++page) {
        file_list msg;
        msg.list_version = state_.folder->version();
        msg.page = static_cast<std::uint32_t>(page);
        msg.page_count = static_cast<std::uint32_t>(listed);
        const auto begin = page * protocol::files_per_page;
        const auto end = std::min(files.size(), begin + protocol::files_per_page);
        msg.files.assign(files.begin() + static_cast<std::ptrdiff_t>(begin),
                         files.begin() + static_cast<std::ptrdiff_t>(end));
        if (!send(to, std::move(msg))) {
            // The receiver drops the incomplete version; it all goes again a little later.
            to.list_unsent = true;
            to.list_retry_at = now + list_retry;
            return;
        }
    }
}

void peer_table::send_file_lists(steady_time now) {
    for (auto& [id, p] : peers_) {
        send_file_list(p, now);
    }
}

void peer_table::remove(peer_id id, peer_left::reason why, std::string detail, steady_time now) {
    auto it = peers_.find(id);
    if (it == peers_.end()) {
        return;
    }
    const auto address = it->second.address;
    if (why == peer_left::reason::evicted) {
        record_failure(address, "not reachable: " + detail, now);
    } else if (why == peer_left::reason::dropped) {
        record_failure(address, "dropped: " + detail, now);
    }
    if (it->second.connect_op) {
        // It said HELLO but left before its list was complete.
        state_.out.emit(connect_finished{*it->second.connect_op, address, false, false, id, 0,
                                         "peer " + id.short_hex() + " left during the handshake"});
    }
    const bool had_joined = it->second.has_list && !it->second.client;
    if (it->second.client) {
        log(log_level::debug, "one-shot client ", id.short_hex(), " left");
    }
    if (it->second.link != 0) {
        state_.out.hang_up(it->second.link);
    }
    peers_.erase(it);
    state_.exchange->on_peer_gone(id);
    if (why == peer_left::reason::evicted) {
        state_.redials->lost(id, now);
    } else {
        // It said GOODBYE, or we dropped it for its protocol errors: neither is dialled again.
        state_.redials->left(id);
    }
    state_.uploads->on_peer_gone(id, now);
    state_.downloads->on_peer_gone(id, why == peer_left::reason::goodbye, now);
    if (had_joined) {
        state_.out.emit(peer_left{id, address, why, std::move(detail)});
    }
}

void peer_table::replace(peer_id id, steady_time now) {
    auto it = peers_.find(id);
    if (it == peers_.end()) {
        return;
    }
    if (it->second.connect_op) {
        state_.out.emit(connect_finished{*it->second.connect_op, it->second.address, false, false, id, 0,
                                         "peer " + id.short_hex() + " connected again during the handshake"});
    }
    if (it->second.link != 0) {
        state_.out.hang_up(it->second.link);
    }
    peers_.erase(it);
    state_.exchange->on_peer_gone(id);
    // Its transfers were with the old connection: they end (downloads fail over or fail) as when it leaves.
    state_.uploads->on_peer_gone(id, now);
    state_.downloads->on_peer_gone(id, false, now);
}

void peer_table::on_link_dropped(link_id link, steady_time now) {
    if (auto* p = find_by_link(link)) {
        remove(p->id, peer_left::reason::evicted, "connection lost", now);
    }
}

// -------------------------------------------------------------------------------------------------------------
// Queries, liveness, leaving

std::vector<peer_info> peer_table::joined() const {
    std::vector<const remote_peer*> list;
    for (const auto& [id, p] : peers_) {
        if (p.has_list && !p.client) {
            list.push_back(&p);
        }
    }
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->join_order < b->join_order; });
    std::vector<peer_info> out;
    for (const auto* p : list) {
        out.push_back(peer_info{p->id, p->address, p->files, p->link != 0});
    }
    return out;
}

std::vector<peer_id> peer_table::joined_ids() const {
    std::vector<peer_id> out;
    for (const auto& [id, p] : peers_) {
        if (p.has_list && !p.client) {
            out.push_back(id);
        }
    }
    return out;
}

std::vector<failure_entry> peer_table::failures() const {
    std::vector<failure_entry> out;
    for (const auto& [address, record] : failures_) {
        out.push_back(record);
    }
    return out;
}

std::optional<steady_time> peer_table::next_deadline() const {
    std::optional<steady_time> next;
    const auto consider = [&](steady_time t) {
        next = next ? std::min(*next, t) : t;
    };
    for (const auto& [id, p] : peers_) {
        // The next PING is due after ping_interval of silence and ping_interval after the last PING (so a peer that
        // does not answer gets one PING per interval, not a loop that spins until it is evicted).
        consider(std::max(p.last_heard, p.last_ping) + state_.options.ping_interval);
        consider(p.last_heard + state_.options.peer_timeout);
        if (p.list_unsent) {
            consider(p.list_retry_at);
        }
    }
    return next;
}

void peer_table::on_deadline(steady_time now) {
    // Liveness: any traffic refreshed last_heard. Collect first, remove after: removing changes peers_. PINGs due
    // within the next quarter interval go now too: one wake-up serves many peers (a 64-peer mesh would otherwise
    // wake once per peer per second for its PINGs alone).
    const auto ping_due = state_.options.ping_interval - state_.options.ping_interval / 4;
    std::vector<peer_id> silent;
    for (auto& [id, p] : peers_) {
        const auto quiet = now - p.last_heard;
        if (quiet >= state_.options.peer_timeout) {
            silent.push_back(id);
        } else if (quiet >= ping_due && now - p.last_ping >= ping_due) {
            p.last_ping = now;
            send(p, ping{});
        }
        if (p.list_unsent && now >= p.list_retry_at) {
            send_file_list(p, now);
        }
    }
    for (auto id : silent) {
        const auto seconds = std::chrono::duration<double>(state_.options.peer_timeout).count();
        remove(id, peer_left::reason::evicted, "silent for " + std::to_string(seconds).substr(0, 4) + " s", now);
    }
}

void peer_table::say_goodbye() {
    // GOODBYE lets every peer forget us at once instead of after its timeout.
    for (auto& [id, p] : peers_) {
        send(p, goodbye{});
    }
    peers_.clear();
}

} // namespace p2p::core
