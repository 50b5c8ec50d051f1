// SPDX-License-Identifier: MIT
// token_bucket.hpp - the relay's per-direction rate limit (`p2p-tap relay --rate`), with time passed in.
#pragma once

#include <chrono>
#include <cstdint>

namespace p2p::tap {

/// A token bucket that lets whole messages through at `rate` bytes per second on average.
///
/// A message of n bytes may go when the bucket holds n tokens; sending it takes them. Tokens accrue at `rate` per
/// second up to the burst: 64 KiB, or the largest message that has reached the front of the queue so far if that is
/// larger, so that a message of any size can pass (a 1 MiB chunk waits until the bucket holds 1 MiB). The bucket
/// starts holding 64 KiB. After an idle spell a direction may therefore send one burst at once; over any longer span
/// it sends at most rate × span + burst bytes.
///
/// Tokens are counted exactly, in byte-nanoseconds, so ready_at() names the very nanosecond a message may go and the
/// relay never wakes just before it and spins. Time is an input: nothing here reads a clock.
class token_bucket {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    /// The smallest burst, in bytes.
    static constexpr std::uint64_t min_burst = 64u << 10;
    /// Highest rate accepted, in bytes per second (1 TiB/s); keeps the arithmetic far from overflowing.
    static constexpr std::uint64_t max_rate = std::uint64_t{1} << 40;

    /// `rate` 0 means unlimited: every message is ready at once. A rate above max_rate is treated as max_rate.
    token_bucket(std::uint64_t rate, time_point now);

    bool unlimited() const { return rate_ == 0; }

    /// When a message of `bytes` at the front of the queue may go: `now` if it may go now. Grows the burst to
    /// `bytes` if it is the largest message yet. Calls with an earlier `now` than before add no tokens.
    time_point ready_at(std::uint64_t bytes, time_point now);

    /// Takes the tokens of a message sent now; call only when ready_at(bytes, now) <= now.
    void take(std::uint64_t bytes, time_point now);

    std::uint64_t burst() const { return burst_; }
    /// Whole tokens held at `now` (without changing the bucket); for tests and messages.
    std::uint64_t tokens(time_point now) const;

private:
    /// Tokens (in byte-nanoseconds) the bucket holds at `now`, capped at the burst.
    std::uint64_t credit_at(time_point now) const;
    void refill(time_point now);

    std::uint64_t rate_;   ///< Bytes per second; 0 = unlimited.
    std::uint64_t burst_;  ///< Bytes.
    std::uint64_t credit_; ///< Byte-nanoseconds (bytes × 10^9) at last_.
    time_point last_;
};

} // namespace p2p::tap
