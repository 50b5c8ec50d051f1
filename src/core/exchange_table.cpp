// SPDX-License-Identifier: MIT
#include "p2p/core/exchange_table.hpp"

#include "p2p/core/peer_table.hpp"
#include "p2p/curve_keys.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/protocol.hpp"

#include <algorithm>
#include <stdexcept>

namespace p2p::core {

namespace {

/// A peer we may list: a member (its list is complete, it is no one-shot client) that we connected to ourselves.
bool verified(const remote_peer& p) {
    return p.link != 0 && p.has_list && !p.client;
}

bool is_loopback(const std::string& endpoint) {
    return is_loopback_host(endpoint_host(endpoint));
}

} // namespace

exchange_table::exchange_table(core_state& state)
    : state_(state),
      candidates_(state, candidate_limits{candidate_expiry, max_candidates, max_dials_per_second, true}) {}

std::vector<peer_ref> exchange_table::verified_for(peer_id to) const {
    // A loopback address we reached is this machine's: it means something to a peer on this machine only.
    bool to_local = true;
    if (const auto* recipient = state_.peers->find(to)) {
        try {
            to_local = recipient->address.starts_with("inproc://") || is_loopback(to_endpoint(recipient->address));
        } catch (const std::invalid_argument&) {
            to_local = false;
        }
    }
    std::vector<const remote_peer*> list;
    for (const auto& [id, p] : state_.peers->all()) {
        if (id != to && verified(p)) {
            list.push_back(&p);
        }
    }
    // Newest first: a peer that joined long ago has most likely been told to everyone already.
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->join_order > b->join_order; });
    std::vector<peer_ref> out;
    for (const auto* p : list) {
        if (out.size() >= protocol::max_peer_refs) {
            break;
        }
        std::string endpoint;
        try {
            endpoint = to_endpoint(p->address);
        } catch (const std::invalid_argument&) {
            continue;
        }
        if (is_dialable_endpoint(endpoint) && p->key.has_value() == state_.secure &&
            (to_local || !is_loopback(endpoint))) {
            out.push_back(peer_ref{p->id, std::move(endpoint), p->key});
        }
    }
    return out;
}

void exchange_table::on_joined(const remote_peer& p, steady_time now) {
    if (state_.options.client) {
        return; // a one-shot client lists nobody
    }
    // Every newcomer hears of the peers we reached; a one-shot client too (once: later lists go to members only), so
    // that a `get` takes a file from every holder it is led to. A client is never verified, so nobody hears of it.
    schedules_[p.id].due = true;
    if (verified(p)) {
        for (const auto& [id, other] : state_.peers->all()) {
            if (id != p.id && other.has_list && !other.client) {
                schedules_[id].due = true;
            }
        }
    }
    send_due(now);
}

void exchange_table::on_peer_gone(peer_id id) {
    schedules_.erase(id);
}

void exchange_table::send_due(steady_time now) {
    for (auto& [id, s] : schedules_) {
        if (!s.due || (s.last_sent && now - *s.last_sent < min_interval)) {
            continue;
        }
        auto* p = state_.peers->find(id);
        if (p == nullptr) {
            s.due = false;
            continue;
        }
        auto list = verified_for(id);
        if (list.empty()) {
            s.due = false; // nobody to tell it about
            continue;
        }
        s.last_sent = now;
        if (!state_.peers->send(*p, peer_list{std::move(list)})) {
            continue; // its queue is full: the whole list again in a second
        }
        s.due = false;
        ++counts_.sent;
    }
}

void exchange_table::on_peers(remote_peer& from, const peer_list& m, steady_time now) {
    if (from.client || (state_.options.client && !state_.options.follow_peers)) {
        return; // a one-shot client reached nobody we could be told of; `ls` follows nobody
    }
    // Checked whole before anything changes: an entry of the other mode, or a key whose id is not the entry's, cannot
    // be something the sender verified, so the message is a lie (or a bug) and nothing of it is taken.
    for (const auto& e : m.list) {
        if (e.key.has_value() != state_.secure) {
            ++counts_.refused;
            state_.peers->refuse(&from, from.id.short_hex(),
                                 state_.secure ? "PEERS entry without a key (this peer is in secure mode)"
                                               : "PEERS entry with a key (this peer is not in secure mode)",
                                 now);
            return;
        }
        if (e.key && peer_id_for_key(*e.key) != e.id) {
            ++counts_.refused;
            state_.peers->refuse(&from, from.id.short_hex(), "PEERS entry whose id is not its key's", now);
            return;
        }
    }
    ++counts_.received;
    // The sender connected to us (it is inbound), so it reached our address and lists us to the peers it tells about
    // these: both ends learn of each other, and only the smaller id dials at once; the larger one waits a little in
    // case the other's dial does not get through. When we connected to it and it did not connect to us, it lists us to
    // nobody: whoever it names can only learn of us from us, so we dial at once whatever the ids.
    const bool both_learn = from.inbound;
    for (const auto& e : m.list) {
        const auto address = display_address(e.endpoint);
        if (e.id == state_.self || e.endpoint == state_.endpoint || state_.peers->find(e.id) != nullptr) {
            continue;
        }
        if (e.key && allowed_ && allowed_->count(*e.key) == 0) {
            ++counts_.not_allowed;
            continue;
        }
        const auto first_dial = both_learn && !(state_.self < e.id) ? now + wait_for_other : now;
        if (candidates_.note(e.id, address, e.key, first_dial, now) == candidate_table::noted::full) {
            ++counts_.table_full;
            continue;
        }
        candidates_.dial(e.id, now);
    }
}

std::optional<steady_time> exchange_table::next_deadline() const {
    auto next = candidates_.next_due();
    for (const auto& [id, s] : schedules_) {
        if (s.due) {
            const auto at = s.last_sent ? *s.last_sent + min_interval : steady_time{};
            next = next ? std::min(*next, at) : at;
        }
    }
    return next;
}

void exchange_table::on_deadline(steady_time now) {
    send_due(now);
    candidates_.dial_due(now);
}

} // namespace p2p::core
