// SPDX-License-Identifier: MIT
// io_worker.hpp - the one background thread for the core's slow file jobs (whole-file hashing, fsync), so the poll
// loop never blocks on them. Results come back through an eventfd the loop polls. A job nobody waits for any more
// can be cancelled: a queued job is dropped, a running one stops within one block (1 MiB), and so does the
// destructor.
#pragma once

#include "p2p/core/jobs.hpp"
#include "p2p/unique_fd.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace p2p {

class io_worker {
public:
    /// `low_priority`: the thread runs at nice 19 and the lowest best-effort I/O priority, for work nobody waits
    /// for yet (hashing settled files ahead of their first REQUEST).
    explicit io_worker(bool low_priority = false);
    ~io_worker();
    io_worker(const io_worker&) = delete;
    io_worker& operator=(const io_worker&) = delete;

    /// Queues a job under the core's id; its result comes back with that id.
    void submit(core::job_id id, core::job work);
    /// Gives a job up: dropped if it has not started, stopped at its next block if it runs (its result then says
    /// "cancelled"). Unknown or finished jobs are ignored.
    void cancel(core::job_id id);
    /// Readable when results are waiting.
    int notify_fd() const { return event_.get(); }
    /// All finished results, in completion order.
    std::vector<core::job_result> take_results();

private:
    void run();
    /// Checked between blocks of the running job.
    bool should_stop(core::job_id id) const;

    unique_fd event_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<core::job_id, core::job>> queue_;
    std::vector<core::job_result> results_;
    core::job_id running_ = 0;                    ///< The job the thread works on; 0 when idle.
    std::atomic<core::job_id> cancel_running_{0}; ///< cancel() of the running job: it stops at its next block.
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

} // namespace p2p
