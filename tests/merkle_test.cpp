// SPDX-License-Identifier: MIT
// merkle_test.cpp - BLAKE3 known answers, the tree against its recursive definition, audit paths and range proofs.
#include "p2p/blake3.hpp"
#include "p2p/merkle.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace {

using p2p::digest;

/// The input of BLAKE3's official test vectors: bytes 0, 1, ..., 250, 0, 1, ...
std::vector<std::uint8_t> test_vector_input(std::size_t length) {
    std::vector<std::uint8_t> out(length);
    for (std::size_t i = 0; i < length; ++i) {
        out[i] = static_cast<std::uint8_t>(i % 251);
    }
    return out;
}

/// Distinct leaves for tree tests.
std::vector<digest> make_leaves(std::uint64_t n) {
    std::vector<digest> out;
    for (std::uint64_t i = 0; i < n; ++i) {
        out.push_back(p2p::merkle_leaf(&i, sizeof i));
    }
    return out;
}

/// The largest power of two below n (n > 1), written out the slow way.
std::size_t naive_split(std::size_t n) {
    std::size_t k = 1;
    while (k * 2 < n) {
        k *= 2;
    }
    return k;
}

/// node() written from its definition, without merkle_node.
digest naive_node(const digest& l, const digest& r) {
    std::vector<std::uint8_t> input{0x01};
    input.insert(input.end(), l.begin(), l.end());
    input.insert(input.end(), r.begin(), r.end());
    return p2p::blake3(input.data(), input.size());
}

/// MTH as RFC 6962 section 2.1 writes it.
digest naive_mth(const std::vector<digest>& d, std::size_t begin, std::size_t end) {
    if (end - begin == 1) {
        return d[begin];
    }
    const auto k = naive_split(end - begin);
    return naive_node(naive_mth(d, begin, begin + k), naive_mth(d, begin + k, end));
}

/// PATH(m, D[n]) as RFC 6962 section 2.1.1 writes it.
std::vector<digest> naive_path(const std::vector<digest>& d, std::size_t m, std::size_t begin, std::size_t end) {
    if (end - begin == 1) {
        return {};
    }
    const auto k = naive_split(end - begin);
    std::vector<digest> path;
    if (m < k) {
        path = naive_path(d, m, begin, begin + k);
        path.push_back(naive_mth(d, begin + k, end));
    } else {
        path = naive_path(d, m - k, begin + k, end);
        path.push_back(naive_mth(d, begin, begin + k));
    }
    return path;
}

digest flipped(digest d, std::size_t byte = 0) {
    d[byte] ^= 0x01;
    return d;
}

} // namespace

