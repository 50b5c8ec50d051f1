// SPDX-License-Identifier: MIT
// token_bucket.hpp - a rate limit with time passed in: `p2p-peer --max-rate` (the core's uploads and downloads) and
// `p2p-tap relay --rate` (each direction of a relayed session) share this one.
#pragma once

#include <chrono>
#include <cstdint>

namespace p2p {

/// A token bucket that lets whole messages through at `rate` bytes per second on average.
///
/// A message of n bytes may go when the bucket holds n tokens; sending it takes them. Tokens accrue at `rate` per
/// second up to the burst: the smallest burst given at construction, or the largest message that has reached the
/// front of the queue so far if that is larger, so that a message of any size can pass (a 1 MiB chunk waits until
/// the bucket holds 1 MiB). The bucket starts full. After an idle spell it may therefore let one burst through at
/// once; over any longer span it lets at most rate × span + burst bytes through.
///
/// Bytes that come whether or not the bucket allows them (what a receiver is sent) are charged instead: the bucket
/// may then owe tokens, and nothing else is ready until the debt is paid.
///
/// Tokens are counted exactly, in byte-nanoseconds, so ready_at() names the very nanosecond a message may go and the
/// caller never wakes just before it and spins. Time is an input: nothing here reads a clock.
class token_bucket {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    /// The relay's smallest burst, in bytes.
    static constexpr std::uint64_t default_min_burst = 64u << 10;
    /// Highest rate accepted, in bytes per second (1 TiB/s); keeps the arithmetic far from overflowing.
    static constexpr std::uint64_t max_rate = std::uint64_t{1} << 40;
    /// Largest smallest-burst accepted (1 GiB), for the same reason.
    static constexpr std::uint64_t max_min_burst = std::uint64_t{1} << 30;

    /// `rate` 0 means unlimited: every message is ready at once. A rate above max_rate is treated as max_rate, a
    /// min_burst above max_min_burst as max_min_burst.
    token_bucket(std::uint64_t rate, time_point now, std::uint64_t min_burst = default_min_burst);

    bool unlimited() const { return rate_ == 0; }
    std::uint64_t rate() const { return rate_; }

    /// When a message of `bytes` at the front of the queue may go: `now` if it may go now. Grows the burst to
    /// `bytes` if it is the largest message yet. Calls with an earlier `now` than before add no tokens.
    /// ready_at(0, now) is when any debt is paid.
    time_point ready_at(std::uint64_t bytes, time_point now);

    /// Takes the tokens of a message sent now; call only when ready_at(bytes, now) <= now.
    void take(std::uint64_t bytes, time_point now);
    /// Takes the tokens of bytes that came at `now` whether the bucket held them or not; what it did not hold
    /// becomes a debt.
    void charge(std::uint64_t bytes, time_point now);

    std::uint64_t burst() const { return burst_; }
    /// Whole tokens held at `now` (without changing the bucket), 0 while in debt; for tests and messages.
    std::uint64_t tokens(time_point now) const;

private:
    /// Tokens (in byte-nanoseconds, negative for a debt) the bucket holds at `now`, capped at the burst.
    std::int64_t credit_at(time_point now) const;
    void refill(time_point now);

    std::uint64_t rate_;  ///< Bytes per second; 0 = unlimited.
    std::uint64_t burst_; ///< Bytes.
    std::int64_t credit_; ///< Byte-nanoseconds (bytes × 10^9) at last_; negative while in debt.
    time_point last_;
};

} // namespace p2p
