// SPDX-License-Identifier: MIT
// catalog.hpp - the shared folder: what it lists, how its files are opened, and the hash cache.
#pragma once

#include "p2p/blake2b.hpp"
#include "p2p/file_stat.hpp"
#include "p2p/message.hpp"
#include "p2p/unique_fd.hpp"

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace p2p {

/// A shared file opened for reading.
struct opened_file {
    unique_fd fd;
    file_stat stat;
};

/// The shared folder. All access goes through a directory descriptor and single-component names, so nothing outside
/// the folder is ever opened: names with '/' or ".." are refused before any system call, and O_NOFOLLOW refuses
/// symlinks. Only regular files are listed or served. Hard links are regular files and are served: whoever can put a
/// hard link into the folder could copy the file there as well.
class catalog {
public:
    /// Opens (creating if missing) the folder and watches it with inotify.
    /// Throws std::runtime_error with a one-line reason (it is a regular file, permission denied...).
    explicit catalog(const std::filesystem::path& folder);

    const std::filesystem::path& folder() const { return folder_; }
    int dir_fd() const { return dir_.get(); }
    /// The inotify descriptor to poll, or -1 when watching is unavailable (then rescan on a timer).
    int watch_fd() const { return watch_.get(); }
    /// Reads queued inotify events; true when one concerns a shareable name (our own temp files are ignored).
    bool drain_watch();

    /// Lists the folder again; true (and a new version) when names, sizes or contents changed.
    bool rescan();
    /// Shared files sorted by name.
    const std::vector<file_entry>& files() const { return files_; }
    std::uint64_t version() const { return version_; }

    /// Opens a file to serve it, or returns why not (one line, safe to send to the requester).
    std::variant<opened_file, std::string> open_for_reading(std::string_view name) const;
    /// True when anything (file, directory, link) of that name is in the folder.
    bool exists(std::string_view name) const;

    /// The hash of a file in exactly this state, if known.
    std::optional<digest> cached_hash(std::string_view name, const file_stat& stat) const;
    void remember_hash(std::string_view name, const file_stat& stat, const digest& hash);

private:
    std::filesystem::path folder_;
    unique_fd dir_;
    unique_fd watch_;
    std::vector<file_entry> files_;
    std::map<std::string, file_stat, std::less<>> stats_;
    std::uint64_t version_ = 0;
    std::map<std::string, std::pair<file_stat, digest>, std::less<>> hashes_;
};

} // namespace p2p
