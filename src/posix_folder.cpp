// SPDX-License-Identifier: MIT
#include "p2p/posix_folder.hpp"

#include "p2p/blake2b.hpp"
#include "p2p/core/folder_view.hpp"
#include "p2p/file_name.hpp"
#include "p2p/log.hpp"
#include "p2p/manifest_store.hpp"
#include "p2p/protocol.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <system_error>

namespace p2p {

namespace {

/// /proc/sys/kernel/random/boot_id ("8-4-4-4-12" hex digits) as 16 bytes; all zero when it cannot be read, and then
/// only journal records marked durable are trusted.
core::boot_id read_boot_id() {
    core::boot_id out{};
    std::FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "re");
    if (f == nullptr) {
        return out;
    }
    char text[64] = {};
    const bool read = std::fgets(text, sizeof text, f) != nullptr;
    std::fclose(f);
    std::size_t digits = 0;
    for (const char* c = text; read && *c != '\0' && *c != '\n' && digits < 2 * out.size(); ++c) {
        int value = -1;
        if (*c >= '0' && *c <= '9') {
            value = *c - '0';
        } else if (*c >= 'a' && *c <= 'f') {
            value = *c - 'a' + 10;
        } else if (*c == '-') {
            continue;
        }
        if (value < 0) {
            return core::boot_id{};
        }
        out[digits / 2] = static_cast<std::uint8_t>(out[digits / 2] << 4 | value);
        ++digits;
    }
    return digits == 2 * out.size() ? out : core::boot_id{};
}

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

/// The components of a checked path: "a/b/c" gives a, b, c.
std::vector<std::string> components_of(std::string_view path) {
    std::vector<std::string> parts;
    for (std::size_t start = 0; start <= path.size();) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        parts.emplace_back(path.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

/// The folder that holds a file of the shared tree, opened, and the file's own name in it.
struct parent_dir {
    unique_fd fd;
    std::string leaf;
};

/// Opens the folder that holds `path` (checked by file_path_problem) one component at a time from `root`, each with
/// O_DIRECTORY | O_NOFOLLOW: a symlink anywhere on the way is refused, never followed, so nothing outside the tree is
/// reached. With `create`, missing folders are made (mkdirat, 0755 less the umask); they are made only from the
/// first missing one on, and every folder on the way that exists is checked first, so a file standing where a
/// folder is needed fails the walk before anything is created. Returns the reason otherwise, one line.
std::variant<parent_dir, std::string> open_parent(int root, std::string_view path, bool create) {
    if (auto problem = file_path_problem(path)) {
        return *problem;
    }
    auto parts = components_of(path);
    parent_dir out;
    out.leaf = std::move(parts.back());
    parts.pop_back();
    out.fd.reset(::openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!out.fd) {
        return "cannot open the folder: " + errno_text(errno);
    }
    std::string walked;
    for (const auto& part : parts) {
        walked += walked.empty() ? part : "/" + part;
        const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        unique_fd next(::openat(out.fd.get(), part.c_str(), flags));
        if (!next && errno == ENOENT && create) {
            if (::mkdirat(out.fd.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
                return "cannot create folder " + escape_for_terminal(walked) + ": " + errno_text(errno);
            }
            next.reset(::openat(out.fd.get(), part.c_str(), flags));
        }
        if (!next) {
            const int err = errno;
            if (err == ENOENT) {
                return std::string("File not found");
            }
            if (err == ENOTDIR || err == ELOOP) {
                return escape_for_terminal(walked) + " is not a folder (a file or a symbolic link is there)";
            }
            return "cannot open folder " + escape_for_terminal(walked) + ": " + errno_text(err);
        }
        out.fd = std::move(next);
    }
    return out;
}

} // namespace

std::string partial_file_name(std::string_view name) {
    return ".p2p-part-" + name_digest(name);
}

std::string partial_meta_name(std::string_view name) {
    return partial_file_name(name) + ".meta";
}

std::string partial_journal_name(std::string_view name) {
    return partial_file_name(name) + ".journal";
}

posix_folder::posix_folder(const std::filesystem::path& folder) : path_(folder), boot_(read_boot_id()) {
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
    if (watch_ && !watch_dir(dir_.get())) {
        log(log_level::warn, "cannot watch ", path_.string(), " (", errno_text(errno),
            "); rescanning on a timer instead");
        watch_.reset();
    }
}

bool posix_folder::watch_dir(int fd) {
    const auto mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_MODIFY |
                      IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
    // By the descriptor already open (through /proc), not by a path string that a rename could point elsewhere.
    // Watching a folder twice gives the same watch again, so every scan may simply ask.
    const auto by_fd = "/proc/self/fd/" + std::to_string(fd);
    return ::inotify_add_watch(watch_.get(), by_fd.c_str(), mask) >= 0;
}

void posix_folder::watch_subfolder(int fd, std::string_view name) {
    if (!watch_ || !watching_everything_ || watch_dir(fd)) {
        return;
    }
    // Most likely ENOSPC: fs.inotify.max_user_watches is used up. Changes in the folders without a watch would go
    // unheard, so the core falls back to listing the folder on a timer; said once.
    watching_everything_ = false;
    const auto why = errno == ENOSPC ? std::string("watch limit reached")
                                     : "cannot watch " + escape_for_terminal(name) + " (" + errno_text(errno) + ")";
    log(log_level::warn, why, ": rescanning every ",
        std::chrono::duration_cast<std::chrono::seconds>(core::folder_view::periodic_scan).count(), " s");
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
            // A new subfolder matters: the scan it causes watches it and lists what it holds.
            if (name.empty() || !is_reserved_name(name)) {
                relevant = true;
            }
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
    return relevant;
}

bool posix_folder::scan_folder(int fd, const std::string& prefix, std::size_t depth, scan_state& state) {
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        log(log_level::warn, "cannot list ", prefix.empty() ? path_.string() : escape_for_terminal(prefix), ": ",
            errno_text(errno));
        ::close(fd);
        return false;
    }
    std::vector<std::string> subfolders; // listed once this folder's entries are read
    while (auto* entry = ::readdir(dir)) {
        std::string_view name(entry->d_name);
        if (name == "." || name == ".." || is_reserved_name(name)) {
            continue; // the folder itself, its parent, and our own .p2p files: nothing the user put there
        }
        const auto path = prefix + std::string(name);
        if (auto problem = file_name_problem(name)) {
            state.skip(path, *problem + " (it could not be sent)");
            continue;
        }
        struct ::stat st {};
        if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue; // vanished since readdir
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth + 1 >= protocol::max_path_depth) {
                state.skip(path, "a folder too deep to share (a name has at most " +
                                     std::to_string(protocol::max_path_depth) + " components)");
            } else if (path.size() + 2 > protocol::max_path_bytes) {
                state.skip(path, "a folder whose path is too long for its files to be sent");
            } else {
                subfolders.push_back(path);
            }
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            state.skip(path, S_ISLNK(st.st_mode)    ? "a symbolic link (never followed)"
                             : S_ISFIFO(st.st_mode) ? "a FIFO"
                             : S_ISSOCK(st.st_mode) ? "a socket"
                                                    : "a device or other special file");
            continue;
        }
        if (path.size() > protocol::max_path_bytes) {
            state.skip(path, "path longer than " + std::to_string(protocol::max_path_bytes) + " bytes");
            continue;
        }
        if (state.files.size() >= protocol::max_files) {
            state.skip(path, "more than " + std::to_string(protocol::max_files) + " files in the folder");
            continue;
        }
        state.files.push_back(core::folder_entry{path, file_stat::of(st)});
    }
    // Each subfolder is opened from this one's descriptor, refusing a symlink that took its place since the stat.
    for (const auto& path : subfolders) {
        const auto leaf = path.substr(prefix.size());
        int sub = ::openat(::dirfd(dir), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            continue; // gone or replaced since readdir; the next scan sees what is there
        }
        // Watched before it is read: a file made after the listing still makes an event.
        watch_subfolder(sub, path);
        scan_folder(sub, path + "/", depth + 1, state); // a subfolder that cannot be listed is said, and left out
    }
    ::closedir(dir);
    return true;
}

