// SPDX-License-Identifier: MIT
// download_pipeline.hpp - which of several files `get` (or the menu's choice 3 with a folder) starts next, and which
// results it may print now.
//
// Many small files go fast only when several requests are in flight: one at a time, each file waits a round trip
// and its own sync to disk. But the output stays in request order (file i is printed only once files 0..i-1 are),
// so a script reading it sees the same lines as when the files came one after the other. This class holds no
// download and no clock: it is told what started and what finished, and says what to do next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace p2p::cli {

/// How many downloads `get` keeps in flight at once: enough to hide the round trip and batch the syncs of small
/// files (a 10 KiB file waits for a round trip, a write, a sync and a rename: with 16 in flight the waits, not the
/// work, set the pace), few enough that a big folder does not open thousands of partial files at once. A holder
/// serves as many to one peer (peer_options::max_uploads_per_peer).
constexpr std::size_t max_downloads_in_flight = 64;
/// ...and at most this many bytes of files at once (one file always may go): a large file gains nothing from
/// company, as one already fills the link, while a dozen written at once scatter on disk.
constexpr std::uint64_t max_bytes_in_flight = 64ULL << 20;

class download_pipeline {
public:
    /// `files` files, numbered 0..files-1 in request order; at most `limit` (at least 1) in flight at once (files of
    /// size 0 each, so no byte budget holds them back).
    download_pipeline(std::size_t files, std::size_t limit);
    /// Files of these sizes: also at most `byte_budget` bytes of them in flight, except that one file always may be.
    download_pipeline(std::vector<std::uint64_t> sizes, std::size_t limit, std::uint64_t byte_budget);

    /// The file to start now, marked in flight; nullopt when a limit is reached, none is left, or after stop().
    std::optional<std::size_t> start_next();
    /// File `index` (in flight) finished, whatever its outcome.
    void finish(std::size_t index);
    /// Start no more files (a stop signal): those in flight still finish.
    void stop();

    /// The finished files that may be reported now, in request order: each one not taken yet whose files before it
    /// were all taken. Each index is returned once.
    std::vector<std::size_t> take_ready();
    /// Every finished file not taken yet, in request order, gaps or not: what is left to report once nothing will
    /// fill the gaps (after a stop).
    std::vector<std::size_t> take_finished();

    /// The first file not taken yet (files() when all were): where a stopped run ended.
    std::size_t first_not_taken() const;
    std::size_t files() const { return state_.size(); }
    std::size_t in_flight() const { return in_flight_; }
    std::size_t finished() const { return finished_; }
    /// Nothing is in flight and nothing more will start.
    bool idle() const { return in_flight_ == 0 && (stopped_ || next_ == state_.size()); }

private:
    enum class state { waiting, in_flight, finished, taken };

    std::vector<state> state_;
    std::vector<std::uint64_t> sizes_; ///< One per file; all 0 when sizes do not count.
    std::size_t limit_;
    std::uint64_t byte_budget_ = 0;
    std::uint64_t bytes_in_flight_ = 0;
    std::size_t next_ = 0;      ///< The next file to start.
    std::size_t in_flight_ = 0; ///< Started, not finished.
    std::size_t finished_ = 0;  ///< Finished (taken or not).
    std::size_t reported_ = 0;  ///< Files 0..reported_-1 are all taken.
    bool stopped_ = false;
};

} // namespace p2p::cli
