// SPDX-License-Identifier: MIT
// rate_figures.hpp - what a download measured about its own rate, stage by stage, and what limited it.
#pragma once

#include <cstdint>
#include <string>

namespace p2p {

/// Measured while the bytes came, from the first grant of credit to the last byte (see docs/performance.md).
struct rate_figures {
    double seconds = 0;       ///< Receiving time.
    std::uint64_t bytes = 0;  ///< Received in that time.
    double holder_busy = 0;   ///< Seconds the holder spent reading and sending them (its CHUNKs' holder-busy).
    double receiver_busy = 0; ///< Seconds this peer spent writing and hashing them.
    double min_rtt = 0;       ///< Shortest credit-to-chunk time seen, seconds: the round trip with no queue.
    double avg_rtt = 0;       ///< Smoothed credit-to-chunk time at the end, seconds (grows when a queue builds).
    bool auto_window = true;
    std::uint64_t window = 0;         ///< Bytes of credit at the end.
    std::uint64_t peak_in_flight = 0; ///< Most bytes granted and not yet received at any time.
    bool window_capped = false;       ///< An auto window reached its largest (max_window_bytes).
    double full_after = 0; ///< Seconds from the first grant until an auto window left its startup (0: it did not).
};

/// The one stage that bounded the rate.
enum class rate_limit {
    unknown,    ///< Too short to tell, or no stage stood out.
    round_trip, ///< The window: all of it in flight every round trip, and no queue on the way.
    holder,     ///< The holder was busy reading and sending most of the time.
    receiver,   ///< This peer was busy writing and hashing most of the time.
    link,       ///< Bytes queued on the way: the path's rate (a rate limit, a slow link).
};

struct limit_finding {
    rate_limit by = rate_limit::unknown;
    std::string text;      ///< One line for people, with its evidence ("the round trip: 50.2 ms with ...").
    bool measured = false; ///< Received long enough to tell (min_seconds_to_tell); else "too short to tell".
};

/// Less receiving time than this tells nothing about a rate: a few round trips, a burst into socket buffers.
inline constexpr double min_seconds_to_tell = 0.1;

/// Names the limit from the figures: a stage busy at least half the time, else a queue on the way (the link), else
/// the window (the round trip).
limit_finding name_limit(const rate_figures& f);

/// "round_trip", "holder", ...: the name in --json.
const char* rate_limit_name(rate_limit by);

} // namespace p2p
