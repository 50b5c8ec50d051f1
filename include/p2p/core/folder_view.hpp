// SPDX-License-Identifier: MIT
// core/folder_view.hpp - the shared folder as the core lists it: the files, their version, when to look again, and
// the hashes already computed.
#pragma once

#include "p2p/core/storage.hpp"
#include "p2p/core/time.hpp"
#include "p2p/digest.hpp"
#include "p2p/file_entry.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::core {

class folder_view {
public:
    /// `watched`: the shell tells of changes (inotify), so the folder is listed again only then; otherwise every
    /// periodic_scan. `shared` false (a one-shot client): the folder is never listed, files() stays empty. Lists
    /// the folder once now.
    folder_view(folder_io& disk, bool shared, bool watched, milliseconds rescan_delay, steady_time now);

    folder_io& disk() { return disk_; }
    /// Shared files sorted by name.
    const std::vector<file_entry>& files() const { return files_; }
    /// Grows by one whenever the list changes.
    std::uint64_t version() const { return version_; }

    /// Something in the folder changed: list it again after rescan_delay (changes come in bursts).
    void on_changed(steady_time now);
    /// List it again at once (a download just landed in it).
    void rescan_soon(steady_time now);
    std::optional<steady_time> next_deadline() const;
    /// Lists the folder if it is time; true when the list changed (it is then sent to every peer).
    bool on_deadline(steady_time now);

    /// The BLAKE2b of a file in exactly this state, if known.
    std::optional<digest> cached_hash(std::string_view name, const file_stat& stat) const;
    void remember_hash(std::string_view name, const file_stat& stat, const digest& hash);

    /// Folder rescan when nobody tells of changes.
    static constexpr milliseconds periodic_scan{1000};

private:
    bool rescan();

    folder_io& disk_;
    bool shared_;
    bool watched_;
    milliseconds rescan_delay_;
    std::vector<file_entry> files_;
    std::map<std::string, file_stat, std::less<>> stats_;
    std::uint64_t version_ = 0;
    std::map<std::string, std::pair<file_stat, digest>, std::less<>> hashes_;
    std::optional<steady_time> rescan_at_; ///< A rescan is due then.
};

} // namespace p2p::core
