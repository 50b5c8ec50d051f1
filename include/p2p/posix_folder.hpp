// SPDX-License-Identifier: MIT
// posix_folder.hpp - the shared folder on disk: the core's folder_io done with a directory descriptor, openat and
// O_NOFOLLOW, and inotify to hear of changes.
#pragma once

#include "p2p/core/storage.hpp"
#include "p2p/unique_fd.hpp"

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace p2p {

/// Names of our hidden files for a download of `name`: the partial data and its description. Derived from the name
/// so a restarted peer finds them again; never listed, served or accepted as a download name (".p2p" prefix).
std::string partial_file_name(std::string_view name);
std::string partial_meta_name(std::string_view name);

/// The folder. All access goes through a directory descriptor and single-component names, so nothing outside the
/// folder is ever opened: names with '/' or ".." are refused before any system call, and O_NOFOLLOW refuses
/// symlinks. Only regular files are listed or served. Hard links are regular files and are served: whoever can put
/// a hard link into the folder could copy the file there as well.
class posix_folder final : public core::folder_io {
public:
    /// Opens (creating if missing) the folder and watches it with inotify.
    /// Throws std::runtime_error with a one-line reason (it is a regular file, permission denied...).
    explicit posix_folder(const std::filesystem::path& folder);

    const std::filesystem::path& path() const { return path_; }
    int dir_fd() const { return dir_.get(); }
    /// The inotify descriptor to poll, or -1 when watching is unavailable (then the core rescans on a timer).
    int watch_fd() const { return watch_.get(); }
    /// Reads queued inotify events; true when one concerns a shareable name (our own partial files are ignored).
    bool drain_watch();
    /// Entries the last scan left out (symlinks, folders, special files, unsendable names; not our own .p2p files).
    std::size_t skipped() const { return skipped_; }

    std::optional<std::vector<core::folder_entry>> scan() override;
    std::variant<core::opened_file, std::string> open_shared(std::string_view name) override;
    bool exists(std::string_view name) override;
    std::optional<core::partial_download> find_partial(std::string_view name) override;
    std::variant<std::shared_ptr<core::file_handle>, std::string> open_partial(std::string_view name,
                                                                               bool keep_bytes) override;
    std::optional<std::string> describe_partial(std::string_view name, std::uint64_t size, const digest& hash) override;
    core::place_result place_partial(std::string_view name, bool replace, std::string& error) override;
    void remove_partial(std::string_view name) override;
    std::optional<std::uint64_t> free_space() override;

private:
    std::filesystem::path path_;
    unique_fd dir_;
    unique_fd watch_;
    std::size_t skipped_ = 0;
    /// Skipped names already logged, so each is said once (forgotten when it leaves the folder).
    std::set<std::string, std::less<>> reported_;
};

} // namespace p2p
