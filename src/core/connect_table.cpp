// SPDX-License-Identifier: MIT
#include "p2p/core/connect_table.hpp"

#include "p2p/core/exchange_table.hpp"
#include "p2p/core/folder_view.hpp"
#include "p2p/core/peer_table.hpp"
#include "p2p/core/redial_table.hpp"
#include "p2p/curve_keys.hpp"
#include "p2p/endpoint.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace p2p::core {

namespace {

/// Whether `p`, which we reach already, is also what a dial to `endpoint` reaches: it listens on every address of this
/// machine, and `endpoint` is one of them (or localhost) at its port. A second connection to a peer we reach already
/// carries the same routing id as the first: its ROUTER drops it unheard, and the dial would end at its deadline
/// with no answer (two peers of one machine found by discovery at [fe80::...%eth0]:5000, then dialled at
/// localhost:5000). Hosts are compared as endpoint_host writes them.
bool listens_at(const remote_peer& p, const std::string& endpoint, const std::vector<std::string>& this_machine) {
    if (!p.every_address) {
        return false;
    }
    const auto on_this_machine = [&](const std::string& host) {
        return is_loopback_host(host) ||
               std::find(this_machine.begin(), this_machine.end(), host) != this_machine.end();
    };
    const auto known = "tcp://" + p.address;
    const auto port = endpoint_port(endpoint);
    return !port.empty() && port == endpoint_port(known) && on_this_machine(endpoint_host(known)) &&
           on_this_machine(endpoint_host(endpoint));
}

} // namespace

connect_table::connect_table(core_state& state) : state_(state) {}

void connect_table::start(const command::connect& cmd, steady_time now) {
    open(cmd.op, cmd.address, now);
}

void connect_table::redial(const std::string& dial_address, steady_time now) {
    open(std::nullopt, dial_address, now);
}

void connect_table::finished(const pending& c, connect_finished outcome, steady_time now) {
    if (c.op) {
        outcome.op = *c.op;
        state_.out.emit(std::move(outcome));
    } else if (outcome.already_connected && outcome.id != peer_id{}) {
        // It came back to us on its own meanwhile: nothing more to dial.
        state_.redials->reached(c.dial, c.address, outcome.id);
    } else if (!outcome.ok) {
        state_.redials->failed(c.dial, now);
    }
}

void connect_table::open(std::optional<operation_id> op, const std::string& dial, steady_time now) {
    pending c;
    c.op = op;
    c.dial = dial;
    c.address = dial;
    connect_finished failed{0, dial, false, false, peer_id{}, 0, ""};
    const auto refuse = [&](std::string error) {
        failed.error = std::move(error);
        finished(c, failed, now);
    };
    if (state_.stopping) {
        return refuse("the peer is shutting down");
    }
    const auto keyed = split_keyed_address(dial);
    if (state_.secure && !keyed.server_key) {
        return refuse("this peer is in secure mode: connect to KEY@host:port with the other peer's public key");
    }
    if (!state_.secure && keyed.server_key) {
        return refuse("a key was given, but this peer is not in secure mode (--secure)");
    }
    std::string endpoint;
    try {
        endpoint = to_endpoint(keyed.address);
    } catch (const std::invalid_argument& e) {
        return refuse(e.what());
    }
    const auto address = display_address(endpoint);
    failed.address = address;
    c.address = address;
    // Known already by the address we reached it at, or by another address of this machine where it listens on all:
    // no connection, no HELLO, nothing changes.
    for (const auto& [id, p] : state_.peers->all()) {
        if (p.address == address || listens_at(p, endpoint, state_.this_machine)) {
            failed.already_connected = true;
            failed.id = id;
            return refuse("already connected to peer " + id.short_hex() +
                          (p.address == address ? "" : " (at " + p.address + ")"));
        }
    }
    c.link = next_link_++;
    c.endpoint = endpoint;
    if (keyed.server_key) {
        c.expected_id = peer_id_for_key(*keyed.server_key);
        c.key = keyed.server_key;
    }
    c.started = now;
    c.deadline = now + state_.options.connect_timeout;
    if (auto problem = state_.out.dial(c.link, endpoint, keyed.server_key)) {
        failed.error = "cannot connect: " + *problem;
        state_.peers->record_failure(address, failed.error, now);
        return refuse(failed.error);
    }
    // Queued until the connection is up; sent at once after.
    if (!state_.out.send(peer_id{}, c.link, state_.hello_message())) {
        state_.out.hang_up(c.link);
        return refuse("cannot queue HELLO");
    }
    if (c.op && has_own_connection()) {
        open_probe(c);
    }
    pending_.push_back(std::move(c));
}

bool connect_table::has_own_connection() const {
    const auto& peers = state_.peers->all();
    return std::any_of(peers.begin(), peers.end(), [](const auto& entry) { return entry.second.link != 0; });
}

