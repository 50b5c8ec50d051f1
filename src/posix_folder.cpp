// SPDX-License-Identifier: MIT
#include "p2p/posix_folder.hpp"

#include "p2p/blake2b.hpp"
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <system_error>

namespace p2p {

namespace {

constexpr std::string_view meta_magic = "p2p-partial 1";

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

std::string name_digest(std::string_view name) {
    blake2b h;
    h.update(name.data(), name.size());
    return to_hex(h.final()).substr(0, 32);
}

/// One open file of the folder: pread and pwrite at an offset, so a worker thread may read while the loop writes.
class posix_file final : public core::file_handle {
public:
    explicit posix_file(unique_fd fd) : fd_(std::move(fd)) {}

    std::optional<std::string> read_at(std::byte* into, std::size_t length, std::uint64_t offset) override {
        std::size_t done = 0;
        while (done < length) {
            auto n = ::pread(fd_.get(), into + done, length - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return "read failed: " + errno_text(errno);
            }
            if (n == 0) {
                return std::string("file changed while being read");
            }
            done += static_cast<std::size_t>(n);
        }
        return std::nullopt;
    }

    std::optional<std::string> write_at(const std::byte* from, std::size_t length, std::uint64_t offset) override {
        std::size_t done = 0;
        while (done < length) {
            auto n = ::pwrite(fd_.get(), from + done, length - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return errno_text(errno);
            }
            done += static_cast<std::size_t>(n);
        }
        return std::nullopt;
    }

    std::optional<std::string> truncate(std::uint64_t size) override {
        if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) {
            return errno_text(errno);
        }
        return std::nullopt;
    }

    void start_writeback(std::uint64_t offset, std::uint64_t length) override {
        ::sync_file_range(fd_.get(), static_cast<off_t>(offset), static_cast<off_t>(length), SYNC_FILE_RANGE_WRITE);
    }

    std::optional<std::string> sync() override {
        if (::fsync(fd_.get()) != 0) {
            return "fsync failed: " + errno_text(errno);
        }
        return std::nullopt;
    }

    std::optional<file_stat> stat() override {
        struct ::stat st {};
        if (::fstat(fd_.get(), &st) != 0) {
            return std::nullopt;
        }
        return file_stat::of(st);
    }

private:
    unique_fd fd_;
};

} // namespace

std::string partial_file_name(std::string_view name) {
    return ".p2p-part-" + name_digest(name);
}

std::string partial_meta_name(std::string_view name) {
    return partial_file_name(name) + ".meta";
}

posix_folder::posix_folder(const std::filesystem::path& folder) : path_(folder) {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) {
        std::filesystem::create_directories(path_, ec);
        if (ec) {
            throw std::runtime_error("cannot create folder " + path_.string() + ": " + ec.message());
        }
    }
    dir_.reset(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_) {
        int err = errno;
        if (err == ENOTDIR) {
            throw std::runtime_error(path_.string() + " is not a directory");
        }
        throw std::runtime_error("cannot open folder " + path_.string() + ": " + errno_text(err));
    }
    watch_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (watch_) {
        const auto mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_MODIFY |
                          IN_DELETE_SELF | IN_MOVE_SELF;
        if (::inotify_add_watch(watch_.get(), path_.c_str(), mask) < 0) {
            log(log_level::warn, "cannot watch ", path_.string(), " (", errno_text(errno),
                "); rescanning on a timer instead");
            watch_.reset();
        }
    }
}

