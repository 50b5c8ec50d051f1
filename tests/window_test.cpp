// SPDX-License-Identifier: MIT
// window_test.cpp - the auto window against a modelled path (a delay each way and a bottleneck of fixed rate), and
// the naming of what limited a download's rate.
#include "p2p/core/window_control.hpp"
#include "p2p/protocol.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <queue>
#include <vector>

using namespace p2p;
using namespace p2p::core;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t chunk_bytes = 1u << 20;

/// One download of `size` bytes through a path: `one_way` delay each way, a bottleneck of `rate` bytes/s (a queue
/// in front of it), and a holder that sends as soon as its credit allows. The receiver grants credit at every
/// chunk, as download does. Returns what it measured.
struct path_result {
    double seconds = 0;
    std::uint64_t peak_in_flight = 0; ///< Bytes sent and not yet received, at the worst moment.
    std::uint64_t window_at_end = 0;
    /// The credit half a round trip after each of the first ten round trips: [0] after the first.
    std::vector<std::uint32_t> credit_after_rtt;
    rate_figures figures;
};

/// A receiver that once takes longer over a chunk: the machine was busy elsewhere, or the disk held a write.
struct receiver_stall {
    std::uint64_t chunk = 0; ///< Which chunk, counted from 1; 0: none.
    std::chrono::microseconds work{0};
};

/// `receiver_work`: what this peer spends writing and hashing each chunk; chunks that arrive while it works wait
/// (their ACK with them, as in download_table).
path_result run_path(window_setting setting, std::chrono::microseconds one_way, double rate, std::uint64_t size,
                     std::chrono::microseconds receiver_work = std::chrono::microseconds{0},
                     receiver_stall stall = {}) {
    window_control w(setting, chunk_bytes);
    struct ev {
        steady_time at;
        bool is_chunk;
        std::uint64_t value; ///< Chunk: its end offset. Grant: the limit it carries.
        bool operator>(const ev& o) const { return at > o.at; }
    };
    std::priority_queue<ev, std::vector<ev>, std::greater<>> events;
    const steady_time start{};
    steady_time link_free = start;
    std::uint64_t holder_limit = 0, sent = 0, received = 0;
    path_result out;
    const auto holder_sends = [&](steady_time now) {
        while (sent < size && sent + chunk_bytes <= holder_limit) {
            const auto serialise = std::chrono::nanoseconds(static_cast<std::int64_t>(chunk_bytes / rate * 1e9));
            link_free = std::max(link_free, now) + serialise;
            sent += chunk_bytes;
            events.push({link_free + one_way, true, sent});
            out.peak_in_flight = std::max(out.peak_in_flight, sent - received);
        }
    };
    // The REQUEST.
    w.restart(0);
    const auto first = std::uint64_t{w.credit()} * chunk_bytes;
    w.granted(first, start);
    events.push({start + one_way, false, first});
    const auto rtt = 2 * one_way;
    steady_time receiver_free = start;
    while (!events.empty() && received < size) {
        const auto e = events.top();
        events.pop();
        while (out.credit_after_rtt.size() < 10 &&
               e.at - start >= static_cast<int>(out.credit_after_rtt.size() + 1) * rtt + rtt / 2) {
            out.credit_after_rtt.push_back(w.credit());
        }
        if (e.is_chunk) {
            const auto at = std::max(e.at, receiver_free); // the chunk waits while the receiver works on another
            received = e.value;
            w.delivered(e.value, chunk_bytes, 0, at);
            const auto limit = e.value + std::uint64_t{w.credit()} * chunk_bytes;
            w.granted(limit, at);
            events.push({at + one_way, false, limit});
            const auto work = e.value / chunk_bytes == stall.chunk ? stall.work : receiver_work;
            receiver_free = at + work;
            w.worked(work);
            out.seconds = std::chrono::duration<double>(receiver_free - start).count();
        } else {
            holder_limit = std::max(holder_limit, e.value);
            holder_sends(e.at);
        }
    }
    out.window_at_end = w.window_bytes();
    out.figures = w.figures();
    return out;
}

} // namespace

TEST_CASE("window auto starts as stop-and-wait: one chunk of credit before anything is measured", "[window]") {
    window_control w(window_setting::sized(), chunk_bytes);
    CHECK(w.credit() == 1);
    // Grants and chunks at one instant (a stepped test, a simulation) measure no time: it stays at one chunk.
    const steady_time t{};
    w.restart(0);
    w.granted(chunk_bytes, t);
    w.delivered(chunk_bytes, chunk_bytes, 0, t);
    CHECK(w.credit() == 1);
}

