// SPDX-License-Identifier: MIT
// manifest_test.cpp - piece size rule, file roots, build_manifest from files, the on-disk form, and the store.
#include "support.hpp"

#include "p2p/blake3.hpp"
#include "p2p/manifest.hpp"
#include "p2p/manifest_store.hpp"
#include "p2p/merkle.hpp"
#include "p2p/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>

namespace {

using p2p::digest;
using p2p::manifest;
using p2p::test::temp_dir;
using p2p::test::write_file;

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;
constexpr std::uint64_t TiB = 1024 * GiB;

/// Bytes i % 251, as BLAKE3's own test vectors (docs/manifest.md uses them too).
std::string pattern(std::size_t length) {
    std::string out(length, '\0');
    for (std::size_t i = 0; i < length; ++i) {
        out[i] = static_cast<char>(i % 251);
    }
    return out;
}

/// The file root written straight from docs/manifest.md: cut, leaf, RFC 6962 tree, file root.
digest naive_file_root(const std::string& data, std::uint32_t piece_size) {
    std::vector<digest> leaves;
    for (std::size_t offset = 0; offset < data.size() || leaves.empty(); offset += piece_size) {
        const auto piece = data.substr(offset, piece_size);
        const std::string input = std::string(1, '\0') + piece;
        leaves.push_back(p2p::blake3(input.data(), input.size()));
    }
    // Level by level, an odd last node moving up: the same tree as the RFC's recursive split.
    while (leaves.size() > 1) {
        std::vector<digest> up;
        for (std::size_t i = 0; i + 1 < leaves.size(); i += 2) {
            std::string input(1, '\1');
            input.append(reinterpret_cast<const char*>(leaves[i].data()), 32);
            input.append(reinterpret_cast<const char*>(leaves[i + 1].data()), 32);
            up.push_back(p2p::blake3(input.data(), input.size()));
        }
        if (leaves.size() % 2 == 1) {
            up.push_back(leaves.back());
        }
        leaves = up;
    }
    std::string input(1, '\2');
    for (int i = 0; i < 8; ++i) {
        input.push_back(static_cast<char>(static_cast<std::uint64_t>(data.size()) >> (8 * i)));
    }
    for (int i = 0; i < 4; ++i) {
        input.push_back(static_cast<char>(piece_size >> (8 * i)));
    }
    input.append(reinterpret_cast<const char*>(leaves[0].data()), 32);
    return p2p::blake3(input.data(), input.size());
}

/// A reader over a string that records every range it is asked for.
struct recording_reader {
    const std::string& data;
    std::vector<std::pair<std::uint64_t, std::size_t>> reads;

    p2p::read_at_function function() {
        return [this](void* into, std::size_t size, std::uint64_t offset) -> ssize_t {
            reads.emplace_back(offset, size);
            if (offset >= data.size()) {
                return 0;
            }
            const auto n = std::min<std::size_t>(size, data.size() - offset);
            std::memcpy(into, data.data() + offset, n);
            return static_cast<ssize_t>(n);
        };
    }
    /// True when the reads cover [0, size) exactly once, in order.
    bool read_each_byte_once(std::uint64_t size) const {
        std::uint64_t next = 0;
        for (const auto& [offset, length] : reads) {
            if (offset != next) {
                return false;
            }
            next += length;
        }
        return next == size;
    }
};

p2p::unique_fd open_read(const std::filesystem::path& path) {
    p2p::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd);
    return fd;
}

p2p::file_stat stat_of(int dir_fd, const std::string& name) {
    struct ::stat st {};
    REQUIRE(::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0);
    return p2p::file_stat::of(st);
}

manifest build(const std::string& data, std::uint32_t piece_size = 0, std::size_t block_size = 1 << 20) {
    recording_reader reader{data, {}};
    p2p::manifest_build_options options;
    options.piece_size = piece_size;
    options.block_size = block_size;
    auto m = p2p::build_manifest(reader.function(), data.size(), options);
    REQUIRE(m);
    CHECK(reader.read_each_byte_once(data.size()));
    return *m;
}

/// A field of /proc/self/status in KiB (VmRSS, VmHWM), or -1.
long status_kib(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(field + ":")) {
            return std::stol(line.substr(field.size() + 1));
        }
    }
    return -1;
}

