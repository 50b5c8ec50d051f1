// SPDX-License-Identifier: MIT
// units.hpp - sizes and durations as people type and read them ("1M", "500ms", "12.3 MiB/s").
#pragma once

#include "p2p/window_setting.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace p2p::cli {

/// "65536", "64K", "64KiB", "1M", "1MiB" (binary multiples; the B is optional). nullopt when it is not a size.
std::optional<std::uint64_t> parse_size(std::string_view text);

/// Bytes per second: "65536", "500K", "4M", "4MiB/s", "1G" (the binary multiples of parse_size; "/s" optional), up to
/// token_bucket::max_rate. 0 is a rate too (callers take it as "no limit"). nullopt otherwise.
std::optional<std::uint64_t> parse_rate(std::string_view text);

/// "auto"; "4" (chunks, 1..max_credit); "8M", "512K" (bytes, up to max_window_bytes). nullopt otherwise.
std::optional<window_setting> parse_window(std::string_view text);

/// "1500" (milliseconds), "1500ms", "2s", "1m". nullopt when it is not a duration or overflows.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// 1536 -> "1.5 KiB"; below 1 KiB: "512 B".
std::string format_bytes(double bytes);

/// Bytes per second -> "48.8 MiB/s".
std::string format_rate(double bytes_per_second);

/// Seconds -> "0:07", "12:34", "1:02:03"; for an ETA.
std::string format_clock(double seconds);

} // namespace p2p::cli
