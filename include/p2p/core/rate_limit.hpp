// SPDX-License-Identifier: MIT
// core/rate_limit.hpp - how `--max-rate` (peer_options::max_rate) shapes the core's transfers: the token bucket
// each direction uses, and the chunk size a limited transfer asks for or offers.
#pragma once

#include "p2p/core/time.hpp"
#include "p2p/token_bucket.hpp"

#include <cstdint>

namespace p2p::core {

/// How long a burst of the limit may last at its rate: short, so the rate is smooth.
inline constexpr milliseconds rate_burst_time{20};
/// The longest one chunk may take at the limit's rate. A chunk is never split, so it is the grain of the limit: a
/// receiver waits that long between chunks of one transfer, more when several share the limit, and gives up on a
/// source that sends nothing for transfer_timeout (8 s by default).
inline constexpr milliseconds rate_chunk_time{100};
/// The smallest chunk a limit makes a transfer use (unless --chunk-size asks for less).
inline constexpr std::uint32_t rate_min_chunk = 4u << 10;

/// The bucket of one direction: `rate` bytes per second (0: no limit), holding one chunk of `chunk_size` or
/// rate_burst_time at the rate, whichever is more, and starting full.
token_bucket make_rate_bucket(std::uint64_t rate, std::uint32_t chunk_size, steady_time now);

/// The chunk size a transfer uses under a limit of `rate` when it would use `chunk_size` without one: `chunk_size`
/// when one chunk takes at most rate_chunk_time at the rate, else the largest power of two that does, but not below
/// rate_min_chunk.
std::uint32_t rate_chunk_size(std::uint64_t rate, std::uint32_t chunk_size);

} // namespace p2p::core
