// SPDX-License-Identifier: MIT
// core/download_lane.hpp - one holder's part of a download: its transfer (REQUEST, OFFER, CHUNKs, ACKs), the
// range of bytes it brings now, its own credit window, and what it delivered. A download has one lane per holder
// it takes pieces from (download.hpp); each lane is in order within its range, as a transfer always is.
#pragma once

#include "p2p/core/time.hpp"
#include "p2p/core/window_control.hpp"
#include "p2p/merkle.hpp"
#include "p2p/peer_id.hpp"

#include <cstdint>
#include <optional>

namespace p2p::core {

struct download_lane {
    download_lane(peer_id holder_, std::uint32_t transfer_, window_setting setting, std::uint32_t chunk_size_,
                  std::uint64_t join_order_, steady_time now)
        : holder(holder_), transfer(transfer_), join_order(join_order_), window(setting, chunk_size_),
          chunk_size(chunk_size_), last_progress(now), last_request(now) {}

    peer_id holder;
    std::uint32_t transfer;   ///< This lane's transfer with the holder; every range it brings is a REQUEST of it.
    std::uint64_t join_order; ///< Lanes are reported in the order they joined.
    bool offered = false;     ///< The OFFER for the current REQUEST came: chunks are taken.
    window_control window;    ///< Its own: each holder's path and speed are its own.
    std::uint32_t chunk_size; ///< What it sends (its OFFER may say less than asked for).
    std::uint64_t begin = 0;  ///< Where the current REQUEST started.
    std::uint64_t next = 0;   ///< The next byte it brings.
    /// The end of its range; nullopt until the file's size is known (the first lane asks for everything).
    std::optional<std::uint64_t> end;
    std::uint64_t granted = 0;             ///< Every byte below this may be on its way: the schedule leaves them to it.
    leaf_hasher hasher;                    ///< The bytes of the piece `next` is in, below `next`.
    std::uint64_t written_back = 0;        ///< Bytes of its range from here to `next` are not yet handed to write-back.
    bool ack_held = false;                 ///< An ACK waits for the rate limit's tokens (--max-rate).
    steady_time last_progress;             ///< Last time a byte of it arrived or its holder answered.
    steady_time last_request;              ///< Last REQUEST sent (resent while unanswered).
    std::optional<steady_time> first_byte; ///< When its first chunk came: its rate is measured from there.
    std::uint64_t kept = 0;                ///< Bytes it sent that were kept.

    /// Bytes a second it delivered since its first chunk; 0 before it has a measure.
    double rate(steady_time now) const {
        if (!first_byte || now <= *first_byte || kept == 0) {
            return 0;
        }
        return static_cast<double>(kept) / std::chrono::duration<double>(now - *first_byte).count();
    }
    bool range_done() const { return end && next >= *end; }

    /// A chunk of `bytes` came at `now`: its gap to the one before feeds the recent pace.
    void arrived(std::uint64_t bytes, steady_time now) {
        if (last_arrival && bytes > 0) {
            const double sample =
                std::chrono::duration<double>(now - *last_arrival).count() / static_cast<double>(bytes);
            // Averaged over about the last eight chunks: chunks come in bursts, so one gap says little.
            seconds_per_byte = paced_chunks == 0 ? sample : seconds_per_byte + (sample - seconds_per_byte) / 8;
            ++paced_chunks;
        }
        last_arrival = now;
    }
    /// A REQUEST went: the wait for its first chunk is a round trip, not the holder's pace.
    void asked() { last_arrival.reset(); }
    /// Bytes a second over about its last eight chunks, so that a holder that slows down shows it at once (rate()
    /// averages since the first chunk); rate() until eight chunks have come.
    double recent_rate(steady_time now) const {
        if (paced_chunks < 8 || seconds_per_byte <= 0) {
            return rate(now);
        }
        return 1 / seconds_per_byte;
    }

private:
    std::optional<steady_time> last_arrival; ///< When its last chunk came, since the last REQUEST.
    double seconds_per_byte = 0;             ///< The recent pace (arrived()).
    unsigned paced_chunks = 0;               ///< Gaps measured.
};

} // namespace p2p::core
