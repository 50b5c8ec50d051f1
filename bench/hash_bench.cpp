// SPDX-License-Identifier: MIT
// hash_bench.cpp - one thread's hashing speed: BLAKE2b (libsodium) against BLAKE3 (p2p_blake3), in memory and over a
// file in the page cache, and build_manifest over the same file at several block sizes.
//
//   p2p-bench-hash [--size BYTES] [--dir DIR] [--repeat N] [--only NAME]
// Writes a file of --size bytes (default 1 GiB) of pseudo-random data in DIR (default $TMPDIR or /tmp), reads it
// once so it is in the page cache, then prints one line per measurement: the best and the median of N runs, in
// GB/s (10^9 bytes per second). --only runs one measurement, for `perf stat -e cycles` to count its cycles.
#include "p2p/blake2b.hpp"
#include "p2p/blake3.hpp"
#include "p2p/manifest.hpp"
#include "p2p/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t block = 1 << 20;

struct settings {
    std::uint64_t size = 1ull << 30;
    std::filesystem::path dir;
    int repeat = 5;
    std::string only;
};

/// Fills the file with xorshift64 output, 1 MiB at a time.
void write_random_file(int fd, std::uint64_t size) {
    std::vector<std::uint64_t> buffer(block / 8);
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    for (std::uint64_t done = 0; done < size;) {
        for (auto& word : buffer) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word = x;
        }
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block, size - done));
        if (::pwrite(fd, buffer.data(), n, static_cast<off_t>(done)) != static_cast<ssize_t>(n)) {
            throw std::runtime_error("cannot write the test file");
        }
        done += n;
    }
}

/// Reads the whole file with pread in 1 MiB blocks, handing each block to `consume`.
void read_file(int fd, std::uint64_t size, std::uint8_t* buffer,
               const std::function<void(const void*, std::size_t)>& consume) {
    for (std::uint64_t done = 0; done < size;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block, size - done));
        if (::pread(fd, buffer, n, static_cast<off_t>(done)) != static_cast<ssize_t>(n)) {
            throw std::runtime_error("short read");
        }
        consume(buffer, n);
        done += n;
    }
}

std::vector<std::string> parse(int argc, char** argv, settings& s) {
    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) {
                throw std::invalid_argument(args[i] + " needs a value");
            }
            return args[++i];
        };
        if (args[i] == "--size") {
            s.size = std::stoull(value());
        } else if (args[i] == "--dir") {
            s.dir = value();
        } else if (args[i] == "--repeat") {
            s.repeat = std::max(1, std::stoi(value()));
        } else if (args[i] == "--only") {
            s.only = value();
        } else {
            throw std::invalid_argument(
                "unknown argument " + args[i] +
                "; usage: p2p-bench-hash [--size BYTES] [--dir DIR] [--repeat N] [--only NAME]");
        }
    }
    return args;
}

} // namespace

int main(int argc, char** argv) try {
    settings s;
    parse(argc, argv, s);
    if (s.dir.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        s.dir = tmp != nullptr ? tmp : "/tmp";
    }
    const auto path = s.dir / ("p2p-bench-hash-" + std::to_string(::getpid()));
    p2p::unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) {
        throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
    }
    ::unlink(path.c_str()); // gone when the program ends, whatever happens
    write_random_file(fd.get(), s.size);

    auto* raw = static_cast<std::uint8_t*>(std::aligned_alloc(4096, block));
    std::unique_ptr<std::uint8_t, decltype(&std::free)> buffer(raw, &std::free);
    std::memset(buffer.get(), 0x5a, block);
    read_file(fd.get(), s.size, buffer.get(), [](const void*, std::size_t) {}); // into the page cache

    const auto in_memory = [&](auto&& update) {
        for (std::uint64_t done = 0; done < s.size; done += block) {
            update(buffer.get(), static_cast<std::size_t>(std::min<std::uint64_t>(block, s.size - done)));
        }
    };
    volatile std::uint8_t sink = 0; // keeps every result alive
    const std::vector<std::pair<std::string, std::function<void()>>> measurements{
        {"pread only (1 MiB blocks)",
         [&] {
             read_file(fd.get(), s.size, buffer.get(), [](const void*, std::size_t) {});
         }},
        {"BLAKE2b in memory (1 MiB updates)",
         [&] {
             p2p::blake2b h;
             in_memory([&](const void* p, std::size_t n) { h.update(p, n); });
             sink = h.final()[0];
         }},
        {"BLAKE3 in memory (1 MiB updates)",
         [&] {
             p2p::blake3_hasher h;
             in_memory([&](const void* p, std::size_t n) { h.update(p, n); });
             sink = h.final()[0];
         }},
        {"BLAKE2b of the file (pread 1 MiB + update)",
         [&] {
             p2p::blake2b h;
             read_file(fd.get(), s.size, buffer.get(), [&](const void* p, std::size_t n) { h.update(p, n); });
             sink = h.final()[0];
         }},
        {"BLAKE3 of the file (pread 1 MiB + update)",
         [&] {
             p2p::blake3_hasher h;
             read_file(fd.get(), s.size, buffer.get(), [&](const void* p, std::size_t n) { h.update(p, n); });
             sink = h.final()[0];
         }},
        {"build_manifest, 256 KiB blocks",
         [&] {
             p2p::manifest_build_options o;
             o.block_size = 256 << 10;
             sink = p2p::build_manifest(fd.get(), s.size, o)->root[0];
         }},
        {"build_manifest, 1 MiB blocks (default)",
         [&] {
             sink = p2p::build_manifest(fd.get(), s.size)->root[0];
         }},
        {"build_manifest, 4 MiB blocks",
         [&] {
             p2p::manifest_build_options o;
             o.block_size = 4 << 20;
             sink = p2p::build_manifest(fd.get(), s.size, o)->root[0];
         }},
    };

    std::printf("%.0f MiB, best and median of %d runs, one thread\n", static_cast<double>(s.size) / (1 << 20),
                s.repeat);
    bool ran = false;
    for (const auto& [name, run] : measurements) {
        if (!s.only.empty() && name.find(s.only) == std::string::npos) {
            continue;
        }
        ran = true;
        std::vector<double> rates;
        for (int i = 0; i < s.repeat; ++i) {
            const auto start = clock_type::now();
            run();
            const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
            rates.push_back(static_cast<double>(s.size) / seconds / 1e9);
        }
        std::sort(rates.begin(), rates.end());
        std::printf("%-45s best %6.2f GB/s  median %6.2f GB/s\n", name.c_str(), rates.back(), rates[rates.size() / 2]);
        std::fflush(stdout);
    }
    if (!ran) {
        throw std::invalid_argument("no measurement matches --only " + s.only);
    }
    return 0;
} catch (const std::exception& e) {
    std::cerr << "p2p-bench-hash: " << e.what() << "\n";
    return 1;
}
