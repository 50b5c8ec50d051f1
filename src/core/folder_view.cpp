// SPDX-License-Identifier: MIT
#include "p2p/core/folder_view.hpp"

#include <algorithm>

namespace p2p::core {

folder_view::folder_view(folder_io& disk, bool shared, bool watched, milliseconds rescan_delay, milliseconds settle,
                         steady_time now)
    : disk_(disk), shared_(shared), watched_(watched), rescan_delay_(rescan_delay), settle_(settle) {
    if (!shared_) {
        return; // nothing to list, ever
    }
    rescan(now, true);
    if (!watched_) {
        rescan_at_ = now + periodic_scan;
    }
}

void folder_view::on_changed(steady_time now) {
    if (shared_ && !rescan_at_) {
        rescan_at_ = now + rescan_delay_;
    }
}

void folder_view::landed(std::string_view name, std::shared_ptr<const manifest> m, steady_time now) {
    if (shared_) {
        landed_.insert_or_assign(std::string(name), std::move(m));
        rescan_at_ = rescan_at_ ? std::min(*rescan_at_, now) : now;
    }
}

std::optional<steady_time> folder_view::next_deadline() const {
    std::optional<steady_time> next;
    for (const auto& due : {rescan_at_, settle_at_, announce_at_}) {
        if (due) {
            next = next ? std::min(*next, *due) : *due;
        }
    }
    return next;
}

bool folder_view::on_deadline(steady_time now) {
    const bool scan_due = rescan_at_ && now >= *rescan_at_;
    const bool settle_due = settle_at_ && now >= *settle_at_;
    const bool announce_due = announce_at_ && now >= *announce_at_;
    if (announce_due) {
        announce_at_.reset();
    }
    if (!scan_due && !settle_due) {
        return announce_due && rebuild_list(false);
    }
    if (scan_due) {
        rescan_at_.reset();
        if (!watched_) {
            rescan_at_ = now + periodic_scan;
        }
    }
    return rescan(now, false);
}

bool folder_view::observe(seen_file& f, const file_stat& stat, steady_time now) {
    if (f.stat == stat) {
        return false;
    }
    f.stat = stat;
    f.stat_since = now;
    if (!f.changing_since) {
        f.changing_since = now;
    }
    return true;
}

bool folder_view::settle_if_due(seen_file& f, std::string_view name, steady_time now) {
    if ((f.settled && f.settled_stat == f.stat) || now - f.stat_since < settle_) {
        return false;
    }
    // Unchanged for the settle time: from now on this version is listed and served. A listed file that settled
    // with other content (even of the same size) is news for the other peers too.
    const bool was_listed = f.settled.has_value();
    f.settled = file_entry{std::string(name), f.stat.size};
    f.settled_stat = f.stat;
    f.changing_since.reset();
    settled(std::string(name), f.stat);
    return was_listed;
}

void folder_view::settled(const std::string& name, const file_stat& stat) {
    if (cached_manifest(name, stat) == nullptr) {
        unhashed_.insert(name);
    }
}

void folder_view::plan_settle_check() {
    settle_at_.reset();
    for (const auto& [name, f] : seen_) {
        if (!(f.settled && f.settled_stat == f.stat)) {
            const auto due = f.stat_since + settle_;
            settle_at_ = settle_at_ ? std::min(*settle_at_, due) : due;
        }
    }
}

bool folder_view::rescan(steady_time now, bool initial) {
    auto scanned = disk_.scan();
    if (!scanned) {
        // Said in the log; unsettled files are looked at again with the next change or periodic scan.
        settle_at_.reset();
        if (!rescan_at_) {
            rescan_at_ = now + periodic_scan;
        }
        return false;
    }
    if (watched_ && !disk_.watching_everything()) {
        // Some folder of the tree has no watch (said in the log): from now on, list the folder on a timer.
        watched_ = false;
        if (!rescan_at_) {
            rescan_at_ = now + periodic_scan;
        }
    }
    bool news = false;
    std::map<std::string, seen_file, std::less<>> seen;
    for (auto& entry : *scanned) {
        seen_file f;
        if (auto it = seen_.find(entry.name); it != seen_.end()) {
            f = std::move(it->second);
            observe(f, entry.stat, now);
        } else {
            f.stat = entry.stat;
            f.stat_since = now;
            if (initial) {
                // There before we started: nobody is known to be writing it, and waiting would only delay the
                // first list. Changes from now on make it settle again.
                f.settled = file_entry{entry.name, entry.stat.size};
                f.settled_stat = entry.stat;
                settled(entry.name, entry.stat);
            } else {
                f.changing_since = now;
            }
        }
        if (auto it = landed_.find(entry.name); it != landed_.end()) {
            // A download of ours, verified and complete under its final name: nothing to wait for, and nothing to
            // hash (each piece was checked against this manifest as it arrived).
            if (it->second && it->second->size == entry.stat.size) {
                manifests_.insert_or_assign(entry.name, std::pair{entry.stat, it->second});
            }
            landed_.erase(it);
            f.settled = file_entry{entry.name, entry.stat.size};
            f.settled_stat = entry.stat;
            f.changing_since.reset();
            settled(entry.name, entry.stat);
        }
        news = settle_if_due(f, entry.name, now) || news;
        seen.emplace(std::move(entry.name), std::move(f));
    }
    landed_.clear(); // a name not found now was gone again before the scan
    seen_ = std::move(seen);
    // What is gone can be neither served nor hashed.
    std::erase_if(manifests_, [this](const auto& known) { return !seen_.contains(known.first); });
    std::erase_if(unhashed_, [this](const std::string& name) { return !seen_.contains(name); });
    plan_settle_check();
    return rebuild_list(news);
}

bool folder_view::rebuild_list(bool news) {
    // seen_ is sorted by name, so the list is too.
    std::vector<file_entry> files;
    for (const auto& [name, f] : seen_) {
        if (f.settled) {
            files.push_back(*f.settled);
            if (auto m = cached_manifest(name, f.settled_stat)) {
                files.back().root = m->root;
            }
        }
    }
    if (files == files_ && !news) {
        return false;
    }
    files_ = std::move(files);
    ++version_;
    return true;
}

bool folder_view::lists(std::string_view name) const {
    const auto it = std::lower_bound(files_.begin(), files_.end(), name,
                                     [](const file_entry& e, std::string_view n) { return e.name < n; });
    return it != files_.end() && it->name == name;
}

file_readiness folder_view::readiness(std::string_view name, const file_stat& stat, steady_time now) {
    if (settle_ == milliseconds(0)) {
        return file_readiness::ready;
    }
    auto it = seen_.find(name);
    if (it == seen_.end()) {
        // Not scanned yet (it appeared since): it counts as changing from now on; the scan that settles it also
        // lists it, before anyone is served it.
        seen_file f;
        f.stat = stat;
        f.stat_since = now;
        f.changing_since = now;
        it = seen_.emplace(std::string(name), std::move(f)).first;
    } else {
        observe(it->second, stat, now);
    }
    const auto& f = it->second;
    if (f.settled && f.settled_stat == stat) {
        return file_readiness::ready;
    }
    plan_settle_check();
    if (f.changing_since && now - *f.changing_since >= max_settle_wait) {
        return file_readiness::still_written;
    }
    return file_readiness::settling;
}

std::shared_ptr<const manifest> folder_view::cached_manifest(std::string_view name, const file_stat& stat) const {
    auto it = manifests_.find(name);
    if (it == manifests_.end() || !(it->second.first == stat)) {
        return nullptr;
    }
    return it->second.second;
}

void folder_view::remember_manifest(std::string_view name, const file_stat& stat, std::shared_ptr<const manifest> m,
                                    steady_time now) {
    const auto root = m->root;
    manifests_.insert_or_assign(std::string(name), std::pair{stat, std::move(m)});
    auto it = seen_.find(name);
    if (!shared_ || it == seen_.end() || !it->second.settled || !(it->second.settled_stat == stat)) {
        return; // not (or no longer) the listed version: nothing to announce
    }
    if (auto queued = unhashed_.find(name); queued != unhashed_.end()) {
        unhashed_.erase(queued);
    }
    const auto listed = std::lower_bound(files_.begin(), files_.end(), name,
                                         [](const file_entry& e, std::string_view n) { return e.name < n; });
    if (listed != files_.end() && listed->name == name && listed->root != root) {
        const auto due = now + root_announce_delay;
        announce_at_ = announce_at_ ? std::min(*announce_at_, due) : due;
    }
}

std::optional<std::pair<std::string, file_stat>> folder_view::next_to_hash() {
    while (!unhashed_.empty()) {
        const auto name = std::move(unhashed_.extract(unhashed_.begin()).value());
        const auto it = seen_.find(name);
        // Only the version that is listed now; a file that changed since settles (and is queued) again.
        if (it != seen_.end() && it->second.settled && it->second.settled_stat == it->second.stat &&
            cached_manifest(name, it->second.stat) == nullptr) {
            return std::pair{name, it->second.stat};
        }
    }
    return std::nullopt;
}

std::shared_ptr<const manifest> folder_view::manifest_by_root(const digest& root) const {
    for (const auto& [name, known] : manifests_) {
        if (known.second->root == root) {
            return known.second;
        }
    }
    return nullptr;
}

} // namespace p2p::core
