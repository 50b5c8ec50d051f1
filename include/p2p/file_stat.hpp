// SPDX-License-Identifier: MIT
// file_stat.hpp - what identifies one version of a file's content on disk, without reading it.
#pragma once

#include <sys/stat.h>

#include <cstdint>

namespace p2p {

/// What identifies one version of a file's content without reading it.
struct file_stat {
    std::uint64_t size = 0;    ///< st_size.
    std::uint64_t device = 0;  ///< st_dev.
    std::uint64_t inode = 0;   ///< st_ino.
    std::int64_t mtime_ns = 0; ///< st_mtim in nanoseconds since the epoch.
    std::int64_t ctime_ns = 0; ///< st_ctim in ns: moves on any write or metadata change; cannot be set back.
    /// The fields of a stat(2) result.
    static file_stat of(const struct ::stat& st);
    friend bool operator==(const file_stat&, const file_stat&) = default;
};

} // namespace p2p