bool posix_folder::drain_watch() {
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

std::optional<std::vector<core::folder_entry>> posix_folder::scan() {
    int fd = ::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* dir = fd >= 0 ? ::fdopendir(fd) : nullptr;
    if (dir == nullptr) {
        if (fd >= 0) {
            ::close(fd);
        }
        log(log_level::warn, "cannot list ", path_.string(), ": ", errno_text(errno));
        return std::nullopt;
    }
    std::vector<core::folder_entry> files;
    std::size_t skipped = 0;
    std::set<std::string, std::less<>> reported;
    // Each name left out is said once (at info), escaped, with why: a user wondering where a file went can ask.
    const auto skip = [&](std::string_view name, std::string_view why) {
        ++skipped;
        if (!reported_.contains(name)) {
            log(log_level::info, "not sharing ", escape_for_terminal(name), ": ", why);
        }
        reported.emplace(name);
    };
    while (auto* entry = ::readdir(dir)) {
        std::string_view name(entry->d_name);
        if (name == "." || name == ".." || is_reserved_name(name)) {
            continue; // the folder itself, its parent, and our own .p2p files: nothing the user put there
        }
        if (auto problem = file_name_problem(name)) {
            skip(name, *problem + " (it could not be sent)");
            continue;
        }
        struct ::stat st {};
        if (::fstatat(dir_.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue; // vanished since readdir
        }
        if (!S_ISREG(st.st_mode)) {
            skip(name, S_ISLNK(st.st_mode)    ? "a symbolic link (never followed)"
                       : S_ISDIR(st.st_mode)  ? "a folder (subfolders are not shared)"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device or other special file");
            continue;
        }
        files.push_back(core::folder_entry{std::string(name), file_stat::of(st)});
    }
    ::closedir(dir);
    skipped_ = skipped;
    reported_ = std::move(reported); // a name that left and comes back is said again
    return files;
}

std::variant<core::opened_file, std::string> posix_folder::open_shared(std::string_view name) {
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
    return core::opened_file{std::make_shared<posix_file>(std::move(fd)), file_stat::of(st)};
}

bool posix_folder::exists(std::string_view name) {
    struct ::stat st {};
    const std::string path(name);
    return ::fstatat(dir_.get(), path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

std::optional<core::partial_download> posix_folder::find_partial(std::string_view name) {
    unique_fd meta(::openat(dir_.get(), partial_meta_name(name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!meta) {
        return std::nullopt;
    }
    char buffer[256];
    auto n = ::read(meta.get(), buffer, sizeof buffer - 1);
    if (n <= 0) {
        return std::nullopt;
    }
    buffer[n] = '\0';
    char magic[32] = {};
    unsigned long long size = 0;
    char hex[80] = {};
    if (std::sscanf(buffer, "%31[^\n]\n%llu\n%79s", magic, &size, hex) != 3 || meta_magic != magic) {
        return std::nullopt;
    }
    auto hash = digest_from_hex(hex);
    struct ::stat st {};
    if (!hash || ::fstatat(dir_.get(), partial_file_name(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) || static_cast<unsigned long long>(st.st_size) > size) {
        return std::nullopt;
    }
    return core::partial_download{size, *hash, static_cast<std::uint64_t>(st.st_size)};
}

std::variant<std::shared_ptr<core::file_handle>, std::string> posix_folder::open_partial(std::string_view name,
                                                                                         bool keep_bytes) {
    const auto part = partial_file_name(name);
    unique_fd fd;
    if (keep_bytes) {
        fd.reset(::openat(dir_.get(), part.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    } else {
        // A leftover partial file with no usable description is ours (reserved name) and worthless: replace it.
        ::unlinkat(dir_.get(), part.c_str(), 0);
        fd.reset(::openat(dir_.get(), part.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    }
    if (!fd) {
        return errno_text(errno);
    }
    return std::make_shared<posix_file>(std::move(fd));
}

std::optional<std::string> posix_folder::describe_partial(std::string_view name, std::uint64_t size,
                                                          const digest& hash) {
    const auto text = std::string(meta_magic) + "\n" + std::to_string(size) + "\n" + to_hex(hash) + "\n";
    unique_fd meta(::openat(dir_.get(), partial_meta_name(name).c_str(),
                            O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!meta || ::write(meta.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        return errno_text(errno);
    }
    return std::nullopt;
}

core::place_result posix_folder::place_partial(std::string_view name, bool replace, std::string& error) {
    const auto part = partial_file_name(name);
    const std::string final_name(name);
    // rename(2) replaces atomically: whoever opens the name sees the old file or the new one. A symlink there is
    // replaced itself, never followed; a folder there makes the rename fail.
    if (::renameat2(dir_.get(), part.c_str(), dir_.get(), final_name.c_str(), replace ? 0U : RENAME_NOREPLACE) != 0) {
        const int err = errno;
        error = errno_text(err);
        return err == EEXIST ? core::place_result::name_taken : core::place_result::failed;
    }
    ::unlinkat(dir_.get(), partial_meta_name(name).c_str(), 0);
    // The rename is durable only once the directory is. The file is complete and verified by now, so a failure here
    // is said, not turned into a failed download.
    if (::fsync(dir_.get()) != 0) {
        log(log_level::warn, "got ", escape_for_terminal(name), ", but flushing its folder failed: ", errno_text(errno),
            "; a crash now could lose the rename");
    }
    return core::place_result::placed;
}

void posix_folder::remove_partial(std::string_view name) {
    ::unlinkat(dir_.get(), partial_file_name(name).c_str(), 0);
    ::unlinkat(dir_.get(), partial_meta_name(name).c_str(), 0);
}

std::optional<std::uint64_t> posix_folder::free_space() {
    struct ::statvfs fs {};
    if (::fstatvfs(dir_.get(), &fs) != 0) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

} // namespace p2p
