// SPDX-License-Identifier: MIT
// manifest_store.hpp - manifests kept on disk in <folder>/.p2p/manifests/, so a restarted holder rehashes nothing.
#pragma once

#include "p2p/digest.hpp"
#include "p2p/file_stat.hpp"
#include "p2p/manifest.hpp"
#include "p2p/unique_fd.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace p2p {

/// One version of one file of the folder: what an entry of the store is for.
struct stored_file {
    std::string_view name; ///< Name in the folder (a relative path, "sub/a.txt").
    file_stat stat;        ///< Its stat when its manifest was built.
};

/// The manifests of a folder's files, one file each in <folder>/.p2p/manifests/ (0700), named by the hex of a
/// BLAKE3 key of (name, size, mtime_ns, inode, ctime_ns, device): a file that changes in any of these gets a new
/// key, so an entry is never used for content it was not built from. Every open is an openat() relative to the
/// store's directory descriptor with O_NOFOLLOW; entries are written to a temporary file, fsynced, then renamed
/// over. Entries are checked when read (docs/manifest.md, "On disk"): a corrupt, foreign or oversized entry is
/// ignored, and replaced by the next store().
///
/// lookup() may run on several threads at once, and beside store(); prune() must not run beside store().
class manifest_store {
public:
    /// The largest entry file read: a header line, a key line and the largest manifest.
    static constexpr std::size_t max_entry_size = 256 + max_serialized_manifest_size;

    /// Opens the store of the folder whose directory descriptor is folder_fd (not kept), creating .p2p/ and
    /// .p2p/manifests/ (0700) when missing. Throws std::runtime_error (one line) when one of them is not a
    /// directory (a symlink included) or cannot be created or opened.
    explicit manifest_store(int folder_fd);

    /// The key of one version of one file: BLAKE3 of its name and stat fields (docs/manifest.md).
    static digest key(std::string_view name, const file_stat& stat);

    /// The stored manifest of `name` in exactly the state `stat`, when there is one, it parses, its root is the
    /// file root of its leaves, its size is stat.size and its piece size is `piece_size` (0: piece_size_for of the
    /// size). nullopt otherwise, for any reason: a missing entry, a symlink or other non-regular file in its
    /// place, one over max_entry_size, a short read, corruption. Never throws for what is on disk.
    std::optional<manifest> lookup(std::string_view name, const file_stat& stat, std::uint32_t piece_size = 0) const;

    /// Stores m as the manifest of `name` in the state `stat` (the stat taken before m was built), replacing any
    /// entry of that key. Throws std::invalid_argument when m.size is not stat.size or m is inconsistent, and
    /// std::runtime_error (one line) when writing fails (disk full, read-only folder...).
    void store(std::string_view name, const file_stat& stat, const manifest& m);

    /// Removes every entry that is not the entry of one of `present` (files deleted or changed since), and
    /// temporary files left by an interrupted store(); the number of files removed.
    std::size_t prune(std::span<const stored_file> present);

private:
    unique_fd dir_; ///< <folder>/.p2p/manifests
};

} // namespace p2p
