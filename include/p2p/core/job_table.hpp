// SPDX-License-Identifier: MIT
// core/job_table.hpp - every file job the core has asked for, what each is for, and who waits for it.
#pragma once

#include "p2p/core/jobs.hpp"
#include "p2p/core/state.hpp"
#include "p2p/core/storage.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>

namespace p2p::core {

/// An upload: the peer it goes to and that peer's transfer number.
using upload_key = std::pair<peer_id, std::uint32_t>;

class job_table {
public:
    explicit job_table(core_state& state);

    /// An upload needs the hash of the file version it serves: starts one, or joins the one already running for
    /// that version (a REQUEST/CANCEL loop must not pile up hashes). A background hash of that version gives way
    /// to one at full priority: a user waits for it now.
    void wait_for_hash(const std::string& name, const file_stat& stat, const std::shared_ptr<file_handle>& file,
                       const upload_key& waiter);
    /// The upload no longer waits (it ended). A hash nobody waits for is given up after hash_linger, unless another
    /// REQUEST for that version wants it meanwhile.
    void forget_waiter(const upload_key& waiter, steady_time now);
    /// A download resumes: hash the pieces in the `partial.length` bytes of its partial file (partial.size is at
    /// most max_file_size), but for those its journal (nullptr for none) holds.
    void start_resume_hash(std::uint32_t transfer, std::shared_ptr<file_handle> file,
                           std::shared_ptr<file_handle> journal, const partial_download& partial);
    /// Makes a download's first pieces durable and marks them so in its journal.
    void start_journal(std::uint32_t transfer, journal_job work);
    /// Downloads that have every byte: make them durable, in one job, before they are renamed.
    void start_sync(std::vector<std::uint32_t> transfers, std::vector<std::shared_ptr<file_handle>> files);
    /// The download ended: every job of it is given up (a sync of a batch goes on for the others, without it).
    void forget_download(std::uint32_t transfer);

    /// A result came back: passed to whoever still wants it; results of given-up jobs are dropped.
    void on_job_done(job_result& result, steady_time now);

    /// The folder has settled files whose manifest is not known: hash the next one in the background, one at a
    /// time (memory stays that of one hash; the peer's own transfers keep the disk first).
    void plan_background_hash();

    /// When an orphaned hash is given up, or at once when a background hash can start.
    std::optional<steady_time> next_deadline() const;
    void on_deadline(steady_time now);

    /// Jobs asked for and not yet back (bounded: one hash per served file version; per download one resume hash or
    /// sync, and one journal write).
    std::size_t size() const { return jobs_.size(); }

    /// How long a hash nobody waits for is kept running for a REQUEST that might come back for it.
    static constexpr milliseconds hash_linger{1000};

private:
    struct upload_hash {
        std::string name;
        file_stat stat;
        std::set<upload_key> waiters;
        std::optional<steady_time> orphaned_at; ///< Since when nobody waits for it.
        bool background = false;                ///< Started for the folder, not a REQUEST: never orphaned.
    };
    struct resume_hash {
        std::uint32_t transfer = 0;
        partial_download partial;
    };
    struct final_sync {
        std::vector<std::uint32_t> transfers;
    };
    struct journal_write {
        std::uint32_t transfer = 0;
        std::uint64_t durable = 0; ///< Pieces [0, durable) are durable once it is done.
    };
    using purpose = std::variant<upload_hash, resume_hash, final_sync, journal_write>;

    job_id start(job work, purpose why);
    void cancel(std::map<job_id, purpose>::iterator it);
    /// The hash of this file version asked for already, if any.
    std::map<job_id, purpose>::iterator find_hash(const std::string& name, const file_stat& stat);
    /// Starts the hash of a shared file's version (`background`: nobody waits for it yet).
    void start_hash(const std::string& name, const file_stat& stat, const std::shared_ptr<file_handle>& file,
                    std::set<upload_key> waiters, bool background);
    /// A background hash is out (at most one).
    bool background_running() const;

    core_state& state_;
    std::map<job_id, purpose> jobs_;
    job_id next_id_ = 1;
};

} // namespace p2p::core
