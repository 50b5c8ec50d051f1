// SPDX-License-Identifier: MIT
// core/window_control.hpp - the credit one download grants its holder: fixed, or sized from what it measures (the
// best delivery rate times the shortest round trip, as BBR does, reached early from the gap between the first chunks
// that queued, and how busy each end is), and the figures that tell afterwards what limited the rate.
#pragma once

#include "p2p/core/time.hpp"
#include "p2p/rate_figures.hpp"
#include "p2p/window_setting.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace p2p::core {

class window_control {
public:
    window_control(window_setting setting, std::uint32_t chunk_size);

    /// The holder's chunk size (its OFFER may say less than was asked for): credit counts chunks of this size.
    void set_chunk_size(std::uint32_t chunk_size);
    /// Chunks of credit for the next REQUEST or ACK: at least 1 (stop-and-wait), at most what the window allows.
    std::uint32_t credit() const;
    std::uint64_t window_bytes() const;

    /// A REQUEST or ACK left at `now` that lets the holder send every byte below `limit`.
    void granted(std::uint64_t limit, steady_time now);
    /// Bytes up to `end` are in, in order, at `now`; `holder_busy_us` is the holder's busy counter from that CHUNK.
    void delivered(std::uint64_t end, std::uint64_t length, std::uint64_t holder_busy_us, steady_time now);
    /// This peer spent `spent` writing and hashing what it received (the node measures, the core charges).
    void worked(std::chrono::nanoseconds spent) { receiver_busy_ += spent; }
    /// The transfer starts (again) from `offset` (a REQUEST: the first, a resend, a new range, a bad piece's): grants
    /// made so far are void.
    void restart(std::uint64_t offset);

    /// The figures so far; the time runs from the first grant to the last delivery.
    rate_figures figures() const;

private:
    struct grant {
        std::uint64_t limit;
        steady_time at;
        std::uint64_t delivered; ///< delivered_ when it was made.
    };
    /// Grants still outstanding, oldest first: a ring in a vector that only grows, so steady state allocates nothing.
    class grant_ring {
    public:
        void push(const grant& g);
        void pop() { ++head_, --size_; }
        const grant& front() const { return items_[head_ % items_.size()]; }
        bool empty() const { return size_ == 0; }
        void clear() { head_ = size_ = 0; }

    private:
        std::vector<grant> items_;
        std::size_t head_ = 0;
        std::size_t size_ = 0;
    };

    void sample(steady_time granted_at, std::uint64_t delivered_then, steady_time now);
    /// Sets the window from the setting, or from the startup or target; an automatic one grows by at most
    /// `grown_by` bytes.
    void resize(std::uint64_t grown_by = std::numeric_limits<std::uint64_t>::max() / 2);

    window_setting setting_;
    std::uint32_t chunk_size_;
    std::uint64_t window_; ///< Bytes.
    grant_ring grants_;
    std::uint64_t granted_limit_ = 0;
    std::uint64_t delivered_ = 0; ///< Bytes delivered in this transfer, over every restart.
    std::uint64_t delivered_end_ = 0;
    std::uint64_t peak_in_flight_ = 0;
    std::optional<steady_time> first_grant_;
    steady_time last_delivery_{};
    std::optional<steady_time> full_at_;             ///< When the startup ended.
    std::optional<std::uint64_t> holder_busy_first_; ///< The counter of this REQUEST's holder, at its first chunk...
    std::uint64_t holder_busy_last_ = 0;             ///< ...and at its last.
    std::uint64_t holder_busy_before_ = 0;           ///< Microseconds counted under earlier REQUESTs (other holders).
    std::chrono::nanoseconds receiver_busy_{0};

    /// Microseconds the holders of this transfer spent on it so far (each holder's counter from its first chunk).
    std::uint64_t holder_busy_us() const;

    // Round trips and rates, BBR's way: the shortest round trip of the last min_rtt_life, the best delivery rate
    // of the last rounds_kept rounds. A round lasts a shortest round trip, and at least min_round so that the busy
    // shares below are measured over several chunks even on a LAN.
    static constexpr std::size_t rounds_kept = 10;
    static constexpr auto min_rtt_life = std::chrono::seconds(10);
    static constexpr auto min_round = std::chrono::milliseconds(5);
    std::optional<std::chrono::nanoseconds> min_rtt_;
    steady_time min_rtt_at_{};
    double avg_rtt_ = 0; ///< Seconds, smoothed 1/8 per sample.
    std::array<double, rounds_kept> round_rates_{};
    double top_rate_ = 0; ///< The highest delivery rate (or gap rate) of the whole download, bytes/s.
    std::size_t round_ = 0;
    steady_time round_start_{};
    std::optional<std::chrono::nanoseconds> round_min_rtt_; ///< The shortest round trip seen in this round.
    /// How busy the ends were since the last reading: the busier end's share of the time and its time per byte
    /// delivered (the inverse of the rate it could keep up), and both ends' time per byte.
    struct busy_meter {
        struct reading {
            double share = 0;
            double busiest_seconds_per_byte = 0;
            double ends_seconds_per_byte = 0;
            double delivery_rate = 0; ///< Bytes delivered over the time since the last reading, per second.
        };
        reading read(steady_time now, std::chrono::nanoseconds receiver, std::uint64_t holder_us,
                     std::uint64_t delivered);
        steady_time since{};
        std::chrono::nanoseconds receiver_then{0};
        std::uint64_t holder_then = 0;
        std::uint64_t delivered_then = 0;
    };
    busy_meter round_busy_; ///< Read once a round.
    bool capped_ = false;

