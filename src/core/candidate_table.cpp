// SPDX-License-Identifier: MIT
#include "p2p/core/candidate_table.hpp"

#include "p2p/core/connect_table.hpp"
#include "p2p/core/peer_table.hpp"
#include "p2p/curve_keys.hpp"

#include <algorithm>
#include <vector>

namespace p2p::core {

candidate_table::candidate_table(core_state& state, candidate_limits limits) : state_(state), limits_(limits) {}

candidate_table::noted candidate_table::note(peer_id id, const std::string& address,
                                             const std::optional<std::string>& key, steady_time first_dial,
                                             steady_time now) {
    auto it = candidates_.find(id);
    if (it == candidates_.end()) {
        if (candidates_.size() >= limits_.max_candidates) {
            expire(now);
            if (candidates_.size() >= limits_.max_candidates) {
                return noted::full;
            }
        }
        it = candidates_.emplace(id, candidate{address, key, now, first_dial, 0}).first;
    }
    auto& c = it->second;
    c.last_noted = now;
    if (c.address != address || c.key != key) {
        // Restarted elsewhere (another port): a new try at once.
        c.address = address;
        c.key = key;
        c.attempts = 0;
        c.next_dial = now;
    }
    if (state_.peers->find(id) != nullptr) {
        // Connected: if it is lost later, the next hint of it is dialled at once.
        c.attempts = 0;
        c.next_dial = now;
    }
    return noted::taken;
}

void candidate_table::forget(peer_id id) {
    candidates_.erase(id);
}

const std::string* candidate_table::address_of(peer_id id) const {
    const auto it = candidates_.find(id);
    return it == candidates_.end() ? nullptr : &it->second.address;
}

void candidate_table::readdress(peer_id id, const std::string& address) {
    if (auto it = candidates_.find(id); it != candidates_.end()) {
        it->second.address = address;
    }
}

void candidate_table::expire(steady_time now) {
    std::erase_if(candidates_, [&](const auto& c) { return now - c.second.last_noted >= limits_.expiry; });
}

bool candidate_table::may_dial(peer_id id, candidate& c, steady_time now) {
    if (state_.stopping || state_.peers->find(id) != nullptr || now < c.next_dial) {
        return false;
    }
    if (now - window_ >= std::chrono::seconds(1)) {
        window_ = now;
        window_dials_ = 0;
    }
    if (window_dials_ >= limits_.max_dials_per_second) {
        c.next_dial = window_ + std::chrono::seconds(1);
        return false;
    }
    // A connect to that address under way answers for this one too (when the table says so); a full peer table puts
    // the dial off: room may come later.
    if ((limits_.one_connect_per_address && state_.connects->dialling(c.address)) ||
        state_.peers->all().size() + state_.connects->pending_count() >= state_.options.max_peers) {
        c.next_dial = now + first_retry;
        return false;
    }
    return true;
}

bool candidate_table::dial(peer_id id, steady_time now) {
    auto it = candidates_.find(id);
    if (it == candidates_.end() || !may_dial(id, it->second, now)) {
        return false;
    }
    auto& c = it->second;
    ++window_dials_;
    ++dials_;
    ++c.attempts;
    const auto shift = std::min(c.attempts - 1, 4u);
    c.next_dial = now + std::min(max_retry, first_retry * (1 << shift));
    state_.connects->redial(c.key ? key_text(*c.key) + "@" + c.address : c.address, now);
    return true;
}

void candidate_table::dial_due(steady_time now) {
    expire(now);
    // Collect first: a dial that fails at once comes back through connect_table without touching this table, but
    // the order of a map walk should not depend on that.
    std::vector<peer_id> due;
    for (const auto& [id, c] : candidates_) {
        if (now >= c.next_dial && state_.peers->find(id) == nullptr) {
            due.push_back(id);
        }
    }
    for (auto id : due) {
        dial(id, now);
    }
}

std::optional<steady_time> candidate_table::next_due() const {
    std::optional<steady_time> next;
    if (state_.stopping) {
        return next;
    }
    for (const auto& [id, c] : candidates_) {
        if (state_.peers->find(id) == nullptr) {
            next = next ? std::min(*next, c.next_dial) : c.next_dial;
        }
    }
    return next;
}

} // namespace p2p::core
