// SPDX-License-Identifier: MIT
#include "p2p/core/redial_table.hpp"

#include "p2p/core/connect_table.hpp"

#include <algorithm>

namespace p2p::core {

redial_table::redial_table(core_state& state) : state_(state) {}

void redial_table::reached(const std::string& dial_address, const std::string& address, peer_id id) {
    auto& e = entries_[dial_address];
    e.address = address;
    e.id = id;
    e.connected = true;
    e.dialing = false;
    e.attempts = 0;
    e.delay = first_delay;
}

void redial_table::lost(peer_id id, steady_time now) {
    if (state_.stopping) {
        return;
    }
    for (auto& [dial, e] : entries_) {
        if (e.id == id && e.connected) {
            e.connected = false;
            e.attempts = 0;
            e.delay = first_delay;
            e.next_at = now + jittered(e.delay);
        }
    }
}

void redial_table::left(peer_id id) {
    std::erase_if(entries_, [id](const auto& item) { return item.second.id == id; });
}

void redial_table::failed(const std::string& dial_address, steady_time now) {
    auto it = entries_.find(dial_address);
    if (it == entries_.end() || it->second.connected) {
        return;
    }
    auto& e = it->second;
    e.dialing = false;
    e.delay = std::min(e.delay * 2, max_delay);
    e.next_at = now + jittered(e.delay);
}

std::vector<redial_entry> redial_table::retrying() const {
    std::vector<redial_entry> out;
    for (const auto& [dial, e] : entries_) {
        if (!e.connected) {
            out.push_back(redial_entry{e.address, e.id, e.attempts, e.dialing, e.next_at});
        }
    }
    return out;
}

std::optional<steady_time> redial_table::next_deadline() const {
    std::optional<steady_time> next;
    if (state_.stopping) {
        return next; // leaving: nothing is dialled any more
    }
    for (const auto& [dial, e] : entries_) {
        if (!e.connected && !e.dialing) {
            next = next ? std::min(*next, e.next_at) : e.next_at;
        }
    }
    return next;
}

void redial_table::on_deadline(steady_time now) {
    if (state_.stopping) {
        return;
    }
    // Collect first: a try that fails at once (an address the transport refuses) calls failed() on this table.
    std::vector<std::string> due;
    for (auto& [dial, e] : entries_) {
        if (!e.connected && !e.dialing && now >= e.next_at) {
            e.dialing = true;
            ++e.attempts;
            due.push_back(dial);
        }
    }
    for (const auto& dial : due) {
        state_.connects->redial(dial, now);
    }
}

milliseconds redial_table::jittered(milliseconds delay) {
    // splitmix64: small, and the same numbers for the same seed on every platform.
    random_ += 0x9e3779b97f4a7c15ull;
    auto z = random_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    // A factor from 0.8 to 1.2 in steps of 1/1000.
    const auto permille = 800 + static_cast<std::int64_t>(z % 401);
    return std::min(milliseconds(delay.count() * permille / 1000), max_delay);
}

} // namespace p2p::core