std::optional<std::vector<core::folder_entry>> posix_folder::scan() {
    int fd = ::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        log(log_level::warn, "cannot list ", path_.string(), ": ", errno_text(errno));
        return std::nullopt;
    }
    scan_state state{reported_, {}, 0, {}};
    if (!scan_folder(fd, "", 0, state)) {
        return std::nullopt;
    }
    // Sorted by name, as lists are.
    std::sort(state.files.begin(), state.files.end(),
              [](const core::folder_entry& a, const core::folder_entry& b) { return a.name < b.name; });
    skipped_ = state.skipped;
    reported_ = std::move(state.reported); // a name that left and comes back is said again
    return std::move(state.files);
}

void posix_folder::scan_state::skip(std::string_view name, std::string_view why) {
    ++skipped;
    // Each name left out is said once (at info), escaped, with why: a user wondering where a file went can ask.
    if (!reported_before.contains(name)) {
        log(log_level::info, "not sharing ", escape_for_terminal(name), ": ", why);
    }
    reported.emplace(name);
}

std::variant<core::opened_file, std::string> posix_folder::open_shared(std::string_view name) {
    if (auto problem = file_path_problem(name)) {
        return *problem;
    }
    auto parent = open_parent(dir_.get(), name, false);
    if (auto* error = std::get_if<std::string>(&parent)) {
        return *error;
    }
    const auto& [dir, leaf] = std::get<parent_dir>(parent);
    // O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOFOLLOW: a symlink is refused, wherever it points.
    unique_fd fd(::openat(dir.get(), leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
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
    auto parent = open_parent(dir_.get(), name, false);
    if (std::holds_alternative<std::string>(parent)) {
        return false; // no folder on the way: nothing of that name (a file in the way fails the download later)
    }
    const auto& [dir, leaf] = std::get<parent_dir>(parent);
    struct ::stat st {};
    return ::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

std::optional<core::partial_download> posix_folder::find_partial(std::string_view name) {
    auto parent = open_parent(dir_.get(), name, false);
    if (std::holds_alternative<std::string>(parent)) {
        return std::nullopt;
    }
    const int dir = std::get<parent_dir>(parent).fd.get();
    unique_fd meta(::openat(dir, partial_meta_name(name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!meta) {
        return std::nullopt;
    }
    sidecars_.emplace(name); // usable or not, it goes with the download
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
    if (!hash || ::fstatat(dir, partial_file_name(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) || static_cast<unsigned long long>(st.st_size) > size) {
        return std::nullopt;
    }
    return core::partial_download{size, *hash, static_cast<std::uint64_t>(st.st_size)};
}

std::variant<std::shared_ptr<core::file_handle>, std::string> posix_folder::open_partial(std::string_view name,
                                                                                         bool keep_bytes) {
    if (auto problem = file_path_problem(name)) {
        return *problem;
    }
    // The partial file lives beside where the file will be, so the final rename stays within one folder.
    auto parent = open_parent(dir_.get(), name, true);
    if (auto* error = std::get_if<std::string>(&parent)) {
        return *error;
    }
    const int dir = std::get<parent_dir>(parent).fd.get();
    const auto part = partial_file_name(name);
    unique_fd fd;
    if (keep_bytes) {
        fd.reset(::openat(dir, part.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    } else {
        // A leftover partial file with no usable description is ours (reserved name) and worthless: replace it,
        // and its journal with it. Usually there is none, and the first create succeeds.
        ::unlinkat(dir, partial_journal_name(name).c_str(), 0);
        const int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        fd.reset(::openat(dir, part.c_str(), flags, 0644));
        if (!fd && errno == EEXIST) {
            ::unlinkat(dir, part.c_str(), 0);
            fd.reset(::openat(dir, part.c_str(), flags, 0644));
        }
    }
    if (!fd) {
        return errno_text(errno);
    }
    return std::make_shared<posix_file>(std::move(fd));
}

std::variant<std::shared_ptr<core::file_handle>, std::string> posix_folder::open_journal(std::string_view name,
                                                                                         bool keep_records) {
    auto parent = open_parent(dir_.get(), name, false);
    if (auto* error = std::get_if<std::string>(&parent)) {
        return *error;
    }
    const int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (keep_records ? 0 : O_TRUNC);
    sidecars_.emplace(name);
    unique_fd fd(::openat(std::get<parent_dir>(parent).fd.get(), partial_journal_name(name).c_str(), flags, 0644));
    if (!fd) {
        return errno_text(errno);
    }
    struct ::stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::string("not a regular file");
    }
    return std::make_shared<posix_file>(std::move(fd));
}

std::optional<std::string> posix_folder::describe_partial(std::string_view name, std::uint64_t size,
                                                          const digest& hash) {
    auto parent = open_parent(dir_.get(), name, false);
    if (auto* error = std::get_if<std::string>(&parent)) {
        return *error;
    }
    const auto text = std::string(meta_magic) + "\n" + std::to_string(size) + "\n" + to_hex(hash) + "\n";
    sidecars_.emplace(name);
    unique_fd meta(::openat(std::get<parent_dir>(parent).fd.get(), partial_meta_name(name).c_str(),
                            O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!meta || ::write(meta.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        return errno_text(errno);
    }
    return std::nullopt;
}

core::place_result posix_folder::place_partial(std::string_view name, bool replace, std::string& error) {
    auto parent = open_parent(dir_.get(), name, false);
    if (auto* problem = std::get_if<std::string>(&parent)) {
        error = *problem;
        return core::place_result::failed;
    }
    const auto& [dir, leaf] = std::get<parent_dir>(parent);
    const auto part = partial_file_name(name);
    // rename(2) replaces atomically: whoever opens the name sees the old file or the new one. A symlink there is
    // replaced itself, never followed; a folder there makes the rename fail.
    if (::renameat2(dir.get(), part.c_str(), dir.get(), leaf.c_str(), replace ? 0U : RENAME_NOREPLACE) != 0) {
        const int err = errno;
        error = errno_text(err);
        return err == EEXIST ? core::place_result::name_taken : core::place_result::failed;
    }
    // A file of one piece has neither (most files of a big folder): no lookups for names that are not there.
    if (const auto it = sidecars_.find(name); it != sidecars_.end()) {
        ::unlinkat(dir.get(), partial_journal_name(name).c_str(), 0);
        ::unlinkat(dir.get(), partial_meta_name(name).c_str(), 0);
        sidecars_.erase(it);
    }
    return core::place_result::placed;
}

void posix_folder::sync_folder_of(std::string_view name) {
    // The rename is durable only once the directory is. The file is complete and verified by now, so a failure here
    // is said, not turned into a failed download.
    auto parent = open_parent(dir_.get(), name, false);
    const auto* opened = std::get_if<parent_dir>(&parent);
    if (opened == nullptr || ::fsync(opened->fd.get()) != 0) {
        const auto why = opened == nullptr ? std::get<std::string>(parent) : errno_text(errno);
        log(log_level::warn, "got ", escape_for_terminal(name), ", but flushing its folder failed: ", why,
            "; a crash now could lose the rename");
    }
}

void posix_folder::remove_partial(std::string_view name) {
    auto parent = open_parent(dir_.get(), name, false);
    if (std::holds_alternative<std::string>(parent)) {
        return;
    }
    const int dir = std::get<parent_dir>(parent).fd.get();
    ::unlinkat(dir, partial_file_name(name).c_str(), 0);
    ::unlinkat(dir, partial_journal_name(name).c_str(), 0);
    ::unlinkat(dir, partial_meta_name(name).c_str(), 0);
    if (const auto it = sidecars_.find(name); it != sidecars_.end()) {
        sidecars_.erase(it);
    }
}

std::optional<std::uint64_t> posix_folder::free_space() {
    struct ::statvfs fs {};
    if (::fstatvfs(dir_.get(), &fs) != 0) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

std::shared_ptr<manifest_store> posix_folder::manifests() {
    if (!manifests_tried_) {
        manifests_tried_ = true;
        try {
            manifests_ = std::make_shared<manifest_store>(dir_.get());
        } catch (const std::exception& e) {
            // A read-only folder still shares: its files are hashed again after each restart.
            log(log_level::warn, "manifests are not kept: ", e.what());
        }
    }
    return manifests_;
}

} // namespace p2p