double cpu_seconds(const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

} // namespace

TEST_CASE("manifest piece size rule keeps at most 32768 pieces of at least 1 MiB", "[manifest]") {
    const std::vector<std::pair<std::uint64_t, std::uint32_t>> table{
        {0, 1 * MiB},          {1 * KiB, 1 * MiB},      {1 * GiB, 1 * MiB},
        {32 * GiB, 1 * MiB},   {32 * GiB + 1, 2 * MiB}, {64 * GiB, 2 * MiB},
        {100 * GiB, 4 * MiB},  {1 * TiB, 32 * MiB},     {1 * TiB + 1, 64 * MiB},
        {16 * TiB, 512 * MiB}, {64 * TiB, 2048 * MiB},
    };
    for (const auto& [size, piece] : table) {
        CAPTURE(size);
        CHECK(p2p::piece_size_for(size) == piece);
        CHECK(p2p::piece_count_for(size, piece) <= p2p::max_piece_count);
        if (piece > p2p::default_piece_size) {
            CHECK(p2p::piece_count_for(size, piece / 2) > p2p::max_piece_count); // the smallest that fits
        }
    }
    CHECK_THROWS_AS(p2p::piece_size_for(64 * TiB + 1), std::length_error);
    CHECK(p2p::piece_count_for(0, 1024) == 1);
    CHECK(p2p::piece_count_for(1, 1024) == 1);
    CHECK(p2p::piece_count_for(1024, 1024) == 1);
    CHECK(p2p::piece_count_for(1025, 1024) == 2);
    CHECK(p2p::piece_count_for(UINT64_MAX, 1u << 31) == (std::uint64_t{1} << 33));
}

TEST_CASE("manifest file roots match the definition at piece boundaries", "[manifest]") {
    const std::uint32_t piece = 1024;
    for (std::size_t size :
         {0ul, 1ul, 1023ul, 1024ul, 1025ul, 2047ul, 2048ul, 2049ul, 5 * 1024ul + 7, 70 * 1024ul, 70 * 1024ul + 1}) {
        CAPTURE(size);
        const auto data = pattern(size);
        const auto expected = naive_file_root(data, piece);
        // Blocks of whole pieces, blocks within one piece (16 KiB pieces read 4 KiB at a time), one block.
        CHECK(build(data, piece, 4096).root == expected);
        CHECK(build(data, piece, 1 << 20).root == expected);
        if (size > 0) {
            CHECK(build(data, 16 * 1024, 4096).root == naive_file_root(data, 16 * 1024));
        }
        const auto m = build(data, piece);
        CHECK(m.piece_count() == p2p::piece_count_for(size, piece));
        CHECK(m.is_consistent());
    }
    // With the default rule (1 MiB pieces): one piece, a full one, and a short third piece.
    for (std::size_t size : {1 * MiB - 1, 1 * MiB, 1 * MiB + 1, 2 * MiB + 1}) {
        CAPTURE(size);
        const auto data = pattern(size);
        CHECK(build(data).root == naive_file_root(data, 1 << 20));
    }
}

