// SPDX-License-Identifier: MIT
// manifest.hpp - a file addressed by content: its pieces, their BLAKE3 leaves and its root (docs/manifest.md).
//
// A file of `size` bytes is cut into pieces of `piece_size` bytes (a power of two; the last piece may be shorter;
// an empty file has one empty piece). Its id is
//
//   file_root = BLAKE3(0x02 || u64le(size) || u32le(piece_size) || MTH(leaves))
//
// so the id commits to the size and the piece size as well as to the bytes.
#pragma once

#include "p2p/digest.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p {

/// The smallest piece the piece size rule picks.
inline constexpr std::uint32_t default_piece_size = 1u << 20;
/// The smallest piece a manifest may have at all (manifests with pieces below 1 MiB are for tests).
inline constexpr std::uint32_t min_piece_size = 1u << 10;
/// The largest piece: the largest power of two of the u32 in file_root.
inline constexpr std::uint32_t max_piece_size = 1u << 31;
/// The most pieces a manifest may have, so that its leaves take at most 1 MiB.
inline constexpr std::uint64_t max_piece_count = 32768;
/// The largest file that has a manifest: 32768 pieces of 2 GiB, 64 TiB.
inline constexpr std::uint64_t max_file_size = max_piece_count * max_piece_size;
/// The longest serialize_manifest output: the text header (under 4 KiB) and 32768 leaves.
inline constexpr std::size_t max_serialized_manifest_size = 4096 + max_piece_count * sizeof(digest);

/// The piece size rule: the smallest power of two >= 1 MiB that cuts the file into at most 32768 pieces
/// (1 GiB: 1 MiB, 100 GiB: 4 MiB, 1 TiB: 32 MiB). Throws std::length_error above max_file_size.
std::uint32_t piece_size_for(std::uint64_t file_size);

/// ceil(file_size / piece_size), and 1 for an empty file. piece_size must not be 0.
std::uint64_t piece_count_for(std::uint64_t file_size, std::uint32_t piece_size) noexcept;

/// BLAKE3(0x02 || u64le(file_size) || u32le(piece_size) || tree_root): the file's id.
digest file_root(std::uint64_t file_size, std::uint32_t piece_size, const digest& tree_root) noexcept;

/// Bytes [offset, offset + length) of a file.
struct byte_range {
    std::uint64_t offset = 0; ///< First byte.
    std::uint64_t length = 0; ///< Number of bytes; 0 only for the one piece of an empty file.
    friend bool operator==(const byte_range&, const byte_range&) = default;
};

/// A file's pieces and id.
struct manifest {
    std::uint64_t size = 0;       ///< File size in bytes.
    std::uint32_t piece_size = 0; ///< Bytes per piece (the last one may be shorter).
    std::vector<digest> leaves;   ///< leaf(piece i) for every piece, in order.
    digest root{};                ///< file_root(size, piece_size, MTH(leaves)): the file's id.

    /// Number of pieces (= leaves).
    std::uint64_t piece_count() const noexcept { return leaves.size(); }
    /// Where piece `index` is in the file. Throws std::out_of_range past the last piece.
    byte_range piece_range(std::uint64_t index) const;
    /// True when the piece size is a power of two within the limits, the number of leaves is the piece count of
    /// the size, and root is the file root of the leaves. O(pieces) hashes.
    bool is_consistent() const;

    friend bool operator==(const manifest&, const manifest&) = default;
};

/// Reads `size` bytes at `offset` into `into`, as pread(2): the number read (0 at end of file), or -1 with errno set.
using read_at_function = std::function<ssize_t(void* into, std::size_t size, std::uint64_t offset)>;

/// How build_manifest works.
struct manifest_build_options {
    /// 0: piece_size_for(size). Otherwise a power of two from min_piece_size to max_piece_size (tests).
    std::uint32_t piece_size = 0;
    /// Bytes per read: a power of two of at least 4 KiB. Blocks start at multiples of it, so they never straddle a
    /// piece boundary. One buffer of this size (page-aligned) is allocated per build, or less for a smaller file.
    std::size_t block_size = 1u << 20;
    /// Checked before each block: when it reads true, the build stops and returns nullopt.
    const std::atomic<bool>* cancel = nullptr;
    /// Called after each block with the number of bytes hashed so far (the last call has the file size).
    std::function<void(std::uint64_t bytes_done)> progress;
};

/// The manifest of the first `size` bytes of the open file `fd`, read with pread in blocks, each byte once. Holes
/// (lseek SEEK_DATA/SEEK_HOLE) are not read: a whole piece in a hole gets the leaf of a piece of zeros, hashed once,
/// and a block in a hole is hashed from zeros. The descriptor's offset is moved by lseek and put back after.
/// Returns nullopt when cancelled. Throws std::runtime_error (one line) when a read fails or the file ends before
/// `size` bytes (it shrank meanwhile), std::length_error when size is over max_file_size or the chosen piece size
/// gives more than max_piece_count pieces, std::invalid_argument for a bad piece or block size. Bytes appended
/// meanwhile are not read: compare the file's stat before and after to know the manifest is of the file as it is.
std::optional<manifest> build_manifest(int fd, std::uint64_t size, const manifest_build_options& options = {});

/// The same over any source of bytes, which is read in full (no hole is known): tests count what is read.
std::optional<manifest> build_manifest(const read_at_function& read_at, std::uint64_t size,
                                       const manifest_build_options& options = {});

/// The manifest as bytes, for the manifest store (docs/manifest.md, "On disk"): a text header of five lines
/// ("p2p-manifest 1", size, piece-size, pieces, root) followed by the leaves, 32 raw bytes each.
std::string serialize_manifest(const manifest& m);

/// The manifest serialize_manifest wrote, or nullopt for anything else: a wrong magic or version, a field that is
/// missing, out of bounds, not in its one canonical spelling, or inconsistent with another, missing or extra
/// bytes, or a root that is not the file root of the leaves. Never throws on bad input; reads at most `bytes`.
std::optional<manifest> parse_manifest(std::string_view bytes);

} // namespace p2p
