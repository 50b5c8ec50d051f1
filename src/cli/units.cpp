// SPDX-License-Identifier: MIT
#include "units.hpp"

#include "p2p/protocol.hpp"
#include "p2p/token_bucket.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace p2p::cli {

namespace {

/// Splits "64KiB" into 64 and "KiB"; nullopt when there are no leading digits.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) {
        return std::nullopt;
    }
    return std::pair{value, text.substr(static_cast<std::size_t>(end - text.data()))};
}

std::optional<std::uint64_t> scaled(std::uint64_t value, std::uint64_t unit) {
    if (value > std::numeric_limits<std::uint64_t>::max() / unit) {
        return std::nullopt;
    }
    return value * unit;
}

} // namespace

std::optional<window_setting> parse_window(std::string_view text) {
    if (text == "auto") {
        return window_setting::sized();
    }
    const auto split = split_number(text);
    if (!split || split->first == 0) {
        return std::nullopt;
    }
    if (split->second.empty()) {
        // A bare number counts chunks, as --window always did.
        if (split->first > protocol::max_credit) {
            return std::nullopt;
        }
        return window_setting::of_chunks(split->first);
    }
    const auto bytes = parse_size(text);
    if (!bytes || *bytes > protocol::max_window_bytes) {
        return std::nullopt;
    }
    return window_setting::of_bytes(*bytes);
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    auto split = split_number(text);
    if (!split) {
        return std::nullopt;
    }
    auto [value, suffix] = *split;
    struct unit {
        std::string_view name;
        std::uint64_t bytes;
    };
    // Binary multiples only: chunk sizes are powers of two, and "1M" meaning 1048576 is what dd and head do.
    static constexpr std::array<unit, 13> units{{{"", 1},
                                                 {"B", 1},
                                                 {"K", 1u << 10},
                                                 {"KB", 1u << 10},
                                                 {"KiB", 1u << 10},
                                                 {"k", 1u << 10},
                                                 {"kB", 1u << 10},
                                                 {"M", 1u << 20},
                                                 {"MB", 1u << 20},
                                                 {"MiB", 1u << 20},
                                                 {"G", 1u << 30},
                                                 {"GB", 1u << 30},
                                                 {"GiB", 1u << 30}}};
    for (const auto& u : units) {
        if (suffix == u.name) {
            return scaled(value, u.bytes);
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> parse_rate(std::string_view text) {
    if (text.ends_with("/s")) {
        text.remove_suffix(2);
    }
    auto rate = parse_size(text);
    if (!rate || *rate > token_bucket::max_rate) {
        return std::nullopt;
    }
    return rate;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    auto split = split_number(text);
    if (!split) {
        return std::nullopt;
    }
    auto [value, suffix] = *split;
    std::optional<std::uint64_t> ms;
    if (suffix.empty() || suffix == "ms") {
        ms = value;
    } else if (suffix == "s") {
        ms = scaled(value, 1000);
    } else if (suffix == "m" || suffix == "min") {
        ms = scaled(value, 60'000);
    }
    // Bounded well below what steady_clock arithmetic could overflow on: a day is longer than any sane interval.
    constexpr std::uint64_t one_day_ms = 24ull * 3600 * 1000;
    if (!ms || *ms > one_day_ms) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
}

std::string format_bytes(double bytes) {
    static constexpr std::array<const char*, 5> names{"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) {
        return std::to_string(static_cast<std::uint64_t>(std::max(bytes, 0.0))) + " B";
    }
    std::size_t i = 0;
    bytes /= 1024;
    while (bytes >= 1024 && i + 1 < names.size()) {
        bytes /= 1024;
        ++i;
    }
    std::array<char, 32> out{};
    std::snprintf(out.data(), out.size(), "%.1f %s", bytes, names[i]);
    return out.data();
}

std::string format_rate(double bytes_per_second) {
    return format_bytes(bytes_per_second) + "/s";
}

std::string format_clock(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) {
        return "--:--";
    }
    const auto total = static_cast<std::uint64_t>(std::llround(seconds));
    const auto h = total / 3600;
    const auto m = total / 60 % 60;
    const auto s = total % 60;
    std::array<char, 32> out{};
    if (h > 0) {
        std::snprintf(out.data(), out.size(), "%llu:%02llu:%02llu", static_cast<unsigned long long>(h),
                      static_cast<unsigned long long>(m), static_cast<unsigned long long>(s));
    } else {
        std::snprintf(out.data(), out.size(), "%llu:%02llu", static_cast<unsigned long long>(m),
                      static_cast<unsigned long long>(s));
    }
    return out.data();
}

} // namespace p2p::cli
