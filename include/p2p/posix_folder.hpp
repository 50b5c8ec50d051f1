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
#include <vector>

namespace p2p {

/// Names of our hidden files for a download of `name`: the partial data and its description. Derived from the name
/// so a restarted peer finds them again; never listed, served or accepted as a download name (".p2p" prefix).
std::string partial_file_name(std::string_view name);
std::string partial_meta_name(std::string_view name);
/// The journal of its verified pieces (core/piece_journal.hpp).
std::string partial_journal_name(std::string_view name);

/// The folder and every folder under it. Names are relative paths ("sub/a.txt"); all access goes through directory
/// descriptors, one component at a time (openat with O_DIRECTORY | O_NOFOLLOW), so nothing outside the folder is
/// ever opened: names with ".." or empty components are refused before any system call, and a symlink anywhere in a
/// path is refused, never followed. Only regular files are listed or served. Hard links are regular files and are
/// served: whoever can put a hard link into the folder could copy the file there as well.
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
    /// Entries the last scan left out (symlinks, special files, unsendable names, folders past the depth limit,
    /// files past max_files; not our own .p2p files).
    std::size_t skipped() const { return skipped_; }
    bool watching_everything() const override { return watching_everything_; }
    core::boot_id boot() const override { return boot_; }

    std::optional<std::vector<core::folder_entry>> scan() override;
    std::variant<core::opened_file, std::string> open_shared(std::string_view name) override;
    bool exists(std::string_view name) override;
    std::optional<core::partial_download> find_partial(std::string_view name) override;
    std::variant<std::shared_ptr<core::file_handle>, std::string> open_partial(std::string_view name,
                                                                               bool keep_bytes) override;
    std::variant<std::shared_ptr<core::file_handle>, std::string> open_journal(std::string_view name,
                                                                               bool keep_records) override;
    std::optional<std::string> describe_partial(std::string_view name, std::uint64_t size, const digest& hash) override;
    core::place_result place_partial(std::string_view name, bool replace, std::string& error) override;
    void sync_folder_of(std::string_view name) override;
    void remove_partial(std::string_view name) override;
    std::optional<std::uint64_t> free_space() override;
    std::shared_ptr<manifest_store> manifests() override;

private:
    /// What one scan collects on its way down the tree.
    struct scan_state {
        const std::set<std::string, std::less<>>& reported_before;
        std::vector<core::folder_entry> files;
        std::size_t skipped = 0;
        std::set<std::string, std::less<>> reported;
        /// Counts a name left out, and says why once.
        void skip(std::string_view name, std::string_view why);
    };
    /// Lists the folder open as `fd` (taken over), whose path is `prefix` ("" or "a/b/") at `depth` components, and
    /// the folders under it; false when this one cannot be listed (said in the log).
    bool scan_folder(int fd, const std::string& prefix, std::size_t depth, scan_state& state);
    /// Adds an inotify watch on the folder open as `fd`; false when the kernel refuses (errno says why).
    bool watch_dir(int fd);
    /// Watches a subfolder; the first refusal (the watch limit) turns watching_everything() off and is said once.
    void watch_subfolder(int fd, std::string_view name);

    std::filesystem::path path_;
    unique_fd dir_;
    unique_fd watch_;
    std::size_t skipped_ = 0;
    bool watching_everything_ = true;
    core::boot_id boot_{}; ///< Read once: it cannot change while we run.
    std::shared_ptr<manifest_store> manifests_;
    bool manifests_tried_ = false; ///< Opened (or failed to open, said once) already.
    /// Skipped names already logged, so each is said once (forgotten when it leaves the folder).
    std::set<std::string, std::less<>> reported_;
    /// Downloads whose .meta or .journal this process made or found (open_partial removed any older journal): only
    /// these have any to remove once the file is in place.
    std::set<std::string, std::less<>> sidecars_;
};

} // namespace p2p
