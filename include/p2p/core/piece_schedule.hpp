// SPDX-License-Identifier: MIT
// core/piece_schedule.hpp - which bytes of a file each holder brings when a download takes pieces from several
// holders at once: the ranges nobody is fetching (the pool), and the rule by which a holder that ran out of work
// takes the far end of another's range so that both finish at the same time.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace p2p::core {

/// Bytes [begin, end) of a file.
struct byte_range {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::uint64_t size() const { return end - begin; }
    bool empty() const { return end <= begin; }
    friend bool operator==(const byte_range&, const byte_range&) = default;
};

/// What the schedule needs to know of a holder's lane to take work from it.
struct lane_position {
    std::uint64_t next = 0;    ///< The next byte it brings.
    std::uint64_t granted = 0; ///< It may have sent every byte below this already: those stay its own.
    std::uint64_t end = 0;     ///< The end of its range.
    double rate = 0;           ///< Bytes a second it delivers; 0 while not measured.
};

/// The part of `victim`'s range a lane delivering `thief_rate` bytes a second takes: from the piece boundary where
/// both would finish at the same time (each at its own rate; an unmeasured rate counts as the other's), never below
/// what the victim was granted, to the victim's end. Empty when that leaves nothing (less than the last piece), or
/// when the thief would need longer for it than the victim for all it has left (both rates measured).
/// Taking from the far end means the victim goes on as it is, and no byte is asked of two holders: the only bytes
/// that may come twice are none.
byte_range steal_range(const lane_position& victim, double thief_rate, std::uint32_t piece_size);

/// The seconds `lane` needs for what is left of its range that others may still take (past its grant), at its rate
/// (or `fallback_rate` while it has none).
double stealable_seconds(const lane_position& lane, double fallback_rate);

/// The bytes nobody fetches now: a holder that left, stalled or lied gave them back. Kept sorted and merged.
class range_pool {
public:
    void add(byte_range r);
    /// The lowest range, removed; nullopt when empty.
    std::optional<byte_range> take();
    bool empty() const { return ranges_.empty(); }
    std::uint64_t bytes() const;
    void clear() { ranges_.clear(); }

private:
    std::vector<byte_range> ranges_;
};

} // namespace p2p::core
