// SPDX-License-Identifier: MIT
// core/folder_view.hpp - the shared folder as the core lists it: the files, their version, when to look again, which
// files have settled, the hashes already computed, and the settled files still to hash.
#pragma once

#include "p2p/core/storage.hpp"
#include "p2p/core/time.hpp"
#include "p2p/digest.hpp"
#include "p2p/file_entry.hpp"
#include "p2p/manifest.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::core {

/// Whether a file may be served now (folder_view::readiness).
enum class file_readiness {
    ready,        ///< Its stat has not changed for the settle time: serve it.
    settling,     ///< It changed within the settle time: answer PREPARING and let the downloader ask again.
    still_written ///< It has kept changing for longer than max_settle_wait: refuse it ("still being written").
};

class folder_view {
public:
    /// `shared` false (a one-shot client): the folder is never listed, files() stays empty. `watched`: the shell
    /// tells of changes (inotify), so the folder is listed again only then (and when a file is due to settle);
    /// otherwise every periodic_scan. `settle`: how long a file's stat must stay the same before it is listed and
    /// served (0: at once). Lists the folder once now; what is there already counts as settled.
    folder_view(folder_io& disk, bool shared, bool watched, milliseconds rescan_delay, milliseconds settle,
                steady_time now);

    folder_io& disk() { return disk_; }
    /// Shared files sorted by name: every settled file, and a file that changes again under its last settled size
    /// until it settles anew (so a burst of writes is one list change, not one per write). An entry carries its
    /// root once the manifest of its settled version is known.
    const std::vector<file_entry>& files() const { return files_; }
    /// Whether `name` is in files().
    bool lists(std::string_view name) const;
    /// Grows by one whenever the list changes, a listed file settles with new content, or roots became known.
    std::uint64_t version() const { return version_; }

    /// Something in the folder changed: list it again after rescan_delay (changes come in bursts).
    void on_changed(steady_time now);
    /// A verified download just got its final name: list the folder again at once, with that file as settled (we
    /// wrote all of it, and it is complete) and `m` as its manifest (every piece was checked against it: nothing
    /// to hash again).
    void landed(std::string_view name, std::shared_ptr<const manifest> m, steady_time now);
    std::optional<steady_time> next_deadline() const;
    /// Lists the folder if it is time; true when the list changed (it is then sent to every peer).
    bool on_deadline(steady_time now);

    /// Whether the file `name`, which has `stat` right now (just opened), may be served. A stat the last scan did
    /// not see counts as a change from now on (and a rescan is due when it would settle).
    file_readiness readiness(std::string_view name, const file_stat& stat, steady_time now);

    /// The manifest of a file in exactly this state, if known.
    std::shared_ptr<const manifest> cached_manifest(std::string_view name, const file_stat& stat) const;
    /// Keeps a manifest; when it is the one of a listed file's settled version, its root goes into the list within
    /// root_announce_delay (one list change for a burst of hashes, not one each).
    void remember_manifest(std::string_view name, const file_stat& stat, std::shared_ptr<const manifest> m,
                           steady_time now);
    /// A known manifest with this root, whatever file it came from (GET_MANIFEST names a version by its root).
    std::shared_ptr<const manifest> manifest_by_root(const digest& root) const;

    /// A settled file whose manifest is not known yet, with the stat it settled with, taken off the queue (in
    /// name order): the core hashes it in the background, so its first REQUEST is answered at once. A file is
    /// queued again when it settles with other content.
    std::optional<std::pair<std::string, file_stat>> next_to_hash();
    bool has_unhashed() const { return !unhashed_.empty(); }
    /// A hash of this file was given up before it ended (the REQUEST that wanted it went away): the file goes back
    /// on the queue, so its root is still listed (next_to_hash skips it if it changed or got a manifest meanwhile).
    void hash_given_up(const std::string& name) { unhashed_.insert(name); }

    /// Folder rescan when nobody tells of changes.
    static constexpr milliseconds periodic_scan{1000};
    /// A file that keeps changing this long is refused as "still being written" rather than kept waiting.
    static constexpr milliseconds max_settle_wait{30000};
    /// Roots that became known are listed after this: hashing a folder of small files changes the list once, not
    /// once per file, and a holder's new root still reaches its peers well within a second.
    static constexpr milliseconds root_announce_delay{250};

private:
    /// One name as scans saw it.
    struct seen_file {
        file_stat stat;
        steady_time stat_since;                    ///< First seen with this stat.
        std::optional<steady_time> changing_since; ///< Unsettled since (the first change of this burst).
        std::optional<file_entry> settled;         ///< What was listed when it last settled.
        file_stat settled_stat;                    ///< Its stat then.
    };

    /// Records what a scan or an open found; true when a listed file settled with other content.
    bool observe(seen_file& f, const file_stat& stat, steady_time now);
    bool settle_if_due(seen_file& f, std::string_view name, steady_time now);
    bool rescan(steady_time now, bool initial);
    /// The earliest time an unsettled file would settle.
    void plan_settle_check();
    /// files_ from seen_ and the known roots; true (and version_ grows) when it changed or `news` says so.
    bool rebuild_list(bool news);
    /// The file settled with this stat: to be hashed unless its manifest is known.
    void settled(const std::string& name, const file_stat& stat);

    folder_io& disk_;
    bool shared_;
    bool watched_;
    milliseconds rescan_delay_;
    milliseconds settle_;
    std::vector<file_entry> files_;
    std::map<std::string, seen_file, std::less<>> seen_;
    std::uint64_t version_ = 0;
    std::map<std::string, std::pair<file_stat, std::shared_ptr<const manifest>>, std::less<>> manifests_;
    std::optional<steady_time> rescan_at_;   ///< A rescan is due then.
    std::optional<steady_time> settle_at_;   ///< A file would settle then: scan again to see that it did.
    std::optional<steady_time> announce_at_; ///< Newly known roots go into the list then.
    /// Our own downloads and their manifests, settled at the next scan.
    std::map<std::string, std::shared_ptr<const manifest>, std::less<>> landed_;
    std::set<std::string, std::less<>> unhashed_; ///< Settled files whose manifest is not known (next_to_hash).
};

} // namespace p2p::core
