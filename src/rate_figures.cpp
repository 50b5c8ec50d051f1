// SPDX-License-Identifier: MIT
#include "p2p/rate_figures.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace p2p {

namespace {

/// A stage busy this share of the receiving time or more bounded the rate.
constexpr double busy_share = 0.5;
/// Round trips this much above the shortest (and by more than queue_floor) mean bytes waited in a queue.
constexpr double queue_ratio = 1.5;
constexpr double queue_floor = 0.0005;

std::string mib(std::uint64_t bytes) {
    std::array<char, 32> out{};
    std::snprintf(out.data(), out.size(), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    return out.data();
}

std::string ms(double seconds) {
    std::array<char, 32> out{};
    std::snprintf(out.data(), out.size(), "%.1f ms", seconds * 1000);
    return out.data();
}

std::string busy_text(const char* who, const char* doing, double busy, double seconds) {
    // The last chunk is written and hashed after it arrived, where the receiving time ends: never more than all of it.
    busy = std::min(busy, seconds);
    std::array<char, 160> out{};
    std::snprintf(out.data(), out.size(), "%s: busy %.0f%% of the time %s (%.2f of %.2f s)", who, 100 * busy / seconds,
                  doing, busy, seconds);
    return out.data();
}

} // namespace

limit_finding name_limit(const rate_figures& f) {
    if (f.seconds < min_seconds_to_tell || f.bytes == 0) {
        return {rate_limit::unknown, "too short to tell", false};
    }
    const double holder = f.holder_busy / f.seconds;
    const double receiver = f.receiver_busy / f.seconds;
    if (holder >= busy_share && holder >= receiver) {
        return {rate_limit::holder, busy_text("the holder", "reading and sending", f.holder_busy, f.seconds), true};
    }
    if (receiver >= busy_share) {
        return {rate_limit::receiver, busy_text("this peer", "writing and hashing", f.receiver_busy, f.seconds), true};
    }
    if (f.avg_rtt > queue_ratio * f.min_rtt && f.avg_rtt - f.min_rtt > queue_floor) {
        return {rate_limit::link,
                "the link: round trips grew from " + ms(f.min_rtt) + " to " + ms(f.avg_rtt) + " with " +
                    mib(f.peak_in_flight) + " in flight (a queue on the way)",
                true};
    }
    if (!f.auto_window || f.window_capped) {
        return {rate_limit::round_trip,
                "the round trip: " + ms(f.min_rtt) + " with a window of " + mib(f.window) +
                    (f.auto_window ? " (the largest)" : "") + "; rate = window / round trip, a larger one goes faster",
                true};
    }
    // The auto window follows the rate it measures: with neither end busy and no cap reached, what carried the
    // bytes set the rate, even where its queue stayed short (the window keeps it so).
    std::array<char, 200> out{};
    std::snprintf(out.data(), out.size(),
                  "the link: %.1f MB/s with a window of %s over a round trip of %s; the holder busy %.0f%%, this peer "
                  "%.0f%%",
                  static_cast<double>(f.bytes) / f.seconds / 1e6, mib(f.window).c_str(), ms(f.min_rtt).c_str(),
                  100 * holder, 100 * receiver);
    return {rate_limit::link, out.data(), true};
}

const char* rate_limit_name(rate_limit by) {
    switch (by) {
    case rate_limit::round_trip:
        return "round_trip";
    case rate_limit::holder:
        return "holder";
    case rate_limit::receiver:
        return "receiver";
    case rate_limit::link:
        return "link";
    case rate_limit::unknown:
        break;
    }
    return "unknown";
}

} // namespace p2p
