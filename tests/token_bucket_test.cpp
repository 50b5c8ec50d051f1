// SPDX-License-Identifier: MIT
// token_bucket_test.cpp - the rate limit of `p2p-peer --max-rate` and `p2p-tap relay --rate`, on a clock the test
// moves by hand.
#include "p2p/token_bucket.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <random>

using p2p::token_bucket;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

const token_bucket::time_point t0{std::chrono::hours(1)};

std::chrono::nanoseconds since_t0(token_bucket::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - t0);
}

} // namespace

TEST_CASE("token bucket with rate 0 lets everything through at once", "[token_bucket]") {
    token_bucket bucket(0, t0);
    CHECK(bucket.unlimited());
    for (int i = 0; i < 100; ++i) {
        REQUIRE(bucket.ready_at(4 * MiB, t0) == t0);
        bucket.take(4 * MiB, t0);
    }
}

TEST_CASE("token bucket starts with 64 KiB and refills at its rate", "[token_bucket]") {
    token_bucket bucket(1 * MiB, t0); // 1 MiB/s: 64 KiB take 62.5 ms
    CHECK(bucket.tokens(t0) == 64 * KiB);
    CHECK(bucket.ready_at(64 * KiB, t0) == t0);
    bucket.take(64 * KiB, t0);
    CHECK(bucket.tokens(t0) == 0);
    // The next 64 KiB may go exactly 62.5 ms later, not a nanosecond sooner.
    const auto next = bucket.ready_at(64 * KiB, t0);
    CHECK(since_t0(next) == 62'500'000ns);
    CHECK(bucket.tokens(next - 1ns) < 64 * KiB);
    CHECK(bucket.tokens(next) == 64 * KiB);
    // Half way there, half the tokens.
    CHECK(bucket.tokens(t0 + 31'250'000ns) == 32 * KiB);
    CHECK(bucket.ready_at(64 * KiB, next) == next);
}

TEST_CASE("token bucket lets a message larger than the burst through once it has saved that much", "[token_bucket]") {
    token_bucket bucket(4 * MiB, t0);
    CHECK(bucket.burst() == 64 * KiB);
    // A 1 MiB chunk waits for the bytes beyond the 64 KiB held: 960 KiB at 4 MiB/s = 234.375 ms.
    const auto ready = bucket.ready_at(1 * MiB, t0);
    CHECK(bucket.burst() == 1 * MiB);
    CHECK(since_t0(ready) == 234'375'000ns);
    CHECK(bucket.ready_at(1 * MiB, ready) == ready);
    bucket.take(1 * MiB, ready);
    CHECK(bucket.tokens(ready) == 0);
    // The next one: a full 250 ms.
    CHECK(bucket.ready_at(1 * MiB, ready) - ready == 250ms);
}

TEST_CASE("token bucket saves at most one burst while idle", "[token_bucket]") {
    token_bucket bucket(1 * MiB, t0);
    const auto later = t0 + 1h; // enough for 3.5 GiB at this rate
    CHECK(bucket.tokens(later) == 64 * KiB);
    CHECK(bucket.ready_at(64 * KiB, later) == later);
    bucket.take(64 * KiB, later);
    CHECK(bucket.ready_at(1, later) > later);

    // Once a 1 MiB message has been through, the burst is 1 MiB: an idle spell saves that much and no more.
    const auto big = bucket.ready_at(1 * MiB, later);
    bucket.take(1 * MiB, big);
    const auto idle = big + 10s;
    CHECK(bucket.tokens(idle) == 1 * MiB);
    CHECK(bucket.ready_at(1 * MiB, idle) == idle);
    bucket.take(1 * MiB, idle);
    CHECK(bucket.ready_at(1, idle) > idle);
}

TEST_CASE("token bucket adds nothing when time stands still or goes back", "[token_bucket]") {
    token_bucket bucket(1 * MiB, t0);
    bucket.take(64 * KiB, t0);
    const auto ready = bucket.ready_at(1 * KiB, t0);
    CHECK(bucket.ready_at(1 * KiB, t0 - 1s) >= ready);
    CHECK(bucket.tokens(t0 - 1s) == 0);
    CHECK(bucket.ready_at(1 * KiB, t0) == ready);
}