TEST_CASE("blake3 matches the official test vectors", "[merkle][blake3]") {
    // The first 32 bytes of "hash" in BLAKE3's test_vectors/test_vectors.json (lengths around chunk and SIMD
    // boundaries; 102400 bytes is 100 chunks, enough for the widest SIMD path).
    const std::vector<std::pair<std::size_t, std::string>> vectors{
        {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
        {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
        {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
        {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
        {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
        {2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
        {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
        {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
        {3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
        {4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"},
        {4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"},
        {5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"},
        {5121, "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff"},
        {6144, "3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205"},
        {6145, "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f"},
        {7168, "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a"},
        {7169, "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817"},
        {8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63"},
        {8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
        {16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"},
        {31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
        {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
    };
    for (const auto& [length, expected] : vectors) {
        CAPTURE(length);
        const auto input = test_vector_input(length);
        CHECK(p2p::to_hex(p2p::blake3(input.data(), input.size())) == expected);

        // Incrementally, in uneven parts, and again after a reset.
        p2p::blake3_hasher h;
        h.update("junk", 4);
        h.reset();
        for (std::size_t done = 0, part = 1; done < length; part = part * 3 + 1) {
            const auto n = std::min(part, length - done);
            h.update(input.data() + done, n);
            done += n;
        }
        CHECK(p2p::to_hex(h.final()) == expected);
        CHECK(h.final() == h.final()); // final() does not end the input
    }
}

TEST_CASE("merkle leaf and node are BLAKE3 with a domain byte", "[merkle]") {
    const std::string piece = "abc";
    const std::string leaf_input = std::string(1, '\0') + piece;
    CHECK(p2p::merkle_leaf(piece.data(), piece.size()) == p2p::blake3(leaf_input.data(), leaf_input.size()));
    CHECK(p2p::merkle_leaf(nullptr, 0) == p2p::blake3("\0", 1));

    p2p::leaf_hasher h;
    h.update("a", 1);
    h.update("bc", 2);
    CHECK(h.final() == p2p::merkle_leaf(piece.data(), piece.size()));
    h.reset();
    CHECK(h.final() == p2p::merkle_leaf(nullptr, 0));

    const auto l = p2p::merkle_leaf("l", 1);
    const auto r = p2p::merkle_leaf("r", 1);
    CHECK(p2p::merkle_node(l, r) == naive_node(l, r));
    CHECK(p2p::merkle_node(l, r) != p2p::merkle_node(r, l));
    // A node's input can never be taken for a leaf's: 0x01 || l || r hashed as a piece starts with 0x00.
    const std::string as_piece =
        std::string(1, '\1') + std::string(l.begin(), l.end()) + std::string(r.begin(), r.end());
    CHECK(p2p::merkle_leaf(as_piece.data(), as_piece.size()) != p2p::merkle_node(l, r));
}

TEST_CASE("merkle root matches the RFC 6962 definition for 1 to 70 leaves", "[merkle]") {
    for (std::uint64_t n = 1; n <= 70; ++n) {
        CAPTURE(n);
        const auto leaves = make_leaves(n);
        const auto expected = naive_mth(leaves, 0, leaves.size());
        CHECK(p2p::merkle_root(leaves) == expected);
        CHECK(p2p::merkle_tree(leaves).root() == expected);
        CHECK(p2p::merkle_tree(leaves).leaf_count() == n);
    }
    // One leaf: the root is the leaf itself. Three: no padding, the odd leaf joins at the top.
    const auto three = make_leaves(3);
    CHECK(p2p::merkle_root(std::span(three).first(1)) == three[0]);
    CHECK(p2p::merkle_root(three) == naive_node(naive_node(three[0], three[1]), three[2]));
}

TEST_CASE("merkle root of no leaves throws", "[merkle]") {
    CHECK_THROWS_AS(p2p::merkle_root({}), std::invalid_argument);
    CHECK_THROWS_AS(p2p::merkle_tree({}), std::invalid_argument);
}

TEST_CASE("merkle proofs are the RFC 6962 audit paths and every one verifies", "[merkle]") {
    for (std::uint64_t n = 1; n <= 70; ++n) {
        CAPTURE(n);
        const auto leaves = make_leaves(n);
        const p2p::merkle_tree tree(leaves);
        for (std::uint64_t i = 0; i < n; ++i) {
            CAPTURE(i);
            const auto path = tree.proof(i);
            CHECK(path == naive_path(leaves, i, 0, leaves.size()));
            CHECK(path.size() <= p2p::max_proof_length);
            CHECK(p2p::verify_leaf(tree.root(), n, i, leaves[i], path));
        }
        CHECK_THROWS_AS(tree.proof(n), std::out_of_range);
    }
}

TEST_CASE("merkle proofs fail when anything is altered", "[merkle]") {
    for (std::uint64_t n = 1; n <= 40; ++n) {
        CAPTURE(n);
        const auto leaves = make_leaves(n);
        const p2p::merkle_tree tree(leaves);
        for (std::uint64_t i = 0; i < n; ++i) {
            CAPTURE(i);
            const auto path = tree.proof(i);
            // Another leaf, another root.
            CHECK_FALSE(p2p::verify_leaf(tree.root(), n, i, flipped(leaves[i]), path));
            CHECK_FALSE(p2p::verify_leaf(flipped(tree.root(), 31), n, i, leaves[i], path));
            // Every other index of the same tree, and indexes outside it.
            for (std::uint64_t j = 0; j < n; ++j) {
                if (j != i) {
                    CHECK_FALSE(p2p::verify_leaf(tree.root(), n, j, leaves[i], path));
                }
            }
            CHECK_FALSE(p2p::verify_leaf(tree.root(), n, n, leaves[i], path));
            CHECK_FALSE(p2p::verify_leaf(tree.root(), n, UINT64_MAX, leaves[i], path));
            CHECK_FALSE(p2p::verify_leaf(tree.root(), 0, i, leaves[i], path));
            // Every element of the path altered, the path cut short, one hash too many, a sibling swapped.
            for (std::size_t k = 0; k < path.size(); ++k) {
                auto altered = path;
                altered[k] = flipped(altered[k], k % 32);
                CHECK_FALSE(p2p::verify_leaf(tree.root(), n, i, leaves[i], altered));
                CHECK_FALSE(p2p::verify_leaf(tree.root(), n, i, leaves[i], std::span(path).first(k)));
            }
            auto longer = path;
            longer.push_back(leaves[0]);
            CHECK_FALSE(p2p::verify_leaf(tree.root(), n, i, leaves[i], longer));
            if (path.size() >= 2) {
                auto swapped = path;
                std::swap(swapped[0], swapped[1]);
                CHECK_FALSE(p2p::verify_leaf(tree.root(), n, i, leaves[i], swapped));
            }
        }
    }
}

TEST_CASE("merkle range proofs verify every page of consecutive leaves", "[merkle]") {
    for (std::uint64_t n = 1; n <= 33; ++n) {
        CAPTURE(n);
        const auto leaves = make_leaves(n);
        const p2p::merkle_tree tree(leaves);
        CHECK(tree.range_proof(0, n).empty()); // all leaves: the root is recomputed from them alone
        CHECK(p2p::verify_leaves(tree.root(), n, 0, leaves, {}));
        for (std::uint64_t first = 0; first < n; ++first) {
            CHECK(tree.range_proof(first, 1) == tree.proof(first)); // one leaf: its audit path
            for (std::uint64_t count = 1; first + count <= n; ++count) {
                CAPTURE(first, count);
                const auto page = std::span(leaves).subspan(first, count);
                const auto proof = tree.range_proof(first, count);
                CHECK(proof.size() <= p2p::max_range_proof_length);
                CHECK(p2p::verify_leaves(tree.root(), n, first, page, proof));

                // Any leaf of the page or element of the proof altered, the page moved, shortened or lengthened,
                // the proof shortened or lengthened: refused.
                for (std::size_t k = 0; k < count; ++k) {
                    std::vector<digest> altered(page.begin(), page.end());
                    altered[k] = flipped(altered[k]);
                    CHECK_FALSE(p2p::verify_leaves(tree.root(), n, first, altered, proof));
                }
                for (std::size_t k = 0; k < proof.size(); ++k) {
                    auto altered = proof;
                    altered[k] = flipped(altered[k]);
                    CHECK_FALSE(p2p::verify_leaves(tree.root(), n, first, page, altered));
                    CHECK_FALSE(p2p::verify_leaves(tree.root(), n, first, page, std::span(proof).first(k)));
                }
                auto longer = proof;
                longer.push_back(leaves[0]);
                CHECK_FALSE(p2p::verify_leaves(tree.root(), n, first, page, longer));
                if (first + count < n) {
                    CHECK_FALSE(p2p::verify_leaves(tree.root(), n, first + 1, page, proof));
                }
                if (count > 1) {
                    CHECK_FALSE(p2p::verify_leaves(tree.root(), n, first, page.first(count - 1), proof));
                }
                CHECK_FALSE(p2p::verify_leaves(tree.root(), n, first, {}, proof));
            }
        }
        CHECK_THROWS_AS(tree.range_proof(0, 0), std::out_of_range);
        CHECK_THROWS_AS(tree.range_proof(0, n + 1), std::out_of_range);
        CHECK_THROWS_AS(tree.range_proof(n, 1), std::out_of_range);
    }
}

TEST_CASE("merkle verification of a huge claimed tree stays bounded", "[merkle]") {
    // A peer may claim any leaf count: verification walks at most 64 levels and never allocates per leaf.
    const auto leaves = make_leaves(1);
    CHECK_FALSE(p2p::verify_leaf(leaves[0], UINT64_MAX, UINT64_MAX / 2, leaves[0], std::vector<digest>(64, leaves[0])));
    CHECK_FALSE(p2p::verify_leaves(leaves[0], UINT64_MAX, 0, leaves, std::vector<digest>(200, leaves[0])));
    // The last of 2^64 - 1 leaves sits 63 levels down, below 63 left siblings: its path can be checked.
    const std::vector<digest> path(63, leaves[0]);
    digest root = leaves[0];
    for (const auto& sibling : path) {
        root = naive_node(sibling, root);
    }
    CHECK(p2p::verify_leaf(root, UINT64_MAX, UINT64_MAX - 1, leaves[0], path));
    CHECK_FALSE(p2p::verify_leaf(root, UINT64_MAX, UINT64_MAX - 2, leaves[0], path));
}
