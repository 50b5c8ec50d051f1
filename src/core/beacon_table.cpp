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
    return next_send_;
}

void beacon_table::on_deadline(steady_time now) {
    if (!active_ || left_ || now < next_send_) {
        return;
    }
    send_own(false);
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
    consider(source + ":" + std::to_string(b->port), *b, now);
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
        return;
    }
    if (candidates_.note(b.id, address, b.key, now, now) == candidate_table::noted::full) {
        ++counts_.table_full;
        return;
    }
    // One side of each pair dials: the smaller id. The other waits for it (and hears its HELLO).
    if (state_.self < b.id && candidates_.dial(b.id, now)) {
        ++counts_.dials;
    }
}

} // namespace p2p::core