TEST_CASE("manifest test vectors of docs/manifest.md", "[manifest]") {
    // Computed by tests/cli/manifest_ref.py (pure Python, its BLAKE3 checked against the official vectors).
    CHECK(p2p::to_hex(build("").root) == "11340eddde6e3fa7999559450c03552b15d19b0a92b72fa3a3cfaae239e9c1cb");
    CHECK(p2p::to_hex(build("").leaves.at(0)) == "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213");
    CHECK(p2p::to_hex(build("abc").root) == "34ddd2d43d21470e9b6f3dc64d673f3a98b4771ddaa64445b8abd70ef29f9f31");

    const auto big = build(pattern(2 * MiB + 1));
    REQUIRE(big.piece_count() == 3);
    CHECK(p2p::to_hex(big.leaves[0]) == "73db0356a24422b1baae505a5d9a1188cd5e52af2891ff276688c6c3db736f6d");
    CHECK(p2p::to_hex(big.leaves[1]) == "cfee8114a4739e19612ea0ff4c42bc1fee1d906f3e401ab245c422449f0656b1");
    CHECK(p2p::to_hex(big.leaves[2]) == "9e617021d5db83be8cf1b39bc957858787ca794d9b4e802a86d475f991551cab");
    CHECK(p2p::to_hex(p2p::merkle_root(big.leaves)) ==
          "b7d2403ab611177a0e2969c2ed8b0ceb31d4286c8844f7ce7b1496462b6bca05");
    CHECK(p2p::to_hex(big.root) == "9850ec8f80770aa3c0d6ae632483c8532c7c2b48a4e895bff67284a1ed1206a4");

    const auto small = build(pattern(5127), 1024);
    REQUIRE(small.piece_count() == 6);
    const p2p::merkle_tree tree(small.leaves);
    CHECK(p2p::to_hex(tree.root()) == "f1282a2aea6f6f5dc181ba9062bc89d762bf89514d6d23636fb71138e2f2fda5");
    CHECK(p2p::to_hex(small.root) == "7294984784a2d082940d55a57666da0b64fc765f382d50036df67d5f8a86a680");
    // Leaf 4's audit path: leaf 5, then MTH of leaves 0-3.
    const auto path = tree.proof(4);
    REQUIRE(path.size() == 2);
    CHECK(path[0] == small.leaves[5]);
    CHECK(p2p::to_hex(path[1]) == "6ec1e6817634ec0a82b60988e0a2a41eef360bf7713ec16856641aad176804ec");
    // Leaves 1-3: leaf 0, then node(leaf 4, leaf 5).
    const auto range = tree.range_proof(1, 3);
    REQUIRE(range.size() == 2);
    CHECK(range[0] == small.leaves[0]);
    CHECK(p2p::to_hex(range[1]) == "d96333759ba06dcd5e83f1432a5072650a9a1f70836c77f5a92895189f18bef8");
}

TEST_CASE("manifest piece ranges cover the file", "[manifest]") {
    const auto m = build(pattern(2500), 1024);
    CHECK(m.piece_range(0) == p2p::byte_range{0, 1024});
    CHECK(m.piece_range(1) == p2p::byte_range{1024, 1024});
    CHECK(m.piece_range(2) == p2p::byte_range{2048, 452});
    CHECK_THROWS_AS(m.piece_range(3), std::out_of_range);
    CHECK(build("").piece_range(0) == p2p::byte_range{0, 0});
}

TEST_CASE("manifest build from a file descriptor reads with pread", "[manifest]") {
    temp_dir dir;
    const auto data = pattern(3 * MiB + 12345);
    write_file(dir / "f", data);
    const auto fd = open_read(dir / "f");
    std::vector<std::uint64_t> progress;
    p2p::manifest_build_options options;
    options.progress = [&](std::uint64_t done) {
        progress.push_back(done);
    };
    const auto m = p2p::build_manifest(fd.get(), data.size(), options);
    REQUIRE(m);
    CHECK(m->root == naive_file_root(data, 1 << 20));
    CHECK(std::is_sorted(progress.begin(), progress.end()));
    CHECK(progress.size() == 4);
    CHECK(progress.back() == data.size());

    // A file shorter than the size claimed (it shrank while hashed): an error, not a manifest.
    CHECK_THROWS_AS(p2p::build_manifest(fd.get(), data.size() + 1), std::runtime_error);
    // A descriptor that cannot be read.
    CHECK_THROWS_AS(p2p::build_manifest(-1, 10), std::runtime_error);
}

