// SPDX-License-Identifier: MIT
#include "p2p/core/piece_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace p2p::core {

namespace {
std::uint64_t round_up(std::uint64_t value, std::uint32_t step) {
    return (value + step - 1) / step * step;
}
} // namespace

byte_range steal_range(const lane_position& victim, double thief_rate, std::uint32_t piece_size) {
    const auto from = std::max(victim.next, victim.granted);
    if (from >= victim.end || piece_size == 0) {
        return {};
    }
    double victim_rate = victim.rate > 0 ? victim.rate : thief_rate;
    double rate = thief_rate > 0 ? thief_rate : victim_rate;
    if (victim_rate <= 0) {
        victim_rate = rate = 1; // neither measured: halves
    }
    // Both finish together: (split - next) / victim_rate = (end - split) / rate.
    const double left = static_cast<double>(victim.end - victim.next);
    const auto split = victim.next + static_cast<std::uint64_t>(std::floor(left * victim_rate / (victim_rate + rate)));
    const auto begin = round_up(std::max(split, from), piece_size);
    if (begin >= victim.end) {
        return {};
    }
    // Whole pieces may give the thief more than its share: it takes them only when it still finishes first, or
    // the last bytes of the file would wait for the slower of the two.
    if (victim.rate > 0 && thief_rate > 0 &&
        static_cast<double>(victim.end - begin) / thief_rate >= left / victim_rate) {
        return {};
    }
    return byte_range{begin, victim.end};
}

double stealable_seconds(const lane_position& lane, double fallback_rate) {
    const auto from = std::max(lane.next, lane.granted);
    if (from >= lane.end) {
        return 0;
    }
    const double rate = lane.rate > 0 ? lane.rate : (fallback_rate > 0 ? fallback_rate : 1);
    return static_cast<double>(lane.end - from) / rate;
}

void range_pool::add(byte_range r) {
    if (r.empty()) {
        return;
    }
    auto at = std::lower_bound(ranges_.begin(), ranges_.end(), r,
                               [](const byte_range& a, const byte_range& b) { return a.begin < b.begin; });
    at = ranges_.insert(at, r);
    // Merge with neighbours that touch or overlap (a piece given back twice is one range).
    if (at != ranges_.begin() && std::prev(at)->end >= at->begin) {
        auto before = std::prev(at);
        before->end = std::max(before->end, at->end);
        at = std::prev(ranges_.erase(at));
    }
    while (std::next(at) != ranges_.end() && std::next(at)->begin <= at->end) {
        at->end = std::max(at->end, std::next(at)->end);
        ranges_.erase(std::next(at));
    }
}

std::optional<byte_range> range_pool::take() {
    if (ranges_.empty()) {
        return std::nullopt;
    }
    const auto first = ranges_.front();
    ranges_.erase(ranges_.begin());
    return first;
}

std::uint64_t range_pool::bytes() const {
    std::uint64_t total = 0;
    for (const auto& r : ranges_) {
        total += r.size();
    }
    return total;
}

} // namespace p2p::core
