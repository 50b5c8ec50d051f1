// SPDX-License-Identifier: MIT
#include "p2p/core/beacon_table.hpp"

#include "p2p/core/peer_table.hpp"
#include "p2p/curve_keys.hpp"
#include "p2p/protocol.hpp"

#include <algorithm>

namespace p2p::core {

beacon_table::beacon_table(core_state& state)
    : state_(state), candidates_(state, candidate_limits{candidate_expiry, max_candidates, max_dials_per_second}) {}

void beacon_table::start(discovery_settings settings, steady_time now) {
    settings_ = std::move(settings);
    active_ = settings_.port != 0;
    next_send_ = now;
    window_ = now;
}

milliseconds beacon_table::current_interval() const {
    // Fewer beacons when many peers are connected: everyone on the LAN hears every beacon.
    const auto extra = milliseconds(1000) * static_cast<std::int64_t>(state_.peers->all().size() / 32);
    return std::min(interval + extra, max_interval);
}

void beacon_table::send_own(bool leaving) {
    beacon b;
    b.id = state_.self;
    b.port = settings_.port;
    b.protocol_version = protocol::version;
    b.leaving = leaving;
    b.key = settings_.key;
    state_.out.send_beacon(encode_beacon(b));
    ++counts_.sent;
}

void beacon_table::changed(steady_time now) {
    if (!active_ || left_) {
        return;
    }
    const auto earliest = last_sent_ ? std::max(now, *last_sent_ + min_gap) : now;
    next_send_ = std::min(next_send_, earliest);
    // Due now: sent now. Left for the next deadline, a change seen at the end of on_deadline (a peer evicted there)
    // would leave the deadline due after it was handled, and the loop would turn once more for nothing.
    if (next_send_ <= now) {
        on_deadline(now);
    }
}

void beacon_table::interfaces_changed(steady_time now) {
    changed(now);
}

void beacon_table::peers_settled(steady_time now) {
    const auto count = state_.peers->all().size();
    if (count < peers_seen_) {
        changed(now);
    }
    peers_seen_ = count;
}

void beacon_table::leave() {
    if (!active_ || left_) {
        return;
    }
    left_ = true;
    send_own(true);
}

std::optional<steady_time> beacon_table::next_deadline() const {
    if (!active_ || left_) {
        return std::nullopt;
    }
    auto next = next_send_;
    for (const auto& [id, due] : waiting_for_ipv4_) {
        next = std::min(next, due);
    }
    return next;
}

void beacon_table::on_deadline(steady_time now) {
    if (!active_ || left_) {
        return;
    }
    for (auto it = waiting_for_ipv4_.begin(); it != waiting_for_ipv4_.end();) {
        if (now < it->second) {
            ++it;
            continue;
        }
        const auto id = it->first;
        it = waiting_for_ipv4_.erase(it);
        if (candidates_.dial(id, now)) { // an IPv6-only network: no IPv4 copy is coming
            ++counts_.dials;
        }
    }
    if (now < next_send_) {
        return;
    }
    // A full peer sends none: each connect its beacon invited would be refused, holding the dialler's slot for a
    // connect timeout (found by the simulation: 200 peers with a cap of 16 took a minute and more to settle).
    if (state_.peers->all().size() < state_.options.max_peers) {
        send_own(false);
        last_sent_ = now;
    }
    next_send_ = now + current_interval();
    candidates_.expire(now);
    std::erase_if(sources_, [&](const auto& s) { return now - s.second.window >= std::chrono::seconds(2); });
}

bool beacon_table::admit(const std::string& address, steady_time now) {
    if (now - window_ >= std::chrono::seconds(1)) {
        window_ = now;
        window_count_ = 0;
    }
    if (window_count_ >= max_per_second) {
        return false;
    }
    auto it = sources_.find(address);
    if (it == sources_.end()) {
        if (sources_.size() >= max_sources) {
            std::erase_if(sources_, [&](const auto& s) { return now - s.second.window >= std::chrono::seconds(2); });
            if (sources_.size() >= max_sources) {
                return false;
            }
        }
        it = sources_.emplace(address, source_window{now, 0}).first;
    }
    auto& s = it->second;
    if (now - s.window >= std::chrono::seconds(1)) {
        s.window = now;
        s.count = 0;
    }
    if (s.count >= max_per_source) {
        return false;
    }
    ++s.count;
    ++window_count_;
    return true;
}

void beacon_table::on_datagram(const std::string& source, std::span<const std::uint8_t> bytes, steady_time now) {
    if (!active_ || left_) {
        return;
    }
    ++counts_.heard;
    // Limits first: a flood costs a map lookup per datagram, not a decode.
    if (!admit(source, now)) {
        ++counts_.rate_limited;
        return;
    }
    auto b = decode_beacon(bytes);
    if (!b) {
        ++counts_.malformed;
        return;
    }
    if (b->id == state_.self) {
        ++counts_.own;
        return;
    }
    if (!acceptable(*b)) {
        ++counts_.refused;
        return;
    }
    // An IPv6 source in brackets, its interface kept: "[fe80::1%eth0]:7000" is what a dial there needs.
    const bool v6 = source.find(':') != std::string::npos;
    consider((v6 ? "[" + source + "]" : source) + ":" + std::to_string(b->port), *b, now);
}

bool beacon_table::acceptable(const beacon& b) {
    if (b.protocol_version != protocol::version) {
        return false; // a connect would fail on HELLO's version anyway
    }
    if (state_.secure != b.key.has_value()) {
        return false; // a secure peer needs the other's key; a plain one cannot talk to a secure one
    }
    if (b.key) {
        // An id that is not the key's would fail the connect; a key we would not let in is not dialled at all.
        if (peer_id_for_key(*b.key) != b.id) {
            return false;
        }
        if (settings_.allowed && settings_.allowed->count(*b.key) == 0) {
            return false;
        }
    }
    return true;
}

void beacon_table::consider(const std::string& address, const beacon& b, steady_time now) {
    if (b.leaving) {
        candidates_.forget(b.id);
        waiting_for_ipv4_.erase(b.id);
        return;
    }
    // One datagram goes out over IPv4 and IPv6: a peer heard on both is one candidate, dialled at one address, IPv4
    // preferred (it is what users read and type), and hearing it at another address of the same port is no restart.
    const auto* known = candidates_.address_of(b.id);
    const bool first_heard = known == nullptr;
    bool restarted = false;
    std::string dial_at = address;
    if (known != nullptr) {
        const bool v6 = address.front() == '[', known_v6 = known->front() == '[';
        const bool same_port = known->substr(known->rfind(':')) == address.substr(address.rfind(':'));
        if (same_port && v6) {
            dial_at = *known; // IPv4 kept, or another interface's IPv6 address of the same peer: nothing changes
        } else if (same_port && known_v6) {
            candidates_.readdress(b.id, address); // IPv4 from now on; the backoff stands
        } else {
            restarted = *known != address; // another port or IPv4 address: restarted elsewhere
        }
    }
    if (candidates_.note(b.id, dial_at, b.key, now, now) == candidate_table::noted::full) {
        ++counts_.table_full;
        return;
    }
    // One side of each pair dials: the smaller id. The other waits for it (and hears its HELLO), and since it
    // dials only once it has heard us, our beacon goes out soon rather than at the end of the interval.
    if (!(state_.self < b.id) && (first_heard || restarted)) {
        changed(now);
    }
    if (!(state_.self < b.id)) {
        return;
    }
    // Every beacon goes out over IPv4 and IPv6 at once, and the copies are read in either order. A new peer heard
    // over IPv6 first is dialled once its IPv4 copy is read (the address users read in "Reachable at" and type), or
    // after ipv4_wait where none comes (a network with IPv6 only).
    const bool heard_over_ipv6 = address.front() == '[';
    if (first_heard && heard_over_ipv6) {
        waiting_for_ipv4_[b.id] = now + ipv4_wait;
        return;
    }
    if (const auto waiting = waiting_for_ipv4_.find(b.id); waiting != waiting_for_ipv4_.end()) {
        if (heard_over_ipv6) {
            return;
        }
        waiting_for_ipv4_.erase(waiting);
    }
    if (candidates_.dial(b.id, now)) {
        ++counts_.dials;
    }
}

} // namespace p2p::core
