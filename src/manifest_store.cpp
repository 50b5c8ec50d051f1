// SPDX-License-Identifier: MIT
// manifest_store.cpp - entries of <folder>/.p2p/manifests/: keyed, checked on read, replaced atomically.
#include "p2p/manifest_store.hpp"

#include "p2p/blake3.hpp"
#include "p2p/little_endian.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>

namespace p2p {

namespace {

constexpr std::string_view store_dir = ".p2p";
constexpr std::string_view manifests_dir = "manifests";
constexpr std::string_view entry_magic_line = "p2p-manifest-entry 1\n";
constexpr std::string_view temp_prefix = ".tmp-";
/// What key() hashes first, so that no other BLAKE3 input of ours can be taken for a key.
constexpr std::string_view key_context = "p2p manifest store key 1";

std::string errno_text(int err) {
    return std::generic_category().message(err);
}

/// Creates (0700) and opens the directory `name` under dir_fd, refusing symlinks and anything not a directory.
unique_fd open_private_dir(int dir_fd, std::string_view name, const std::string& shown) {
    const std::string n(name);
    if (::mkdirat(dir_fd, n.c_str(), 0700) != 0 && errno != EEXIST) {
        throw std::runtime_error("cannot create " + shown + ": " + errno_text(errno));
    }
    unique_fd fd(::openat(dir_fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        if (err == ENOTDIR || err == ELOOP) {
            throw std::runtime_error(shown + " is not a directory");
        }
        throw std::runtime_error("cannot open " + shown + ": " + errno_text(err));
    }
    return fd;
}

std::string key_line(const digest& key) {
    return "key " + to_hex(key) + "\n";
}

/// Reads the whole of a regular file of at most `limit` bytes; nullopt for anything else.
std::optional<std::string> read_small_file(int fd, std::size_t limit) {
    struct ::stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        static_cast<std::uint64_t>(st.st_size) > limit) {
        return std::nullopt;
    }
    std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return std::nullopt; // an error, or the file shrank under us
        }
        done += static_cast<std::size_t>(n);
    }
    return bytes;
}

void write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw std::system_error(errno, std::generic_category());
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

bool is_entry_name(std::string_view name) {
    return digest_from_hex(name).has_value();
}

} // namespace

manifest_store::manifest_store(int folder_fd) {
    const auto p2p_dir = open_private_dir(folder_fd, store_dir, std::string(store_dir));
    dir_ = open_private_dir(p2p_dir.get(), manifests_dir, std::string(store_dir) + "/" + std::string(manifests_dir));
    struct ::stat st {};
    if (::fstat(dir_.get(), &st) == 0 && (st.st_mode & 077) != 0) {
        // Ours alone: the manifests say which files the folder has had.
        ::fchmod(dir_.get(), 0700);
    }
}

digest manifest_store::key(std::string_view name, const file_stat& stat) {
    std::string input(key_context);
    input.push_back('\0');
    append_le(input, static_cast<std::uint64_t>(name.size()));
    input += name;
    append_le(input, stat.size);
    append_le(input, stat.mtime_ns);
    append_le(input, stat.inode);
    append_le(input, stat.ctime_ns);
    append_le(input, stat.device);
    return blake3(input.data(), input.size());
}

std::optional<manifest> manifest_store::lookup(std::string_view name, const file_stat& stat,
                                               std::uint32_t piece_size) const {
    const digest k = key(name, stat);
    // O_NONBLOCK: a FIFO put in an entry's place must not block the open (fstat then refuses it).
    unique_fd fd(::openat(dir_.get(), to_hex(k).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
        return std::nullopt;
    }
    const auto bytes = read_small_file(fd.get(), max_entry_size);
    if (!bytes) {
        return std::nullopt;
    }
    std::string_view rest(*bytes);
    const auto header = std::string(entry_magic_line) + key_line(k);
    if (!rest.starts_with(header)) {
        return std::nullopt;
    }
    rest.remove_prefix(header.size());
    auto m = parse_manifest(rest);
    if (!m || m->size != stat.size) {
        return std::nullopt;
    }
    std::uint32_t expected = piece_size;
    if (expected == 0) {
        if (stat.size > max_file_size) {
            return std::nullopt;
        }
        expected = piece_size_for(stat.size);
    }
    if (m->piece_size != expected) {
        return std::nullopt;
    }
    return m;
}

void manifest_store::store(std::string_view name, const file_stat& stat, const manifest& m) {
    if (m.size != stat.size) {
        throw std::invalid_argument("a manifest of " + std::to_string(m.size) + " bytes for a file of " +
                                    std::to_string(stat.size));
    }
    if (!m.is_consistent()) {
        throw std::invalid_argument("an inconsistent manifest cannot be stored");
    }
    const digest k = key(name, stat);
    const auto final_name = to_hex(k);
    // Unique among the threads and processes that may store at once: the pid, and a counter within the process.
    static std::atomic<std::uint64_t> counter{0};
    const auto temp_name = std::string(temp_prefix) + final_name + "-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    unique_fd fd(::openat(dir_.get(), temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
        throw std::runtime_error("cannot create " + temp_name + " in .p2p/manifests: " + errno_text(errno));
    }
    try {
        write_all(fd.get(), entry_magic_line);
        write_all(fd.get(), key_line(k));
        write_all(fd.get(), serialize_manifest(m));
        // So that the rename never exposes an entry whose bytes are not on disk yet (a torn entry would only be
        // refused on read, but costs the rehash this store exists to save).
        if (::fsync(fd.get()) != 0) {
            throw std::system_error(errno, std::generic_category());
        }
        fd.reset();
        if (::renameat(dir_.get(), temp_name.c_str(), dir_.get(), final_name.c_str()) != 0) {
            throw std::system_error(errno, std::generic_category());
        }
    } catch (const std::system_error& e) {
        ::unlinkat(dir_.get(), temp_name.c_str(), 0);
        throw std::runtime_error("cannot store the manifest of " + std::string(name) + ": " + e.code().message());
    }
}

std::size_t manifest_store::prune(std::span<const stored_file> present) {
    std::set<std::string, std::less<>> keep;
    for (const auto& f : present) {
        keep.insert(to_hex(key(f.name, f.stat)));
    }
    // fdopendir takes the descriptor over: give it a copy, reopened so that it starts at the beginning.
    unique_fd copy(::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!copy) {
        throw std::runtime_error("cannot read .p2p/manifests: " + errno_text(errno));
    }
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(copy.get()), ::closedir);
    if (!dir) {
        throw std::runtime_error("cannot read .p2p/manifests: " + errno_text(errno));
    }
    copy.release();
    std::size_t removed = 0;
    while (const auto* entry = ::readdir(dir.get())) {
        const std::string_view n(entry->d_name);
        if (n == "." || n == ".." || (is_entry_name(n) && keep.contains(n))) {
            continue;
        }
        // Entries of files gone or changed, temporary files, and anything else that has no business here; a
        // directory is not removed (unlinkat without AT_REMOVEDIR refuses it).
        if (::unlinkat(::dirfd(dir.get()), entry->d_name, 0) == 0) {
            ++removed;
        }
    }
    return removed;
}

} // namespace p2p