TEST_CASE("window fixed in chunks or bytes stays what was asked", "[window]") {
    window_control chunks(window_setting::of_chunks(8), chunk_bytes);
    CHECK(chunks.credit() == 8);
    window_control bytes(window_setting::of_bytes(8u << 20), 64u << 10);
    CHECK(bytes.credit() == 128); // 8 MiB of 64 KiB chunks: the window counts bytes, whatever the chunk
    bytes.set_chunk_size(1u << 20);
    CHECK(bytes.credit() == 8);
    window_control tiny(window_setting::of_bytes(1000), chunk_bytes);
    CHECK(tiny.credit() == 1); // never below one chunk
}

TEST_CASE("window auto fills a long path within ten round trips, and keeps in flight within twice the product",
          "[window]") {
    const auto one_way = GENERATE(5000us, 10000us, 25000us);
    const double rate = 100e6; // the bottleneck, bytes/s
    const std::uint64_t size = 256ull << 20;
    const auto auto_run = run_path(window_setting::sized(), one_way, rate, size);
    // The product of the bottleneck's rate and the round trip a chunk sees (the delays and its own time on the link).
    const double product = rate * std::chrono::duration<double>(2 * one_way).count() + chunk_bytes;
    INFO("one way " << one_way.count() << " us: " << auto_run.seconds << " s, peak in flight "
                    << auto_run.peak_in_flight << ", product " << product << ", credit after 10 round trips "
                    << auto_run.credit_after_rtt.back());
    // Within ten round trips the window covers the product: the bottleneck is full from then on.
    REQUIRE(auto_run.credit_after_rtt.size() == 10);
    CHECK(std::uint64_t{auto_run.credit_after_rtt.back()} * chunk_bytes >= static_cast<std::uint64_t>(product));
    // Never more than twice the product plus one chunk in flight (BBR's bound; a chunk of rounding).
    CHECK(auto_run.peak_in_flight <= static_cast<std::uint64_t>(2 * product) + 2 * chunk_bytes);
    // Against the best a window can do here (the bottleneck's rate): 0.9 of it over 256 MiB.
    const double ideal = static_cast<double>(size) / rate + std::chrono::duration<double>(2 * one_way).count();
    CHECK(auto_run.seconds <= ideal / 0.9);
    // Stop-and-wait over the same path is much slower (each chunk waits a round trip): the window made the difference.
    const auto fixed_one = run_path(window_setting::of_chunks(1), one_way, rate, 32ull << 20);
    CHECK(fixed_one.seconds * 8 > 1.5 * auto_run.seconds);
}

TEST_CASE("window auto behind a rate limit settles near the product, not at its largest", "[window]") {
    // 50 MB/s and 25 ms each way: the product is 2.5 MB.
    const auto run = run_path(window_setting::sized(), 25000us, 50e6, 256ull << 20);
    INFO("final window " << run.window_at_end << ", peak in flight " << run.peak_in_flight);
    // The product is 2.5 MB plus the chunk's own 21 ms on the link: about 3.6 MB.
    CHECK(run.window_at_end <= 10 * chunk_bytes); // about twice the product plus a chunk, far from 64 MiB
    CHECK(run.window_at_end >= 4 * chunk_bytes);  // and no less than the product
    CHECK_FALSE(run.figures.window_capped);
    // The queue the window's second product builds shows in the round trips: the link is named.
    CHECK(name_limit(run.figures).by == rate_limit::link);
}

TEST_CASE("window fixed at one chunk over a delay is named the round trip's limit", "[window]") {
    const auto run = run_path(window_setting::of_chunks(1), 25000us, 1e9, 16ull << 20);
    const auto found = name_limit(run.figures);
    INFO(found.text);
    CHECK(found.by == rate_limit::round_trip);
    // The round trip it measured: 50 ms and the chunk's 1 ms on the link.
    CHECK(found.text.find("the round trip: 51.0 ms with a window of 1.0 MiB") == 0);
}

