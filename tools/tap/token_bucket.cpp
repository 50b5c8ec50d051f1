// SPDX-License-Identifier: MIT
#include "token_bucket.hpp"

#include <algorithm>

namespace p2p::tap {

namespace {

constexpr std::uint64_t ns_per_s = 1'000'000'000;

std::uint64_t units(std::uint64_t bytes) {
    return bytes * ns_per_s;
}

} // namespace

token_bucket::token_bucket(std::uint64_t rate, time_point now)
    : rate_(std::min(rate, max_rate)), burst_(min_burst), credit_(units(min_burst)), last_(now) {}

std::uint64_t token_bucket::credit_at(time_point now) const {
    const std::uint64_t full = units(burst_);
    if (now <= last_ || credit_ >= full) {
        return std::min(credit_, full);
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
    const auto ns = static_cast<std::uint64_t>(elapsed);
    // Compare before multiplying: a long idle spell times the rate could overflow; what fills the bucket cannot.
    const std::uint64_t missing = full - credit_;
    if (ns >= missing / rate_ + 1) {
        return full;
    }
    return std::min(full, credit_ + rate_ * ns);
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
    const std::uint64_t need = units(bytes);
    const auto from = std::max(now, last_);
    if (credit_ >= need) {
        return from;
    }
    // Rounded up, so that at the returned time the bucket holds at least `need`.
    const std::uint64_t wait_ns = (need - credit_ + rate_ - 1) / rate_;
    return from + std::chrono::ceil<clock::duration>(std::chrono::nanoseconds(wait_ns));
}

void token_bucket::take(std::uint64_t bytes, time_point now) {
    if (unlimited()) {
        return;
    }
    refill(now);
    credit_ -= std::min(credit_, units(bytes));
}

std::uint64_t token_bucket::tokens(time_point now) const {
    if (unlimited()) {
        return burst_;
    }
    return credit_at(now) / ns_per_s;
}

} // namespace p2p::tap
