// SPDX-License-Identifier: MIT
#include "p2p/core/folder_view.hpp"

#include <algorithm>

namespace p2p::core {

folder_view::folder_view(folder_io& disk, bool shared, bool watched, milliseconds rescan_delay, steady_time now)
    : disk_(disk), shared_(shared), watched_(watched), rescan_delay_(rescan_delay) {
    if (!shared_) {
        return; // nothing to list, ever
    }
    rescan();
    if (!watched_) {
        rescan_at_ = now + periodic_scan;
    }
}

void folder_view::on_changed(steady_time now) {
    if (shared_ && !rescan_at_) {
        rescan_at_ = now + rescan_delay_;
    }
}

void folder_view::rescan_soon(steady_time now) {
    if (shared_) {
        rescan_at_ = rescan_at_ ? std::min(*rescan_at_, now) : now;
    }
}

std::optional<steady_time> folder_view::next_deadline() const {
    return rescan_at_;
}

bool folder_view::on_deadline(steady_time now) {
    if (!rescan_at_ || now < *rescan_at_) {
        return false;
    }
    rescan_at_.reset();
    if (!watched_) {
        rescan_at_ = now + periodic_scan;
    }
    return rescan();
}

bool folder_view::rescan() {
    auto scanned = disk_.scan();
    if (!scanned) {
        return false;
    }
    std::vector<file_entry> files;
    std::map<std::string, file_stat, std::less<>> stats;
    for (auto& entry : *scanned) {
        files.push_back(file_entry{entry.name, entry.stat.size});
        stats.emplace(std::move(entry.name), entry.stat);
    }
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    if (files == files_ && stats == stats_) {
        return false;
    }
    files_ = std::move(files);
    stats_ = std::move(stats);
    ++version_;
    return true;
}

std::optional<digest> folder_view::cached_hash(std::string_view name, const file_stat& stat) const {
    auto it = hashes_.find(name);
    if (it == hashes_.end() || !(it->second.first == stat)) {
        return std::nullopt;
    }
    return it->second.second;
}

void folder_view::remember_hash(std::string_view name, const file_stat& stat, const digest& hash) {
    hashes_.insert_or_assign(std::string(name), std::pair{stat, hash});
}

} // namespace p2p::core