TEST_CASE("window counts each holder's busy time from its own counter when a download moves to another", "[window]") {
    window_control w(window_setting::of_chunks(1), chunk_bytes);
    const steady_time t0{};
    w.restart(0);
    w.granted(chunk_bytes, t0);
    w.delivered(chunk_bytes, chunk_bytes, 5'000'000,
                t0 + 10ms); // the first holder had counted 5 s for others' sake before
    w.granted(2 * chunk_bytes, t0 + 10ms);
    w.delivered(2 * chunk_bytes, chunk_bytes, 5'200'000, t0 + 20ms); // 0.2 s on this transfer
    w.restart(2 * chunk_bytes); // a new REQUEST, to a holder whose counter starts low
    w.granted(3 * chunk_bytes, t0 + 30ms);
    w.delivered(3 * chunk_bytes, chunk_bytes, 100'000, t0 + 40ms);
    w.granted(4 * chunk_bytes, t0 + 40ms);
    w.delivered(4 * chunk_bytes, chunk_bytes, 400'000, t0 + 50ms); // 0.3 s more
    CHECK(w.figures().holder_busy == Approx(0.5));
}

TEST_CASE("name_limit names a busy holder, a busy receiver, a queue, or the window", "[window]") {
    rate_figures f;
    f.seconds = 2;
    f.bytes = 100u << 20;
    f.min_rtt = 0.010;
    f.avg_rtt = 0.011;
    f.auto_window = false;
    f.window = 4u << 20;
    CHECK(name_limit(f).by == rate_limit::round_trip);
    f.holder_busy = 1.8;
    CHECK(name_limit(f).by == rate_limit::holder);
    CHECK(name_limit(f).text == "the holder: busy 90% of the time reading and sending (1.80 of 2.00 s)");
    f.receiver_busy = 1.9;
    CHECK(name_limit(f).by == rate_limit::receiver);
    f.holder_busy = f.receiver_busy = 0.2;
    f.avg_rtt = 0.030;
    CHECK(name_limit(f).by == rate_limit::link);
    f.bytes = 0;
    CHECK(name_limit(f).by == rate_limit::unknown);
}

TEST_CASE("window auto stays at stop-and-wait on a LAN where this peer is busy with every chunk", "[window]") {
    // 0.1 ms each way and a 1 GB/s link, but 2 ms of writing and hashing per chunk: the receiver is the bottleneck,
    // and a chunk of credit already keeps it busy (the ACK goes before the chunk is stored).
    const auto run = run_path(window_setting::sized(), 100us, 1e9, 64ull << 20, 2000us);
    INFO("final window " << run.window_at_end << ", peak in flight " << run.peak_in_flight);
    CHECK(run.window_at_end == chunk_bytes);
    CHECK(run.peak_in_flight <= 6 * chunk_bytes); // the startup's first rounds, before the busy share was measured
    CHECK(name_limit(run.figures).by == rate_limit::receiver);
    // As fast as stop-and-wait, which is all this receiver can take.
    const auto one = run_path(window_setting::of_chunks(1), 100us, 1e9, 64ull << 20, 2000us);
    CHECK(run.seconds <= one.seconds * 1.02);
}

TEST_CASE("window auto on loopback, where a chunk's own time is the whole round trip, stays at stop-and-wait",
          "[window]") {
    // 10 us each way and a 700 MB/s bottleneck (the relay, or the copy between two processes): a chunk's 1.5 ms at
    // the bottleneck is nearly all of its round trip, so one chunk in flight keeps the bottleneck busy. A second
    // only waits in the queue (and on a real loopback costs both ends their caches: through the bench's relay,
    // stop-and-wait moved 650 to 680 MB/s where the old product's two or three chunks in flight moved 340 to 390).
    const auto run = run_path(window_setting::sized(), 10us, 700e6, 64ull << 20);
    INFO("final window " << run.window_at_end << ", peak in flight " << run.peak_in_flight);
    CHECK(run.window_at_end == chunk_bytes);
    // As fast as stop-and-wait: a bigger window had nothing to gain.
    const auto one = run_path(window_setting::of_chunks(1), 10us, 700e6, 64ull << 20);
    CHECK(run.seconds <= one.seconds * 1.02);
}

TEST_CASE("window auto on a short round trip measures the bottleneck with two chunks in flight, never more",
          "[window]") {
    // Issue 18's bound on what is in flight: twice the product and a chunk. Over a round trip under 5 ms (loopback
    // here, 10 us each way and a chunk's 1.5 ms at a 700 MB/s bottleneck; a LAN) the product is a small part of a
    // chunk, so the bound is a chunk and a bit: but a gap between two arrivals is what measures the bottleneck, and it
    // needs two chunks in flight. The
    // startup granted three chunks after the first, five after the second, before that gap sized it (the bench saw
    // peaks of 3 to 5 MiB at 0 ms against a bound of 1.9 to 2.6).
    const auto one_way = GENERATE(10us, 100us, 1000us);
    const auto run = run_path(window_setting::sized(), one_way, 700e6, 64ull << 20);
    INFO("one way " << one_way.count() << " us: peak in flight " << run.peak_in_flight << ", final window "
                    << run.window_at_end << ", sized after " << run.figures.full_after << " s, shortest round trip "
                    << run.figures.min_rtt << " s");
    // The bound with the path's own product (the bottleneck's rate times the delays), never under the two chunks.
    const double product = 700e6 * std::chrono::duration<double>(2 * one_way).count();
    CHECK(run.peak_in_flight <=
          std::max<std::uint64_t>(2 * chunk_bytes, static_cast<std::uint64_t>(2 * product) + chunk_bytes));
    // And the startup ends within ten round trips of the first chunk (the bench's "sized within 10 round trips").
    CHECK(run.figures.full_after > 0);
    CHECK(run.figures.full_after <= 10 * run.figures.min_rtt);
}

TEST_CASE("window auto over a long path to a busy receiver keeps what the path needs, not a queue", "[window]") {
    // 25 ms each way; the receiver needs 2 ms a chunk (500 MiB/s), the link is faster: the receiver sets the rate,
    // and the window needs its rate times the round trip (about 26 chunks) to keep it busy.
    const auto one_way = 25000us;
    const auto run = run_path(window_setting::sized(), one_way, 1e9, 256ull << 20, 2000us);
    const double product = (1 << 20) / 0.002 * 0.050;
    INFO("final window " << run.window_at_end << ", peak in flight " << run.peak_in_flight << ", product " << product
                         << ", " << run.seconds << " s");
    CHECK(run.window_at_end >= static_cast<std::uint64_t>(0.8 * product));
    CHECK(run.window_at_end <= static_cast<std::uint64_t>(2 * product) + chunk_bytes);
    CHECK(run.peak_in_flight <= static_cast<std::uint64_t>(2 * product) + 2 * chunk_bytes);
    // 0.9 of what the receiver alone allows, once the startup has grown the window from one chunk: that takes
    // four round trips here (it triples each), which no window that starts at one chunk can save.
    const double ideal = 256 * 0.002 + 0.050;
    CHECK(run.seconds <= ideal / 0.9 + 4 * 0.050);
    CHECK(name_limit(run.figures).by == rate_limit::receiver);
}

TEST_CASE("window auto is sized in the second round trip by the gap between two chunks, not grown over four",
          "[window]") {
    // 25 ms each way to a receiver that needs 2 ms a chunk: the window that keeps it busy is about 26 chunks. The
    // first round trip measures the round trip; the chunks of the second queue at the receiver and arrive 2 ms
    // apart, which is its rate: the window can hold the product from then on. Tripling from one chunk (1, 3, 9, 27)
    // took two round trips more.
    const auto one_way = 25000us;
    const auto run = run_path(window_setting::sized(), one_way, 1e9, 256ull << 20, 2000us);
    const double product = (1 << 20) / 0.002 * 0.050;
    REQUIRE(run.credit_after_rtt.size() == 10);
    INFO("credit after round trips 1, 2, 3: " << run.credit_after_rtt[0] << ", " << run.credit_after_rtt[1] << ", "
                                              << run.credit_after_rtt[2] << "; " << run.seconds << " s");
    CHECK(run.credit_after_rtt[0] <= 3); // the first round trip measured nothing but itself
    CHECK(std::uint64_t{run.credit_after_rtt[1]} * chunk_bytes >= static_cast<std::uint64_t>(product));
    // The JSON's full_after_ms: the startup ended within four round trips.
    CHECK(run.figures.full_after > 0.100);
    CHECK(run.figures.full_after < 0.200);
    // So the whole download loses about two round trips to the startup, not three or four.
    const double ideal = 256 * 0.002 + 0.050;
    CHECK(run.seconds <= ideal + 2.5 * 0.050);
}

TEST_CASE("window auto stuck at one or two chunks over a long path after a stall grows again", "[window]") {
    // 10 ms each way, a fast link and a receiver that needs 0.5 ms a chunk: about 40 chunks keep it busy. Early on the
    // receiver once takes 30 ms over a chunk (a held write, or the machine busy elsewhere): that round reads as an
    // end busy all of the time, and the window drops to a few chunks. There the delivery rate is what the window
    // moves per round trip, and the product for it little more than the window: it grew a chunk every second round
    // (credit 6 after ten round trips), and from one or two chunks not at all (seen in a bench run: 45 MB/s with
    // 1 MiB over a 21 ms round trip for the whole download).
    const auto one_way = 10000us;
    const auto stall_at = GENERATE(2ull, 3ull, 4ull, 6ull, 10ull);
    const auto run = run_path(window_setting::sized(), one_way, 2e9, 256ull << 20, 500us, {stall_at, 30000us});
    const auto calm = run_path(window_setting::sized(), one_way, 2e9, 256ull << 20, 500us);
    INFO("stall at chunk " << stall_at << ": " << run.seconds << " s (" << calm.seconds << " s without), final window "
                           << run.window_at_end << ", credit after 10 round trips " << run.credit_after_rtt.back());
    // The stall costs its own 30 ms and the round trips it takes to grow back, not the download's pace.
    CHECK(run.seconds <= calm.seconds + 0.030 + 10 * 0.020);
    CHECK(run.window_at_end >= 8 * chunk_bytes);
}
