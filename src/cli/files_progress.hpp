// SPDX-License-Identifier: MIT
// files_progress.hpp - how far a set of downloads is, summed for the one meter of them all (`get` of several files,
// the menu's choice 3 with a folder).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace p2p::cli {

class files_progress {
public:
    /// Files of these sizes (0 where not known yet), none of their bytes in.
    explicit files_progress(std::vector<std::uint64_t> sizes) : sizes_(std::move(sizes)), held_(sizes_.size(), 0) {
        for (const auto size : sizes_) {
            total_ += size;
        }
    }

    /// File i now holds `bytes` of `size`: as its progress says, or at its end (one that did not arrive is 0 of 0,
    /// and leaves the total).
    void set(std::size_t i, std::uint64_t bytes, std::uint64_t size) {
        total_ = total_ - sizes_[i] + size;
        bytes_in_ = bytes_in_ - held_[i] + bytes;
        sizes_[i] = size;
        held_[i] = bytes;
    }

    /// File i's size as last told (listed, then as its download said).
    std::uint64_t size_of(std::size_t i) const { return sizes_[i]; }
    std::uint64_t bytes_in() const { return bytes_in_; }
    /// Of the files that arrived or may still; never less than the bytes in.
    std::uint64_t total() const { return std::max(total_, bytes_in_); }

private:
    std::vector<std::uint64_t> sizes_;
    std::vector<std::uint64_t> held_;
    std::uint64_t total_ = 0;
    std::uint64_t bytes_in_ = 0;
};

} // namespace p2p::cli
