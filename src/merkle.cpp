// SPDX-License-Identifier: MIT
// merkle.cpp - RFC 6962 tree shape over BLAKE3 leaves and nodes.
#include "p2p/merkle.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <optional>
#include <stdexcept>

namespace p2p {

namespace {

/// The split point of a subtree of n > 1 leaves: the largest power of two below n.
std::uint64_t split_of(std::uint64_t n) {
    return std::bit_floor(n - 1);
}

/// Recomputes the root of a tree from a page of its leaves and the page's range proof, consuming the proof in the
/// order merkle_tree::add_range_proof wrote it. Recursion depth is at most 64 (one per level).
class range_verifier {
public:
    range_verifier(std::uint64_t first, std::span<const digest> leaves, std::span<const digest> proof)
        : first_(first), leaves_(leaves), proof_(proof) {}

    /// MTH(D[begin:end)), given that the page [first, last) lies within it; nullopt when the proof runs out.
    std::optional<digest> root_of(std::uint64_t begin, std::uint64_t end, std::uint64_t first, std::uint64_t last) {
        if (first == begin && last == end) {
            return merkle_root(leaves_.subspan(first - first_, last - first));
        }
        const std::uint64_t mid = begin + split_of(end - begin);
        std::optional<digest> left;
        std::optional<digest> right;
        if (last <= mid) {
            left = root_of(begin, mid, first, last);
            right = next();
        } else if (first >= mid) {
            right = root_of(mid, end, first, last);
            left = next();
        } else {
            left = root_of(begin, mid, first, mid);
            right = left ? root_of(mid, end, mid, last) : std::nullopt;
        }
        if (!left || !right) {
            return std::nullopt;
        }
        return merkle_node(*left, *right);
    }

    /// True when every element of the proof was used.
    bool used_all() const { return used_ == proof_.size(); }

private:
    std::optional<digest> next() {
        if (used_ == proof_.size()) {
            return std::nullopt;
        }
        return proof_[used_++];
    }