TEST_CASE("manifest build of a sparse file skips its holes and hashes the same bytes", "[manifest]") {
    temp_dir dir;
    const auto path = dir / "sparse";
    const std::uint64_t size = 5 * MiB + 100;
    {
        const p2p::unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        REQUIRE(fd);
        REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
        // Data in the first piece, across the boundary of pieces 2 and 3, and at the very end; holes elsewhere.
        for (const auto& [offset, length] : std::vector<std::pair<std::uint64_t, std::size_t>>{
                 {20000, 10}, {3 * MiB - 5000, 70000}, {size - 50, 50}}) {
            const auto bytes = pattern(length);
            REQUIRE(::pwrite(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
                    static_cast<ssize_t>(bytes.size()));
        }
    }
    std::string data(size, '\0');
    {
        std::ifstream in(path, std::ios::binary);
        in.read(data.data(), static_cast<std::streamsize>(data.size()));
    }
    const auto fd = open_read(path);
    REQUIRE(::lseek(fd.get(), 1234, SEEK_SET) == 1234);
    for (std::uint32_t piece : {0u, 16u * 1024u}) {
        for (std::size_t block : {4096ul, 1ul << 20}) {
            CAPTURE(piece, block);
            p2p::manifest_build_options options;
            options.piece_size = piece;
            options.block_size = block;
            const auto m = p2p::build_manifest(fd.get(), size, options);
            REQUIRE(m);
            CHECK(m->root == naive_file_root(data, piece == 0 ? 1 << 20 : piece));
            CHECK(*m == build(data, piece, block));
        }
    }
    CHECK(::lseek(fd.get(), 0, SEEK_CUR) == 1234); // the descriptor's offset is put back

    // A hole to the end of the file that is shorter than claimed: still an error.
    CHECK_THROWS_AS(p2p::build_manifest(fd.get(), size + MiB), std::runtime_error);
}

TEST_CASE("manifest build refuses bad sizes", "[manifest]") {
    const auto nothing = [](void*, std::size_t, std::uint64_t) -> ssize_t {
        return 0;
    };
    p2p::manifest_build_options options;
    options.piece_size = 1000;
    CHECK_THROWS_AS(p2p::build_manifest(nothing, 10, options), std::invalid_argument);
    options.piece_size = 512;
    CHECK_THROWS_AS(p2p::build_manifest(nothing, 10, options), std::invalid_argument);
    options.piece_size = 1024;
    options.block_size = 1024;
    CHECK_THROWS_AS(p2p::build_manifest(nothing, 10, options), std::invalid_argument);
    options.block_size = 4096;
    CHECK_THROWS_AS(p2p::build_manifest(nothing, 32768 * 1024 + 1, options), std::length_error);
    CHECK_THROWS_AS(p2p::build_manifest(nothing, p2p::max_file_size + 1), std::length_error);
}

TEST_CASE("manifest build stops early when cancelled", "[manifest]") {
    const auto data = pattern(8 * MiB);
    recording_reader reader{data, {}};
    std::atomic<bool> cancel{false};
    p2p::manifest_build_options options;
    options.cancel = &cancel;
    options.progress = [&](std::uint64_t done) {
        if (done >= 2 * MiB) {
            cancel = true;
        }
    };
    CHECK_FALSE(p2p::build_manifest(reader.function(), data.size(), options).has_value());
    // Two blocks read, then the flag was seen before the third.
    CHECK(reader.reads.size() == 2);
}

TEST_CASE("manifest serialisation round trips", "[manifest]") {
    for (std::size_t size : {0ul, 1ul, 1024ul, 5127ul}) {
        const auto m = build(pattern(size), 1024);
        const auto bytes = p2p::serialize_manifest(m);
        const auto back = p2p::parse_manifest(bytes);
        REQUIRE(back);
        CHECK(*back == m);
    }
    const auto m = build(pattern(2500), 1024);
    const std::string header =
        "p2p-manifest 1\nsize 2500\npiece-size 1024\npieces 3\nroot " + p2p::to_hex(m.root) + "\n";
    CHECK(p2p::serialize_manifest(m).starts_with(header));
    CHECK(p2p::serialize_manifest(m).size() == header.size() + 3 * 32);
}

TEST_CASE("manifest parse refuses every truncation and corruption", "[manifest]") {
    const auto m = build(pattern(5127), 1024);
    const auto bytes = p2p::serialize_manifest(m);
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        CAPTURE(length);
        CHECK_FALSE(p2p::parse_manifest(std::string_view(bytes).substr(0, length)));
    }
    CHECK_FALSE(p2p::parse_manifest(bytes + '\0'));
    CHECK_FALSE(p2p::parse_manifest(bytes + bytes));
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        for (unsigned mask : {0x01u, 0x02u, 0x10u, 0x20u, 0x80u}) {
            CAPTURE(i, mask);
            auto corrupt = bytes;
            corrupt[i] = static_cast<char>(corrupt[i] ^ mask);
            CHECK_FALSE(p2p::parse_manifest(corrupt));
        }
    }
}

