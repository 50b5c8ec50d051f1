// SPDX-License-Identifier: MIT
// progress_meter.hpp - how far a download is, or a set of them: a bar redrawn in place on a terminal, occasional
// lines elsewhere.
#pragma once

#include "console.hpp"

#include "p2p/event.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace p2p::cli {

class progress_meter {
public:
    /// Draws on `screen`: a bar when it is a terminal; else one plain line every few seconds when plain_lines.
    progress_meter(console& screen, bool plain_lines);

    /// A download_progress event arrived. With more than one holder, their shares are shown too.
    void update(const download_progress& progress);
    /// Several files are downloading (get of a folder): `done` of `files` have ended, and `bytes` of all their
    /// `size` bytes are in; `holders` is what each holder sent of them all (shown when more than one).
    void update_files(std::size_t done, std::size_t files, std::uint64_t bytes, std::uint64_t size,
                      const std::vector<holder_share>& holders = {});
    /// `get --continue` hashes a file already here to compare it with the holder's (`bytes` of `size` so far).
    void update_check(const std::string& name, std::uint64_t bytes, std::uint64_t size);
    /// The download ended: the bar is erased (the caller prints the result line).
    void finish();

private:
    using clock = std::chrono::steady_clock;

    /// Draws `bytes` of `size`: after `bar_label` on a terminal, as "<line_label>: ..." elsewhere; with the holders'
    /// shares when there are several.
    void show(const std::string& bar_label, const std::string& line_label, std::uint64_t bytes, std::uint64_t size,
              const std::vector<holder_share>& holders);

    console& screen_;
    bool plain_lines_;
    std::optional<clock::time_point> first_time_; ///< When the first progress event came...
    std::uint64_t first_bytes_ = 0;               ///< ...and how many bytes were in then: the rate counts from here.
    clock::time_point last_line_{};               ///< When the last plain line was printed.
};

} // namespace p2p::cli