TEST_CASE("token bucket sends at its rate over a long run of mixed messages", "[token_bucket]") {
    // Messages of 1 byte to 1 MiB sent as soon as the bucket allows, as the relay does: over the run the bytes sent
    // are at most rate × time + the largest burst, and the bucket never holds a message back longer than needed.
    const std::uint64_t rate = 50 * MiB;
    token_bucket bucket(rate, t0);
    std::mt19937_64 rng(5);
    std::uniform_int_distribution<std::uint64_t> size(1, 1 * MiB);
    auto now = t0;
    std::uint64_t sent = 0;
    for (int i = 0; i < 2000; ++i) {
        const auto bytes = size(rng);
        now = bucket.ready_at(bytes, now);
        REQUIRE(bucket.ready_at(bytes, now) == now);
        bucket.take(bytes, now);
        sent += bytes;
        const double seconds = std::chrono::duration<double>(now - t0).count();
        REQUIRE(static_cast<double>(sent) <= static_cast<double>(rate) * seconds + static_cast<double>(64 * KiB) + 1);
    }
    // Always busy, so the average is the rate, to within the first 64 KiB and nanosecond rounding.
    const double seconds = std::chrono::duration<double>(now - t0).count();
    const double achieved = static_cast<double>(sent - 64 * KiB) / seconds;
    CHECK(achieved == Approx(static_cast<double>(rate)).epsilon(1e-6));
}

TEST_CASE("token bucket handles the highest rate and the longest idle spell without overflow", "[token_bucket]") {
    token_bucket bucket(token_bucket::max_rate * 4, t0); // clamped to max_rate
    bucket.take(64 * KiB, t0);
    const auto far = t0 + std::chrono::hours(24 * 365 * 100);
    CHECK(bucket.tokens(far) == 64 * KiB);
    const auto ready = bucket.ready_at(8 * MiB, far);
    // (8 MiB - 64 KiB) at 1 TiB/s: about 7.6 microseconds.
    CHECK(ready - far > 7us);
    CHECK(ready - far < 8us);
}

TEST_CASE("token bucket starts holding the smallest burst it is given", "[token_bucket]") {
    token_bucket bucket(1 * MiB, t0, 256 * KiB);
    CHECK(bucket.burst() == 256 * KiB);
    CHECK(bucket.tokens(t0) == 256 * KiB);
    CHECK(bucket.ready_at(256 * KiB, t0) == t0);
}

TEST_CASE("token bucket charged for bytes it did not hold owes them before anything else is ready", "[token_bucket]") {
    // What a receiver under --max-rate does: the bytes came, they are charged, and its ACK waits for the debt.
    token_bucket bucket(1 * MiB, t0); // 64 KiB held
    bucket.charge(192 * KiB, t0);
    CHECK(bucket.tokens(t0) == 0);
    // 128 KiB owed at 1 MiB/s: paid 125 ms later; 64 KiB more are there 62.5 ms after that.
    CHECK(since_t0(bucket.ready_at(0, t0)) == 125'000'000ns);
    CHECK(since_t0(bucket.ready_at(64 * KiB, t0)) == 187'500'000ns);
    CHECK(bucket.tokens(t0 + 125ms) == 0);
    CHECK(bucket.tokens(t0 + 187'500'000ns) == 64 * KiB);
    // An idle spell fills it to its burst again, never beyond.
    CHECK(bucket.tokens(t0 + 1h) == 64 * KiB);
    // take() never goes into debt (the relay takes only what is there).
    token_bucket relay(1 * MiB, t0);
    relay.take(1 * MiB, t0);
    CHECK(relay.ready_at(0, t0) == t0);
}

TEST_CASE("token bucket owes at most 4 GiB, however much it is charged", "[token_bucket]") {
    token_bucket bucket(1 * MiB, t0);
    for (int i = 0; i < 3; ++i) {
        bucket.charge(std::uint64_t{1} << 62, t0);
    }
    // 4 GiB owed, not 12: 4096 s at 1 MiB/s.
    CHECK(bucket.ready_at(0, t0) - t0 == 4096s);
}
