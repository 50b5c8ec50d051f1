// SPDX-License-Identifier: MIT
#include "p2p/core/rate_limit.hpp"

#include <algorithm>
#include <bit>
#include <chrono>

namespace p2p::core {

namespace {
/// Bytes sent in `span` at `rate` bytes per second.
std::uint64_t bytes_in(std::uint64_t rate, milliseconds span) {
    return rate / 1000 * static_cast<std::uint64_t>(span.count()) +
           rate % 1000 * static_cast<std::uint64_t>(span.count()) / 1000;
}
} // namespace

token_bucket make_rate_bucket(std::uint64_t rate, std::uint32_t chunk_size, steady_time now) {
    return token_bucket(rate, now, std::max<std::uint64_t>(chunk_size, bytes_in(rate, rate_burst_time)));
}

std::uint32_t rate_chunk_size(std::uint64_t rate, std::uint32_t chunk_size) {
    const auto fits = bytes_in(rate, rate_chunk_time);
    if (rate == 0 || fits >= chunk_size) {
        return chunk_size;
    }
    const auto power = std::bit_floor(std::max<std::uint64_t>(fits, 1));
    return static_cast<std::uint32_t>(std::max<std::uint64_t>(power, std::min(rate_min_chunk, chunk_size)));
}

} // namespace p2p::core