void connect_table::open_probe(pending& c) {
    const auto link = next_link_++;
    if (state_.out.dial_probe(link, c.endpoint, c.key)) {
        return; // no probe here: the connect goes on alone, as it would to a peer that does not answer probes
    }
    if (!state_.out.send(peer_id{}, link, state_.hello_message())) {
        state_.out.hang_up(link);
        return;
    }
    c.probe = link;
    c.probed = true;
}

void connect_table::probe_waiting() {
    for (auto& c : pending_) {
        if (c.op && !c.probed) {
            open_probe(c);
        }
    }
}

void connect_table::close_probe(pending& c) {
    if (c.probe != 0) {
        state_.out.hang_up(c.probe);
        c.probe = 0;
    }
}

void connect_table::on_probe_answer(std::vector<pending>::iterator it, decode_result& decoded, steady_time now) {
    close_probe(*it); // it asks one question
    const auto* h = decoded ? std::get_if<hello>(&decoded.value()) : nullptr;
    auto* known = h != nullptr ? state_.peers->find(h->id) : nullptr;
    if (known == nullptr || known->link == 0 || (it->expected_id && h->id != *it->expected_id)) {
        // A peer we do not reach by a connection of our own answers the connect itself, and so does whatever sent
        // something else (no HELLO, or an id that is not its key's); or the connect's deadline tells.
        return;
    }
    // Its ROUTER holds our routing id for the connection we reached it by, and drops the connect's unheard.
    auto c = std::move(*it);
    pending_.erase(it);
    if (c.op) {
        state_.peers->mark_named(*known);
    }
    finish_known(c, *known, "already connected to peer " + h->id.short_hex() + " (at " + known->address + ")", now);
}

void connect_table::finish_known(const pending& c, const remote_peer& known, std::string text, steady_time now) {
    state_.out.hang_up(c.link);
    finished(c, connect_finished{0, c.address, false, true, known.id, known.files.size(), std::move(text)}, now);
}

bool connect_table::owns(link_id link) const {
    return std::any_of(pending_.begin(), pending_.end(),
                       [link](const auto& c) { return c.link == link || c.probe == link; });
}

bool connect_table::dialling(const std::string& address) const {
    return std::any_of(pending_.begin(), pending_.end(), [&](const auto& c) { return c.address == address; });
}

void connect_table::fail(pending& c, std::string error, steady_time now, bool already_connected) {
    if (!already_connected) {
        state_.peers->record_failure(c.address, error, now);
    }
    // Closing drops the queued HELLO: nothing keeps reconnecting in the background.
    state_.out.hang_up(c.link);
    close_probe(c);
    c.link = 0;
    finished(c, connect_finished{0, c.address, false, already_connected, peer_id{}, 0, std::move(error)}, now);
}

void connect_table::on_answer(link_id link, decode_result& decoded, steady_time now) {
    const auto probed =
        std::find_if(pending_.begin(), pending_.end(), [link](const auto& c) { return c.probe == link; });
    if (probed != pending_.end()) {
        return on_probe_answer(probed, decoded, now);
    }
    auto it = std::find_if(pending_.begin(), pending_.end(), [link](const auto& c) { return c.link == link; });
    if (it == pending_.end()) {
        return;
    }
    auto c = std::move(*it);
    pending_.erase(it);
    close_probe(c); // the connect answered for itself
    if (!decoded) {
        const auto& error = decoded.error();
        return fail(c,
                    error.code == decode_errc::bad_version
                        ? "the peer at " + c.address + " cannot be talked to: " + error.detail
                        : "the peer at " + c.address + " sent a malformed answer (" + error.what() + ")",
                    now);
    }
    auto& msg = decoded.value();
    auto* h = std::get_if<hello>(&msg);
    if (std::holds_alternative<goodbye>(msg)) {
        return fail(c, "the peer at " + c.address + " has no room: it is at its peer limit", now);
    }
    if (h == nullptr) {
        return fail(
            c, "the peer at " + c.address + " answered " + std::string(to_string(type_of(msg))) + " instead of HELLO",
            now);
    }
    if (h->id == state_.self) {
        return fail(c, c.address + " is this peer", now, true);
    }
    if (c.expected_id && h->id != *c.expected_id) {
        // CURVE proved the other end holds the key; an id that is not the key's is a lie.
        return fail(c,
                    "the peer at " + c.address + " claims id " + h->id.short_hex() + ", which is not the id of its key",
                    now);
    }
    if (auto* known = state_.peers->find(h->id)) {
        if (c.op) {
            state_.peers->mark_named(*known); // the user asked for it too (a PEERS dial may have got there first)
        }
        // A HELLO of ours crossing theirs (both connected at once) made it known after we started: keep this
        // connection as our way to it, so both sides end with one entry and one send path each.
        const bool crossed = known->link == 0 && known->joined_at >= c.started;
        if (!crossed) {
            return finish_known(c, *known, "already connected to peer " + h->id.short_hex(), now);
        }
        known->link = c.link;
        known->address = c.address;
        known->key = c.key;
        state_.redials->reached(c.dial, c.address, h->id);
        probe_waiting();
        if (known->has_list) {
            // A member we now reached ourselves: verified, so our other peers hear of it (exchange_table).
            state_.exchange->on_joined(*known, now);
        }
        if (known->has_list || !c.op) {
            finished(c, connect_finished{0, c.address, true, false, h->id, known->files.size(), ""}, now);
        } else {
            known->connect_op = c.op;
        }
        return;
    }
    if (state_.peers->all().size() >= state_.options.max_peers) {
        return fail(c, "peer limit reached (" + std::to_string(state_.options.max_peers) + ")", now);
    }
    auto& added = state_.peers->add_outbound(h->id, c.address, c.key, c.link, c.op, h->client, now);
    added.every_address = is_wildcard_endpoint(h->endpoint);
    state_.redials->reached(c.dial, c.address, h->id);
    probe_waiting();
}

