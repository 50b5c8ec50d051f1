// SPDX-License-Identifier: MIT
// merkle.hpp - the BLAKE3 Merkle tree over a file's pieces: leaves, root, audit paths and range proofs.
//
// The definitions (docs/manifest.md, with test vectors):
//
//   leaf(piece)  = BLAKE3(0x00 || piece bytes)
//   node(l, r)   = BLAKE3(0x01 || l || r)
//   MTH({d0})    = d0                                   one leaf: the root is the leaf itself
//   MTH(D[0:n])  = node(MTH(D[0:k]), MTH(D[k:n]))       n > 1, k the largest power of two < n
//
// The tree shape is RFC 6962's (section 2.1): no padding, and no odd leaf is ever hashed alone. The leading byte
// separates leaves from inner nodes, so no piece can pass for a node and no node for a piece.
#pragma once

#include "p2p/blake3.hpp"
#include "p2p/digest.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace p2p {

/// The first byte of every hash input, one per kind of value (domain separation).
enum class merkle_domain : std::uint8_t {
    leaf = 0x00, ///< A piece's bytes.
    node = 0x01, ///< Two child hashes.
    file = 0x02, ///< A file's size, piece size and tree root (file_root, manifest.hpp).
};

/// Audit paths are at most this long: one sibling per level of a tree of up to 2^64 leaves.
inline constexpr std::size_t max_proof_length = 64;
/// Range proofs are at most this long: the siblings left of the range plus those right of it.
inline constexpr std::size_t max_range_proof_length = 2 * max_proof_length;

/// leaf(piece) = BLAKE3(0x00 || piece).
digest merkle_leaf(const void* piece, std::size_t size) noexcept;

/// leaf(piece) for a piece given in parts (read in several blocks): update() with its bytes in order, then
/// final(); reset() starts the next piece. Holds a BLAKE3 state; no allocation.
class leaf_hasher {
public:
    /// Ready for the first byte of a piece.
    leaf_hasher() noexcept;
    /// Appends bytes of the current piece.
    void update(const void* data, std::size_t size) noexcept;
    /// leaf() of the bytes given since construction or the last reset().
    digest final() const noexcept;
    /// Starts a new piece.
    void reset() noexcept;

private:
    blake3_hasher hasher_; ///< BLAKE3 state, the domain byte already in.
};

/// node(left, right) = BLAKE3(0x01 || left || right).
digest merkle_node(const digest& left, const digest& right) noexcept;

/// MTH of the leaves: the root of their tree. O(n) hashes, O(log n) memory.
/// Throws std::invalid_argument when leaves is empty (a file always has at least one piece).
digest merkle_root(std::span<const digest> leaves);

/// A whole tree kept in memory (every level, about 2n hashes), to answer proofs without rehashing.
class merkle_tree {
public:
    /// Builds the tree. Throws std::invalid_argument when leaves is empty.
    explicit merkle_tree(std::span<const digest> leaves);

    /// Number of leaves.
    std::uint64_t leaf_count() const noexcept { return levels_.front().size(); }
    /// MTH of all leaves.
    const digest& root() const noexcept { return levels_.back().front(); }
    /// The audit path of one leaf (RFC 6962 section 2.1.1): the sibling hashes from the leaf's level up to the
    /// root's children, nearest first; empty for a tree of one leaf. Throws std::out_of_range for a bad index.
    std::vector<digest> proof(std::uint64_t index) const;
    /// The proof of the `count` leaves from `first` on (docs/manifest.md, "Range proofs"): the roots of the
    /// subtrees outside the range that the range's own subtrees meet on the way to the root, in the order
    /// verify_leaves uses them. For one leaf it is exactly its audit path; for all leaves it is empty.
    /// Throws std::out_of_range when count is 0 or the range does not fit in the tree.
    std::vector<digest> range_proof(std::uint64_t first, std::uint64_t count) const;

private:
    /// MTH(D[begin:end)) of a subtree of the tree's own shape, read from the stored levels.
    const digest& subtree(std::uint64_t begin, std::uint64_t end) const;
    /// Appends the proof of [first, last) within the subtree D[begin:end).
    void add_range_proof(std::uint64_t begin, std::uint64_t end, std::uint64_t first, std::uint64_t last,
                         std::vector<digest>& out) const;

    /// levels_[0] are the leaves; levels_[h][i] = MTH(D[i*2^h : min((i+1)*2^h, n))); the last level is the root.
    std::vector<std::vector<digest>> levels_;
};

/// True when `leaf` is leaf number `index` of the tree of `leaf_count` leaves whose MTH is `tree_root`, by its
/// audit path. False for any index outside the tree, a path of the wrong length, or any hash that differs.
bool verify_leaf(const digest& tree_root, std::uint64_t leaf_count, std::uint64_t index, const digest& leaf,
                 std::span<const digest> path) noexcept;

/// True when `leaves` are the leaves number first, first+1, ... of the tree of `leaf_count` leaves whose MTH is
/// `tree_root`, by their range proof (merkle_tree::range_proof). With all the leaves of the tree the proof is
/// empty and this recomputes the root. False for an empty or out-of-range page, a proof of the wrong length, or
/// any hash that differs.
bool verify_leaves(const digest& tree_root, std::uint64_t leaf_count, std::uint64_t first,
                   std::span<const digest> leaves, std::span<const digest> proof) noexcept;

} // namespace p2p
