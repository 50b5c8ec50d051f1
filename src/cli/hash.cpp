// SPDX-License-Identifier: MIT
// hash.cpp - `p2p-peer hash FILE... [--json]`: print each file's id (its BLAKE3 Merkle root), with no network.
#include "commands.hpp"
#include "console.hpp"
#include "exit_code.hpp"
#include "json.hpp"
#include "units.hpp"
#include "web_option.hpp"

#include "p2p/file_name.hpp"
#include "p2p/manifest.hpp"
#include "p2p/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace p2p::cli {

namespace {

/// Files smaller than this hash in well under a second: no progress line for them.
constexpr std::uint64_t progress_threshold = 256ull << 20;
/// How often the progress line is redrawn.
constexpr auto progress_interval = std::chrono::milliseconds(200);

struct hash_arguments {
    std::vector<std::string> files;
    bool json = false;
};

using clock = std::chrono::steady_clock;

/// A file name as sha256sum and b3sum print it: a name with a backslash or a line break is escaped and the line
/// starts with a backslash, so every output line still splits into "<hash>  <name>".
std::pair<std::string, bool> checksum_name(const std::string& name) {
    std::string out;
    bool escaped = false;
    for (char c : name) {
        if (c == '\\') {
            out += "\\\\";
            escaped = true;
        } else if (c == '\n') {
            out += "\\n";
            escaped = true;
        } else if (c == '\r') {
            out += "\\r";
            escaped = true;
        } else {
            out += c;
        }
    }
    return {out, escaped};
}

/// Hashes one file and prints its line; throws std::runtime_error with the reason.
void hash_one(const std::string& path, bool as_json, console& progress_screen) {
    // O_NONBLOCK: a FIFO named on the command line must not block the open; it is refused below.
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        throw std::runtime_error(std::generic_category().message(errno));
    }
    struct ::stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        throw std::runtime_error(std::generic_category().message(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        throw std::runtime_error("is a directory");
    }
    if (!S_ISREG(st.st_mode)) {
        throw std::runtime_error("not a regular file");
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const auto start = clock::now();
    manifest_build_options options;
    auto last_drawn = start;
    if (size >= progress_threshold && progress_screen.is_tty()) {
        options.progress = [&](std::uint64_t done) {
            const auto now = clock::now();
            if (now - last_drawn < progress_interval) {
                return;
            }
            last_drawn = now;
            const double seconds = std::chrono::duration<double>(now - start).count();
            progress_screen.status("hashing " + escape_for_terminal(path) + "  " + std::to_string(done * 100 / size) +
                                   "%  " + format_bytes(static_cast<double>(done)) + " / " +
                                   format_bytes(static_cast<double>(size)) + "  " +
                                   format_rate(static_cast<double>(done) / seconds));
        };
    }
    const auto m = build_manifest(fd.get(), size, options);
    progress_screen.clear_status();
    const double seconds = std::chrono::duration<double>(clock::now() - start).count();
    if (!m) {
        throw std::runtime_error("interrupted");
    }
    if (as_json) {
        std::cout << dump(hash_result_json(path, *m, seconds)) << '\n';
    } else {
        const auto [name, escaped] = checksum_name(path);
        std::cout << (escaped ? "\\" : "") << to_hex(m->root) << "  " << name << '\n';
    }
    std::cout.flush();
}

int run_hash(const hash_arguments& arguments, const global_options& globals) {
    refuse_web(globals, "hash");
    console progress_screen(std::cerr, ::isatty(STDERR_FILENO) == 1, false);
    int result = exit_ok;
    // Like sha256sum: a file that cannot be hashed is reported and the others are still hashed.
    for (const auto& path : arguments.files) {
        try {
            hash_one(path, arguments.json, progress_screen);
        } catch (const std::exception& e) {
            progress_screen.clear_status();
            std::cerr << "p2p-peer: " << escape_for_terminal(path) << ": " << e.what() << std::endl;
            result = exit_failure;
        }
    }
    return result;
}

} // namespace

subcommand setup_hash(CLI::App& app, const global_options& globals) {
    auto* sub = app.add_subcommand(
        "hash", "Print each file's id (the root of its BLAKE3 Merkle tree, docs/manifest.md), as b3sum prints hashes");
    auto arguments = std::make_shared<hash_arguments>();
    sub->add_option("file", arguments->files, "Files to hash")->required()->type_name("FILE");
    sub->add_flag("--json", arguments->json,
                  "Print one JSON object per file: file, root, size, piece_size, pieces, seconds");
    return {sub, [arguments, &globals] { return run_hash(*arguments, globals); }, "one or more files"};
}

} // namespace p2p::cli
