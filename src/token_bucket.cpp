// SPDX-License-Identifier: MIT
#include "p2p/token_bucket.hpp"

#include <algorithm>

namespace p2p {

namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;
/// The most a bucket may owe, in bytes (4 GiB): a bound far above any window in flight, that keeps a debt (in
/// byte-nanoseconds) far from overflowing.
constexpr std::uint64_t max_debt = std::uint64_t{4} << 30;

/// Bytes in byte-nanoseconds. Bytes stay below 2^33 here (a burst of at most max_min_burst or one message, a charge
/// clamped to max_debt), so the product stays far below 2^63.
std::int64_t units(std::uint64_t bytes) {
    return static_cast<std::int64_t>(bytes) * ns_per_s;
}

} // namespace

token_bucket::token_bucket(std::uint64_t rate, time_point now, std::uint64_t min_burst)
    : rate_(std::min(rate, max_rate)), burst_(std::min(min_burst, max_min_burst)), credit_(units(burst_)), last_(now) {}

std::int64_t token_bucket::credit_at(time_point now) const {
    const std::int64_t full = units(burst_);
    if (now <= last_ || credit_ >= full) {
        return std::min(credit_, full);
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
    const auto ns = static_cast<std::uint64_t>(elapsed);
    // Compare before multiplying: a long idle spell times the rate could overflow; what fills the bucket cannot.
    const auto missing = static_cast<std::uint64_t>(full - credit_);
    if (ns >= missing / rate_ + 1) {
        return full;
    }
    return std::min(full, credit_ + static_cast<std::int64_t>(rate_ * ns));
}

void token_bucket::refill(time_point now) {
    if (now > last_) {
        credit_ = credit_at(now);
        last_ = now;
    }
}

token_bucket::time_point token_bucket::ready_at(std::uint64_t bytes, time_point now) {
    if (unlimited()) {
        return now;
    }
    refill(now);
    // Tokens up to now were capped at the old burst; from here on the bucket may fill up to this message.
    burst_ = std::max(burst_, bytes);
    const std::int64_t need = units(bytes);
    const auto from = std::max(now, last_);
    if (credit_ >= need) {
        return from;
    }
    // Rounded up, so that at the returned time the bucket holds at least `need`.
    const auto short_by = static_cast<std::uint64_t>(need - credit_);
    const std::uint64_t wait_ns = (short_by + rate_ - 1) / rate_;
    return from + std::chrono::ceil<clock::duration>(std::chrono::nanoseconds(wait_ns));
}

void token_bucket::take(std::uint64_t bytes, time_point now) {
    if (unlimited()) {
        return;
    }
    refill(now);
    // Never into debt: a caller that took more than was there (it should not) owes nothing for it.
    credit_ = std::max<std::int64_t>(std::min<std::int64_t>(credit_, 0), credit_ - units(bytes));
}

void token_bucket::charge(std::uint64_t bytes, time_point now) {
    if (unlimited()) {
        return;
    }
    refill(now);
    credit_ = std::max(credit_ - units(std::min(bytes, max_debt)), -units(max_debt));
}

std::uint64_t token_bucket::tokens(time_point now) const {
    if (unlimited()) {
        return burst_;
    }
    return static_cast<std::uint64_t>(std::max<std::int64_t>(credit_at(now), 0) / ns_per_s);
}

} // namespace p2p
