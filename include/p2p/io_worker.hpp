// SPDX-License-Identifier: MIT
// io_worker.hpp - the one background thread for slow file work (whole-file hashing, fsync), so the poll loop
// never blocks on it. Results come back through an eventfd the loop polls. Work nobody waits for any more can be
// cancelled: a queued job is dropped, a running hash stops within one block (1 MiB), and so does the destructor.
#pragma once

#include "p2p/blake2b.hpp"
#include "p2p/unique_fd.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace p2p {

class io_worker {
public:
    /// Hash bytes [0, length) of fd; the result carries the hasher state so it can go on (resume) or finish.
    struct hash_job {
        unique_fd fd;
        std::uint64_t length = 0;
    };
    /// fsync(fd): flushing a large download can take seconds on a real disk.
    struct fsync_job {
        unique_fd fd;
    };
    struct result {
        std::uint64_t job = 0;
        bool ok = false;
        std::string error;            ///< When !ok: one line ("cancelled" for a job stopped by cancel()).
        std::optional<blake2b> state; ///< For hash jobs.
    };

    io_worker();
    ~io_worker();
    io_worker(const io_worker&) = delete;
    io_worker& operator=(const io_worker&) = delete;

    /// Queues work; the returned id comes back in its result.
    std::uint64_t submit(hash_job job);
    std::uint64_t submit(fsync_job job);
    /// Gives a job up: dropped if it has not started, stopped at its next block if it runs (its result then says
    /// "cancelled"). Unknown or finished jobs are ignored.
    void cancel(std::uint64_t id);
    /// Jobs queued or running: bounded by what the node has open (one hash per file version, one per download).
    std::size_t pending() const;
    /// Readable when results are waiting.
    int notify_fd() const { return event_.get(); }
    /// All finished results, in completion order.
    std::vector<result> take_results();

private:
    using job = std::variant<hash_job, fsync_job>;
    std::uint64_t enqueue(job work);
    void run();
    result execute(hash_job& work, std::uint64_t id);
    result execute(fsync_job& work, std::uint64_t id);
    /// Checked between blocks of a running job.
    bool should_stop(std::uint64_t id) const;

    unique_fd event_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<std::uint64_t, job>> queue_;
    std::vector<result> results_;
    std::uint64_t next_id_ = 1;
    std::uint64_t running_ = 0;                    ///< The job the thread works on; 0 when idle.
    std::atomic<std::uint64_t> cancel_running_{0}; ///< cancel() of the running job: it stops at its next block.
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

} // namespace p2p