TEST_CASE("manifest parse refuses non-canonical and out-of-bounds headers", "[manifest]") {
    const auto m = build(pattern(2500), 1024);
    const auto good = p2p::serialize_manifest(m);
    const auto leaves = good.substr(good.size() - 3 * 32);
    const auto root = p2p::to_hex(m.root);
    const auto with = [&](const std::string& header) {
        return p2p::parse_manifest(header + leaves);
    };
    CHECK(with("p2p-manifest 1\nsize 2500\npiece-size 1024\npieces 3\nroot " + root + "\n"));
    CHECK_FALSE(with("p2p-manifest 2\nsize 2500\npiece-size 1024\npieces 3\nroot " + root + "\n"));
    CHECK_FALSE(with("p2p-manifest 1\nsize 02500\npiece-size 1024\npieces 3\nroot " + root + "\n"));
    CHECK_FALSE(with("p2p-manifest 1\nsize +2500\npiece-size 1024\npieces 3\nroot " + root + "\n"));
    CHECK_FALSE(with("p2p-manifest 1\nsize  2500\npiece-size 1024\npieces 3\nroot " + root + "\n"));
    CHECK_FALSE(with("p2p-manifest 1\nsize 2500 \npiece-size 1024\npieces 3\nroot " + root + "\n"));
    CHECK_FALSE(with("p2p-manifest 1\r\nsize 2500\npiece-size 1024\npieces 3\nroot " + root + "\n"));
    CHECK_FALSE(with("p2p-manifest 1\npiece-size 1024\nsize 2500\npieces 3\nroot " + root + "\n"));
    CHECK_FALSE(with("p2p-manifest 1\nsize 2500\npiece-size 1024\npieces 03\nroot " + root + "\n"));
    CHECK_FALSE(with("p2p-manifest 1\nsize 2500\npiece-size 1024\npieces 3\nroot " + root.substr(0, 63) + "\n"));
    std::string upper = root;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return static_cast<char>(std::toupper(c)); });
    if (upper != root) {
        CHECK_FALSE(with("p2p-manifest 1\nsize 2500\npiece-size 1024\npieces 3\nroot " + upper + "\n"));
    }
    // Sizes and counts far out of bounds, with no leaves to match: refused before anything is allocated.
    CHECK_FALSE(p2p::parse_manifest("p2p-manifest 1\nsize 18446744073709551615\npiece-size 1024\npieces "
                                    "18014398509481984\nroot " +
                                    root + "\n"));
    CHECK_FALSE(p2p::parse_manifest("p2p-manifest 1\nsize 18446744073709551616\npiece-size 1024\npieces 1\nroot " +
                                    root + "\n"));
    CHECK_FALSE(p2p::parse_manifest(std::string(p2p::max_serialized_manifest_size + 1, 'x')));
}