    std::uint64_t first_;            ///< Leaf number of leaves_[0].
    std::span<const digest> leaves_; ///< The page.
    std::span<const digest> proof_;  ///< Its proof...
    std::size_t used_ = 0;           ///< ...and how much of it is consumed.
};

} // namespace

digest merkle_leaf(const void* piece, std::size_t size) noexcept {
    leaf_hasher h;
    h.update(piece, size);
    return h.final();
}

leaf_hasher::leaf_hasher() noexcept {
    reset();
}

void leaf_hasher::update(const void* data, std::size_t size) noexcept {
    hasher_.update(data, size);
}

digest leaf_hasher::final() const noexcept {
    return hasher_.final();
}

void leaf_hasher::reset() noexcept {
    hasher_.reset();
    const auto domain = static_cast<std::uint8_t>(merkle_domain::leaf);
    hasher_.update(&domain, 1);
}

digest merkle_node(const digest& left, const digest& right) noexcept {
    std::array<std::uint8_t, 1 + 2 * std::tuple_size_v<digest>> input{};
    input[0] = static_cast<std::uint8_t>(merkle_domain::node);
    std::copy(left.begin(), left.end(), input.begin() + 1);
    std::copy(right.begin(), right.end(), input.begin() + 1 + left.size());
    return blake3(input.data(), input.size());
}

digest merkle_root(std::span<const digest> leaves) {
    if (leaves.empty()) {
        throw std::invalid_argument("a Merkle tree needs at least one leaf");
    }
    // The roots of the perfect subtrees completed so far, largest first: one per set bit of the count. Leaf i
    // completes as many merges as i has trailing one bits. At the end they are folded from the right, which is
    // the RFC 6962 shape (n = 7 = 4 + 2 + 1 gives node(P4, node(P2, L6))).
    std::array<digest, 65> stack{};
    std::size_t depth = 0;
    for (std::uint64_t i = 0; i < leaves.size(); ++i) {
        stack[depth++] = leaves[i];
        for (std::uint64_t bits = i; (bits & 1) != 0; bits >>= 1) {
            stack[depth - 2] = merkle_node(stack[depth - 2], stack[depth - 1]);
            --depth;
        }
    }
    digest root = stack[--depth];
    while (depth > 0) {
        root = merkle_node(stack[--depth], root);
    }
    return root;
}

merkle_tree::merkle_tree(std::span<const digest> leaves) {
    if (leaves.empty()) {
        throw std::invalid_argument("a Merkle tree needs at least one leaf");
    }
    levels_.emplace_back(leaves.begin(), leaves.end());
    // An odd last node moves up a level unhashed: the level-by-level form of the RFC 6962 split, so that
    // levels_[h][i] is always the MTH of the leaves [i*2^h, min((i+1)*2^h, n)).
    while (levels_.back().size() > 1) {
        const auto& below = levels_.back();
        std::vector<digest> above;
        above.reserve((below.size() + 1) / 2);
        for (std::size_t i = 0; i + 1 < below.size(); i += 2) {
            above.push_back(merkle_node(below[i], below[i + 1]));
        }
        if (below.size() % 2 == 1) {
            above.push_back(below.back());
        }
        levels_.push_back(std::move(above));
    }
}

const digest& merkle_tree::subtree(std::uint64_t begin, std::uint64_t end) const {
    // Every subtree of the RFC 6962 split starts at a multiple of 2^h, where 2^h is its size rounded up to a power
    // of two, and either has 2^h leaves or ends at the last leaf: exactly the span of levels_[h][begin >> h].
    const auto height = static_cast<std::size_t>(std::bit_width(end - begin - 1));
    assert(begin % (std::uint64_t{1} << height) == 0);
    return levels_[height][begin >> height];
}

void merkle_tree::add_range_proof(std::uint64_t begin, std::uint64_t end, std::uint64_t first, std::uint64_t last,
                                  std::vector<digest>& out) const {
    if (first == begin && last == end) {
        return;
    }
    const std::uint64_t mid = begin + split_of(end - begin);
    if (last <= mid) {
        add_range_proof(begin, mid, first, last, out);
        out.push_back(subtree(mid, end));
    } else if (first >= mid) {
        add_range_proof(mid, end, first, last, out);
        out.push_back(subtree(begin, mid));
    } else {
        add_range_proof(begin, mid, first, mid, out);
        add_range_proof(mid, end, mid, last, out);
    }
}

std::vector<digest> merkle_tree::proof(std::uint64_t index) const {
    if (index >= leaf_count()) {
        throw std::out_of_range("leaf " + std::to_string(index) + " of a tree of " + std::to_string(leaf_count()));
    }
    return range_proof(index, 1);
}

std::vector<digest> merkle_tree::range_proof(std::uint64_t first, std::uint64_t count) const {
    if (count == 0 || first >= leaf_count() || count > leaf_count() - first) {
        throw std::out_of_range("leaves " + std::to_string(first) + "+" + std::to_string(count) + " of a tree of " +
                                std::to_string(leaf_count()));
    }
    std::vector<digest> out;
    add_range_proof(0, leaf_count(), first, first + count, out);
    return out;
}

bool verify_leaf(const digest& tree_root, std::uint64_t leaf_count, std::uint64_t index, const digest& leaf,
                 std::span<const digest> path) noexcept {
    return verify_leaves(tree_root, leaf_count, index, std::span<const digest>(&leaf, 1), path);
}

bool verify_leaves(const digest& tree_root, std::uint64_t leaf_count, std::uint64_t first,
                   std::span<const digest> leaves, std::span<const digest> proof) noexcept {
    if (leaves.empty() || first >= leaf_count || leaves.size() > leaf_count - first ||
        proof.size() > max_range_proof_length) {
        return false;
    }
    range_verifier verifier(first, leaves, proof);
    const auto root = verifier.root_of(0, leaf_count, first, first + leaves.size());
    return root && verifier.used_all() && *root == tree_root;
}

} // namespace p2p