void connect_table::fail_all(const std::string& reason, steady_time now) {
    auto all = std::move(pending_);
    pending_.clear();
    for (auto& c : all) {
        fail(c, reason, now);
    }
}

std::optional<steady_time> connect_table::next_deadline() const {
    std::optional<steady_time> next;
    for (const auto& c : pending_) {
        next = next ? std::min(*next, c.deadline) : c.deadline;
    }
    return next;
}

void connect_table::on_deadline(steady_time now) {
    std::vector<pending> late;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (now >= it->deadline) {
            late.push_back(std::move(*it));
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& c : late) {
        fail(c, timeout_reason(c), now);
    }
}

std::string connect_table::timeout_reason(const pending& c) const {
    const auto ms = std::to_string(std::chrono::duration_cast<milliseconds>(state_.options.connect_timeout).count());
    if (!c.refusal.empty()) {
        return c.refusal;
    }
    if (c.closed && !c.zmq_up) {
        return c.address + " closed the connection without a ZeroMQ handshake: it is not a p2p peer";
    }
    if (c.tcp_up && !c.zmq_up) {
        return c.address + " accepted the connection but gave no ZeroMQ handshake within " + ms +
               " ms: it is not a p2p peer (a web server or another program listens there)";
    }
    if (c.zmq_up) {
        // A peer we reached already, by a connection of our own, drops a second one from us unheard (its ROUTER
        // holds our routing id for the first): where we have such a connection and no probe asked, that may be why.
        // A probe would have been answered by such a peer, and the connect would have ended at once.
        if (!c.probed && has_own_connection()) {
            return "the ZeroMQ socket at " + c.address + " did not answer HELLO within " + ms +
                   " ms: a peer this one is connected to already (at another address) drops a second connection, "
                   "else it is not a p2p peer";
        }
        return "the ZeroMQ socket at " + c.address + " did not answer HELLO within " + ms + " ms (is it a p2p peer?)";
    }
    return "no answer from " + c.address + " within " + ms + " ms (is a peer running there?)";
}

void connect_table::on_link_event(link_id link, link_event what, const std::string& detail, steady_time now) {
    auto it = std::find_if(pending_.begin(), pending_.end(), [link](const auto& c) { return c.link == link; });
    if (it == pending_.end()) {
        return;
    }
    std::string reason;
    switch (what) {
    case link_event::connected:
        it->tcp_up = true;
        return;
    case link_event::handshake_done:
        it->zmq_up = true;
        return;
    case link_event::dropped:
        it->closed = true;
        return;
    case link_event::refused:
        reason = "connection refused by " + it->address + ": nothing listens on that port";
        break;
    case link_event::unresolved:
        reason = "cannot resolve the host of " + it->address + (detail.empty() ? "" : ": " + detail);
        break;
    case link_event::unreachable:
        reason = "cannot reach " + it->address + (detail.empty() ? "" : ": " + detail);
        break;
    case link_event::mechanism_mismatch:
        reason = state_.secure ? "the peer at " + it->address +
                                     " is not in secure mode, and this one is: both sides need --secure, or neither"
                               : "the peer at " + it->address +
                                     " is in secure mode (--secure): connect with --secure and KEY@host:port";
        break;
    case link_event::auth_refused:
        reason = "the peer at " + it->address + " refused our key (it is not on its --allow list)";
        break;
    case link_event::handshake_failed:
        reason = state_.secure ? "the encryption handshake with " + it->address +
                                     " failed: the key given is not the key of the peer there"
                               : "the handshake with " + it->address + " failed: it is not a p2p peer";
        break;
    }
    if (what == link_event::auth_refused || what == link_event::handshake_failed) {
        it->refusal = std::move(reason);
        return;
    }
    const bool transient =
        what == link_event::refused || what == link_event::unresolved || what == link_event::unreachable;
    if (!it->op && transient) {
        return; // a redial: libzmq keeps dialling until the deadline, and the peer may be starting right now
    }
    auto c = std::move(*it);
    pending_.erase(it);
    fail(c, std::move(reason), now);
}

} // namespace p2p::core
