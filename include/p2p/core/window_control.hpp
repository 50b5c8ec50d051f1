// SPDX-License-Identifier: MIT
// core/window_control.hpp - the credit one download grants its holder: fixed, or sized from what it measures
// (BBR's rule: twice the best delivery rate times the shortest round trip, plus one chunk), and the figures that
// tell afterwards what limited the rate.
#pragma once

#include "p2p/core/time.hpp"
#include "p2p/rate_figures.hpp"
#include "p2p/window_setting.hpp"

#include <array>
#include <cstdint>
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
    /// The transfer starts (again) from `offset` (a REQUEST: the first, a new source's, a bad piece's): grants made
    /// so far are void.
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
    void resize();

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
    std::optional<std::uint64_t> holder_busy_first_; ///< The counter of this REQUEST's holder, at its first chunk...
    std::uint64_t holder_busy_last_ = 0;             ///< ...and at its last.
    std::uint64_t holder_busy_before_ = 0;           ///< Microseconds counted under earlier REQUESTs (other holders).
    std::chrono::nanoseconds receiver_busy_{0};

    // Round trips and rates, BBR's way: the shortest round trip of the last min_rtt_life, the best delivery rate
    // of the last rounds_kept round trips.
    static constexpr std::size_t rounds_kept = 10;
    static constexpr auto min_rtt_life = std::chrono::seconds(10);
    std::optional<std::chrono::nanoseconds> min_rtt_;
    steady_time min_rtt_at_{};
    double avg_rtt_ = 0; ///< Seconds, smoothed 1/8 per sample.
    std::array<double, rounds_kept> round_rates_{};
    std::size_t round_ = 0;
    steady_time round_start_{};
    bool capped_ = false;

    // Startup, as in TCP's slow start and BBR's startup: the window grows by every byte delivered (it doubles each
    // round trip, with no wait for a rate to be measured) until the path is full: the best rate grew by less than a
    // quarter for three round trips, or round trips grew half again over the shortest (a queue formed).
    bool starting_ = true;
    std::uint64_t startup_window_ = 0;
    double full_rate_ = 0;
    unsigned rounds_without_growth_ = 0;
    void new_round();
};

} // namespace p2p::core