    // Startup: one chunk (stop-and-wait) for the first round trip; then it grows like TCP's slow start, by
    // startup_growth bytes for every byte delivered (three times the window a round trip). The first chunks that queue
    // behind one another measure the slowest stage by their gap, in the second round trip: the window then goes at once
    // to the product for that rate (on a LAN a chunk or a few), if that is within startup_jump_limit times the
    // startup's window, and grows on from that limit otherwise (the limit, because a gap measured while few chunks are
    // under way can promise more than the ends keep up once they share a machine: 2 to 3 times more, measured here).
    // The jump comes before that chunk's own round trip is sampled: it waited in the queue, and would end the startup
    // with the rates from before the queue. The startup also ends when the path shows full: a round trip queue_ratio
    // over the shortest (a queue formed), an end busy for saturated_share of a round, or the best rate grew by less
    // than a quarter for three rounds; then it drops at once to what the delivery rates ask for.
    // Until that gap is measured, what it grants is held at gap_chunks, the two a gap needs. On loopback or a LAN
    // the product is about a chunk, and the three and five chunks tripling granted there stood in a queue (issue 18
    // bounds what is in flight by twice the product and a chunk; the bench saw 3 to 5 MiB at 0 ms). The first round
    // trip cannot tell a short path from a long one (there it took 5 to 7 ms, against 0.3 ms later), so the hold is
    // for every path: over a long one the third chunk comes a gap after the second either way, and the jump's limit
    // counts from startup_window_, which grows on while the grants are held (the window tripling would have had).
    static constexpr std::uint64_t gap_chunks = 2;
    bool starting_ = true;
    bool sized_by_gap_ = false; ///< The gap between two chunks has sized the window once.
    std::uint64_t startup_window_ = 0;
    static constexpr std::uint64_t startup_growth = 2;
    static constexpr std::uint64_t startup_jump_limit = 6;
    double full_rate_ = 0;
    unsigned rounds_without_growth_ = 0;

    // After startup, once a round:
    // - an end busy for saturated_share of the round sets the rate: the window goes to what keeps that end busy,
    //   its own rate times the path's part of the round trip (on a LAN, where the ends' time is all of it, that is
    //   one chunk: stop-and-wait), shrinking by at most an eighth a round;
    // - else a queue on the path (the round's shortest round trip queue_ratio over the shortest of all, and
    //   queue_floor) holds it at the product (below) for the best rate;
    // - else it may grow to that; and over a round trip of min_round or more where the ends' time for a chunk is
    //   under probe_share of it, by a quarter and a chunk each round anyway, up to twice the product of the round's
    //   own rate and a chunk (BBR's bound): the window limits the rate there, and at a window of a chunk or two the
    //   product of the delivery rate is that window again, so a window that a stall brought down would not grow back.
    // The gain is 1.25, not BBR's 2: without pacing, the second product would stand as a queue at the busy end
    // (measured here at 0 ms: 0.84 of window 1's rate with 2, 0.96 with 1.25).
    static constexpr double saturated_share = 0.7;
    static constexpr double window_gain = 1.25;
    static constexpr double queue_ratio = 1.25;
    static constexpr auto queue_floor = std::chrono::milliseconds(1);
    static constexpr double probe_share = 0.25;
    std::uint64_t target_ = 0; ///< The window after startup, bytes.
    void new_round(steady_time now);
    /// The startup is over: the window becomes `wanted`, never more than it is now.
    void leave_startup(std::uint64_t wanted);
    /// What keeps a path of `rate` (bytes/s) full: window_gain times what it moves in the shortest round trip less
    /// a chunk's own time at top_rate_ (the path's delay), in whole chunks, plus a chunk: bytes. One chunk on
    /// loopback, where a chunk's own time is all of the round trip.
    std::uint64_t product(double rate) const;
    /// The path's part of the shortest round trip: what is left of it after `chunk_seconds` (a chunk's own time at
    /// the ends or the slowest stage), never less than 0. Seconds.
    double path_seconds(double chunk_seconds) const;
    /// The best delivery rate of the last rounds_kept rounds, bytes/s.
    double best_delivery_rate() const;
    /// The product for the best delivery rate of the last rounds_kept rounds.
    std::uint64_t wanted_window() const;
    /// A gap in the startup measured the slowest stage: the window goes to `by_gap`, its product, or towards it by
    /// at most startup_jump_limit times.
    void jump_to(std::uint64_t by_gap);
};

} // namespace p2p::core