TEST_CASE("manifest store hits only for the file as it was", "[manifest][store]") {
    temp_dir dir;
    const p2p::unique_fd folder(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(folder);
    p2p::manifest_store store(folder.get());
    struct ::stat st {};
    REQUIRE(::stat((dir.path() / ".p2p" / "manifests").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    const auto data = pattern(3 * MiB + 5);
    write_file(dir / "f.bin", data);
    const auto before = stat_of(folder.get(), "f.bin");
    const auto m = *p2p::build_manifest(open_read(dir / "f.bin").get(), before.size);
    CHECK_FALSE(store.lookup("f.bin", before));
    store.store("f.bin", before, m);
    REQUIRE(store.lookup("f.bin", before));
    CHECK(*store.lookup("f.bin", before) == m);
    // Another store object on the same folder (a restarted holder) sees it too.
    CHECK(p2p::manifest_store(folder.get()).lookup("f.bin", before) == m);

    SECTION("another name misses") {
        CHECK_FALSE(store.lookup("g.bin", before));
    }
    SECTION("another piece size misses") {
        CHECK_FALSE(store.lookup("f.bin", before, 2 * MiB));
        CHECK(store.lookup("f.bin", before, 1 * MiB));
    }
    SECTION("a new mtime misses") {
        const struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 678}};
        REQUIRE(::utimensat(folder.get(), "f.bin", times, 0) == 0);
        CHECK_FALSE(store.lookup("f.bin", stat_of(folder.get(), "f.bin")));
    }
    SECTION("a new size misses") {
        write_file(dir / "f.bin", data + "x");
        CHECK_FALSE(store.lookup("f.bin", stat_of(folder.get(), "f.bin")));
    }
    SECTION("a new inode misses") {
        write_file(dir / "copy", data);
        std::filesystem::rename(dir / "copy", dir / "f.bin");
        const auto after = stat_of(folder.get(), "f.bin");
        CHECK(after.inode != before.inode);
        CHECK_FALSE(store.lookup("f.bin", after));
    }
    SECTION("a corrupt entry is ignored, then replaced") {
        const auto entry = dir.path() / ".p2p" / "manifests" / p2p::to_hex(p2p::manifest_store::key("f.bin", before));
        REQUIRE(std::filesystem::is_regular_file(entry));
        {
            std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(-1, std::ios::end);
            f.put('\x7f');
        }
        CHECK_FALSE(store.lookup("f.bin", before));
        store.store("f.bin", before, m);
        CHECK(store.lookup("f.bin", before) == m);
    }
    SECTION("an entry copied under another key is refused") {
        write_file(dir / "g.bin", data);
        const auto g = stat_of(folder.get(), "g.bin");
        const auto manifests = dir.path() / ".p2p" / "manifests";
        std::filesystem::copy_file(manifests / p2p::to_hex(p2p::manifest_store::key("f.bin", before)),
                                   manifests / p2p::to_hex(p2p::manifest_store::key("g.bin", g)));
        CHECK_FALSE(store.lookup("g.bin", g));
    }
    SECTION("a symlink, a FIFO or an oversized file in an entry's place is refused") {
        write_file(dir / "g.bin", data);
        const auto g = stat_of(folder.get(), "g.bin");
        const auto manifests = dir.path() / ".p2p" / "manifests";
        const auto entry = manifests / p2p::to_hex(p2p::manifest_store::key("g.bin", g));
        std::filesystem::create_symlink(manifests / p2p::to_hex(p2p::manifest_store::key("f.bin", before)), entry);
        CHECK_FALSE(store.lookup("g.bin", g));
        std::filesystem::remove(entry);
        REQUIRE(::mkfifo(entry.c_str(), 0600) == 0);
        CHECK_FALSE(store.lookup("g.bin", g)); // and does not block
        std::filesystem::remove(entry);
        write_file(entry, std::string(p2p::manifest_store::max_entry_size + 1, 'x'));
        CHECK_FALSE(store.lookup("g.bin", g));
        // store() replaces whatever is there.
        const auto mg = *p2p::build_manifest(open_read(dir / "g.bin").get(), g.size);
        store.store("g.bin", g, mg);
        CHECK(store.lookup("g.bin", g) == mg);
    }
    SECTION("prune keeps the entries of present files only") {
        write_file(dir / "g.bin", "g");
        const auto g = stat_of(folder.get(), "g.bin");
        store.store("g.bin", g, *p2p::build_manifest(open_read(dir / "g.bin").get(), g.size));
        write_file(dir / ".p2p" / "manifests" / ".tmp-left-over", "x");
        const std::vector<p2p::stored_file> present{{"f.bin", before}};
        CHECK(store.prune(present) == 2);
        CHECK(store.lookup("f.bin", before) == m);
        CHECK_FALSE(store.lookup("g.bin", g));
        CHECK(store.prune(present) == 0);
    }
    SECTION("a manifest of another size is not stored") {
        auto other = before;
        other.size += 1;
        CHECK_THROWS_AS(store.store("f.bin", other, m), std::invalid_argument);
        auto broken = m;
        broken.leaves[0][0] ^= 1;
        CHECK_THROWS_AS(store.store("f.bin", before, broken), std::invalid_argument);
    }
}

TEST_CASE("manifest store refuses a .p2p that is not a directory", "[manifest][store]") {
    temp_dir dir;
    const p2p::unique_fd folder(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(folder);
    SECTION("a symlink to a directory") {
        std::filesystem::create_directory(dir / "elsewhere");
        std::filesystem::create_directory_symlink(dir / "elsewhere", dir / ".p2p");
        CHECK_THROWS_AS(p2p::manifest_store(folder.get()), std::runtime_error);
        CHECK(std::filesystem::is_empty(dir / "elsewhere"));
    }
    SECTION("a regular file") {
        write_file(dir / ".p2p", "x");
        CHECK_THROWS_AS(p2p::manifest_store(folder.get()), std::runtime_error);
    }
    SECTION("a symlink as manifests/") {
        std::filesystem::create_directory(dir / ".p2p");
        std::filesystem::create_directory(dir / "elsewhere");
        std::filesystem::create_directory_symlink(dir / "elsewhere", dir / ".p2p" / "manifests");
        CHECK_THROWS_AS(p2p::manifest_store(folder.get()), std::runtime_error);
    }
}

TEST_CASE("manifest of a 100 GiB sparse file within time and memory bounds", "[.slow]") {
    // Hidden: CTest does not list it, `p2p_tests "[.slow]"` runs it. The file is one hole, so this measures the
    // hole path (no byte read, every leaf the one zero-piece leaf) and that memory stays at the leaves and one buffer.
    temp_dir dir;
    const auto path = dir / "sparse";
    const std::uint64_t size = 100 * GiB;
    {
        const p2p::unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        REQUIRE(fd);
        REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
    }
    { std::ofstream("/proc/self/clear_refs") << "5"; } // resets VmHWM to the current RSS
    const long rss_before = status_kib("VmRSS");
    struct ::rusage before {};
    ::getrusage(RUSAGE_SELF, &before);
    const auto start = std::chrono::steady_clock::now();
    const auto m = p2p::build_manifest(open_read(path).get(), size);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    struct ::rusage after {};
    ::getrusage(RUSAGE_SELF, &after);
    const long peak_growth = status_kib("VmHWM") - rss_before;
    REQUIRE(m);
    CHECK(m->piece_size == 4 * MiB);
    CHECK(m->piece_count() == 25600);
    const std::string zeros(4 * MiB, '\0');
    const auto zero_leaf = p2p::merkle_leaf(zeros.data(), zeros.size());
    CHECK(std::all_of(m->leaves.begin(), m->leaves.end(), [&](const digest& d) { return d == zero_leaf; }));
    CHECK(m->root == p2p::file_root(size, 4 * MiB, p2p::merkle_root(std::vector<digest>(25600, zero_leaf))));
    std::cout << "100 GiB sparse: " << seconds << " s wall, "
              << cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime) << " s user, "
              << cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime) << " s system, peak RSS " << peak_growth
              << " KiB above the " << rss_before << " KiB before\n";
    // Bounds: the leaves (800 KiB) and one 1 MiB buffer, with room for the allocator; and well under a second of
    // work (two lseeks and one 4 MiB zero piece hashed), with room for a loaded machine.
    CHECK(peak_growth < 4 * 1024);
    CHECK(seconds < 2);
}

