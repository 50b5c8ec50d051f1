// SPDX-License-Identifier: MIT
#include "p2p/catalog.hpp"

#include "p2p/file_name.hpp"
#include "p2p/log.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace p2p {

namespace {

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

std::int64_t to_ns(const struct timespec& ts) {
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

} // namespace

file_stat file_stat::of(const struct ::stat& st) {
    return file_stat{static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_dev),
                     static_cast<std::uint64_t>(st.st_ino), to_ns(st.st_mtim), to_ns(st.st_ctim)};
}

catalog::catalog(const std::filesystem::path& folder) : folder_(folder) {
    std::error_code ec;
    if (!std::filesystem::exists(folder_, ec)) {
        std::filesystem::create_directories(folder_, ec);
        if (ec) {
            throw std::runtime_error("cannot create folder " + folder_.string() + ": " + ec.message());
        }
    }
    dir_.reset(::open(folder_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_) {
        int err = errno;
        if (err == ENOTDIR) {
            throw std::runtime_error(folder_.string() + " is not a directory");
        }
        throw std::runtime_error("cannot open folder " + folder_.string() + ": " + errno_text(err));
    }
    watch_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (watch_) {
        const auto mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_MODIFY |
                          IN_DELETE_SELF | IN_MOVE_SELF;
        if (::inotify_add_watch(watch_.get(), folder_.c_str(), mask) < 0) {
            log(log_level::warn, "cannot watch ", folder_.string(), " (", errno_text(errno),
                "); rescanning on a timer instead");
            watch_.reset();
        }
    }
    rescan();
}

bool catalog::drain_watch() {
    bool relevant = false;
    alignas(struct inotify_event) char buffer[16384];
    for (;;) {
        auto n = ::read(watch_.get(), buffer, sizeof buffer);
        if (n <= 0) {
            break;
        }
        for (char* p = buffer; p < buffer + n;) {
            auto* ev = reinterpret_cast<struct inotify_event*>(p);
            std::string_view name = ev->len > 0 ? std::string_view(ev->name) : std::string_view();
            // Our own partial downloads change with every chunk; they are never listed, so they never matter.
            if (name.empty() || !is_reserved_name(name)) {
                relevant = true;
            }
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
    return relevant;
}

bool catalog::rescan() {
    int fd = ::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* dir = fd >= 0 ? ::fdopendir(fd) : nullptr;
    if (dir == nullptr) {
        if (fd >= 0) {
            ::close(fd);
        }
        log(log_level::warn, "cannot list ", folder_.string(), ": ", errno_text(errno));
        return false;
    }
    std::vector<file_entry> files;
    std::map<std::string, file_stat, std::less<>> stats;
    while (auto* entry = ::readdir(dir)) {
        std::string_view name(entry->d_name);
        if (!is_valid_file_name(name)) {
            continue; // ".", "..", our .p2p files, and names we could not send anyway
        }
        struct ::stat st {};
        if (::fstatat(dir_.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
            continue; // vanished, or a symlink, directory, device, FIFO: never shared
        }
        files.push_back(file_entry{std::string(name), static_cast<std::uint64_t>(st.st_size)});
        stats.emplace(std::string(name), file_stat::of(st));
    }
    ::closedir(dir);
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    if (files == files_ && stats == stats_) {
        return false;
    }
    files_ = std::move(files);
    stats_ = std::move(stats);
    ++version_;
    return true;
}

std::variant<opened_file, std::string> catalog::open_for_reading(std::string_view name) const {
    if (auto problem = file_name_problem(name)) {
        return *problem;
    }
    const std::string path(name);
    // O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOFOLLOW: a symlink is refused, wherever it points.
    unique_fd fd(::openat(dir_.get(), path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        int err = errno;
        if (err == ENOENT) {
            return std::string("File not found");
        }
        if (err == ELOOP) {
            return std::string("not a regular file");
        }
        return "cannot open: " + errno_text(err);
    }
    struct ::stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return "cannot stat: " + errno_text(errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return std::string("not a regular file");
    }
    return opened_file{std::move(fd), file_stat::of(st)};
}

bool catalog::exists(std::string_view name) const {
    struct ::stat st {};
    const std::string path(name);
    return ::fstatat(dir_.get(), path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

std::optional<digest> catalog::cached_hash(std::string_view name, const file_stat& stat) const {
    auto it = hashes_.find(name);
    if (it == hashes_.end() || !(it->second.first == stat)) {
        return std::nullopt;
    }
    return it->second.second;
}

void catalog::remember_hash(std::string_view name, const file_stat& stat, const digest& hash) {
    hashes_.insert_or_assign(std::string(name), std::pair{stat, hash});
}

} // namespace p2p
