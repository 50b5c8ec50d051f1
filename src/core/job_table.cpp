// SPDX-License-Identifier: MIT
#include "p2p/core/job_table.hpp"

#include "p2p/core/download_table.hpp"
#include "p2p/core/folder_view.hpp"
#include "p2p/core/upload_table.hpp"
#include "p2p/manifest.hpp"

#include <algorithm>

namespace p2p::core {

job_table::job_table(core_state& state) : state_(state) {}

job_id job_table::start(job work, purpose why) {
    const auto id = next_id_++;
    jobs_.emplace(id, std::move(why));
    state_.out.start_job(id, std::move(work));
    return id;
}

void job_table::cancel(std::map<job_id, purpose>::iterator it) {
    state_.out.cancel_job(it->first);
    ++state_.stats.jobs_cancelled;
    jobs_.erase(it);
}

std::map<job_id, job_table::purpose>::iterator job_table::find_hash(const std::string& name, const file_stat& stat) {
    return std::find_if(jobs_.begin(), jobs_.end(), [&](const auto& entry) {
        const auto* hash = std::get_if<upload_hash>(&entry.second);
        return hash != nullptr && hash->name == name && hash->stat == stat;
    });
}

void job_table::start_hash(const std::string& name, const file_stat& stat, const std::shared_ptr<file_handle>& file,
                           std::set<upload_key> waiters, bool background) {
    start(hash_job{file, stat.size, piece_size_for(stat.size), state_.folder->disk().manifests(), name, stat, nullptr,
                   journal_key{}, background},
          upload_hash{name, stat, std::move(waiters), std::nullopt, background});
    ++state_.stats.hash_jobs;
}

bool job_table::background_running() const {
    return std::any_of(jobs_.begin(), jobs_.end(), [](const auto& entry) {
        const auto* hash = std::get_if<upload_hash>(&entry.second);
        return hash != nullptr && hash->background;
    });
}

void job_table::wait_for_hash(const std::string& name, const file_stat& stat, const std::shared_ptr<file_handle>& file,
                              const upload_key& waiter) {
    if (auto it = find_hash(name, stat); it != jobs_.end()) {
        auto& hash = std::get<upload_hash>(it->second);
        if (!hash.background) {
            hash.waiters.insert(waiter);
            hash.orphaned_at.reset();
            return;
        }
        // Someone waits for it now: at nice 19 on a busy machine it could take minutes. It starts again at full
        // priority (what the background hash read is read again, once).
        cancel(it);
    }
    start_hash(name, stat, file, {waiter}, false);
}

void job_table::plan_background_hash() {
    if (state_.stopping || background_running()) {
        return;
    }
    while (auto next = state_.folder->next_to_hash()) {
        auto& [name, stat] = *next;
        if (find_hash(name, stat) != jobs_.end()) {
            continue; // a REQUEST's hash of this very version runs already
        }
        auto opened = state_.folder->disk().open_shared(name);
        auto* file = std::get_if<opened_file>(&opened);
        if (file == nullptr || !(file->stat == stat)) {
            continue; // gone or changed since the scan: the scan that sees it settle again queues it again
        }
        start_hash(name, stat, file->file, {}, true);
        return;
    }
}

void job_table::forget_waiter(const upload_key& waiter, steady_time now) {
    for (auto& [id, why] : jobs_) {
        if (auto* hash = std::get_if<upload_hash>(&why); hash && hash->waiters.erase(waiter) > 0) {
            if (hash->waiters.empty() && !hash->background) {
                hash->orphaned_at = now;
            }
            return;
        }
    }
}

void job_table::start_resume_hash(std::uint32_t transfer, std::shared_ptr<file_handle> file,
                                  std::shared_ptr<file_handle> journal, const partial_download& partial) {
    // The holder cuts the file by the piece size rule; should its OFFER say otherwise, these leaves are not used.
    const auto piece_size = piece_size_for(partial.size);
    start(hash_job{std::move(file),
                   partial.length,
                   piece_size,
                   nullptr,
                   {},
                   {},
                   std::move(journal),
                   journal_key{partial.size, partial.hash, piece_size, state_.folder->disk().boot()}},
          resume_hash{transfer, partial});
}

void job_table::start_journal(std::uint32_t transfer, journal_job work) {
    const auto durable = work.durable;
    start(std::move(work), journal_write{transfer, durable});
}

void job_table::start_sync(std::vector<std::uint32_t> transfers, std::vector<std::shared_ptr<file_handle>> files) {
    start(sync_job{std::move(files)}, final_sync{std::move(transfers)});
}

void job_table::forget_download(std::uint32_t transfer) {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        const auto* resume = std::get_if<resume_hash>(&it->second);
        auto* sync = std::get_if<final_sync>(&it->second);
        const auto* journal = std::get_if<journal_write>(&it->second);
        auto here = it++;
        if (sync != nullptr) {
            // The batch's other downloads still wait for it, and the download table for its end: it runs on.
            std::erase(sync->transfers, transfer);
        } else if ((resume != nullptr && resume->transfer == transfer) ||
                   (journal != nullptr && journal->transfer == transfer)) {
            cancel(here);
        }
    }
}

void job_table::on_job_done(job_result& result, steady_time now) {
    auto it = jobs_.find(result.id);
    if (it == jobs_.end()) {
        return; // given up meanwhile
    }
    auto why = std::move(it->second);
    jobs_.erase(it);
    std::visit(
        [&](auto& w) {
            using T = std::decay_t<decltype(w)>;
            if constexpr (std::is_same_v<T, upload_hash>) {
                state_.uploads->on_hash_done(w.name, w.stat, w.waiters, result, now);
            } else if constexpr (std::is_same_v<T, resume_hash>) {
                state_.downloads->on_resume_hashed(w.transfer, w.partial, result, now);
            } else if constexpr (std::is_same_v<T, journal_write>) {
                state_.downloads->on_journaled(w.transfer, w.durable, result);
            } else {
                state_.downloads->on_synced(w.transfers, result, now);
            }
        },
        why);
}

std::optional<steady_time> job_table::next_deadline() const {
    if (!state_.stopping && state_.folder->has_unhashed() && !background_running()) {
        return steady_time{}; // due now: on_deadline starts it
    }
    std::optional<steady_time> next;
    for (const auto& [id, why] : jobs_) {
        if (const auto* hash = std::get_if<upload_hash>(&why); hash && hash->orphaned_at) {
            const auto due = *hash->orphaned_at + hash_linger;
            next = next ? std::min(*next, due) : due;
        }
    }
    return next;
}

void job_table::on_deadline(steady_time now) {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        const auto* hash = std::get_if<upload_hash>(&it->second);
        auto here = it++;
        if (hash != nullptr && hash->orphaned_at && now >= *hash->orphaned_at + hash_linger) {
            state_.folder->hash_given_up(hash->name);
            cancel(here);
        }
    }
}

} // namespace p2p::core