TEST_CASE("manifest of a 100 GiB sparse file read byte by byte within time and memory bounds", "[.slow]") {
    // The same file through the read_at overload, which knows no holes: 100 GiB of zero pages made by the kernel,
    // copied out with pread and hashed. This is the cost of a dense 100 GiB file whose pages are in memory.
    temp_dir dir;
    const auto path = dir / "sparse";
    const std::uint64_t size = 100 * GiB;
    const p2p::unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    REQUIRE(fd);
    REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
    { std::ofstream("/proc/self/clear_refs") << "5"; }
    const long rss_before = status_kib("VmRSS");
    struct ::rusage before {};
    ::getrusage(RUSAGE_SELF, &before);
    const auto start = std::chrono::steady_clock::now();
    const auto m = p2p::build_manifest(
        [&](void* into, std::size_t n, std::uint64_t offset) {
            return ::pread(fd.get(), into, n, static_cast<off_t>(offset));
        },
        size);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    struct ::rusage after {};
    ::getrusage(RUSAGE_SELF, &after);
    const long peak_growth = status_kib("VmHWM") - rss_before;
    REQUIRE(m);
    CHECK(m->root == p2p::build_manifest(fd.get(), size)->root);
    std::cout << "100 GiB read: " << seconds << " s wall (" << static_cast<double>(size) / seconds / 1e9 << " GB/s), "
              << cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime) << " s user, "
              << cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime) << " s system, peak RSS " << peak_growth
              << " KiB above the " << rss_before << " KiB before\n";
    // Bounds: memory as above; time at 0.25 GB/s, a tenth of one core's BLAKE3 here, since this machine is shared.
    CHECK(peak_growth < 4 * 1024);
    CHECK(seconds < 430);
}
