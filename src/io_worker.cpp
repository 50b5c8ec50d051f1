// SPDX-License-Identifier: MIT
#include "p2p/io_worker.hpp"

#include "p2p/thread_without_signals.hpp"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace p2p {

namespace {

/// Best effort: a thread that cannot lower its priority still does its work.
void lower_this_thread_priority() {
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    [[maybe_unused]] int nice = ::setpriority(PRIO_PROCESS, tid, 19);
    // ioprio_set(IOPRIO_WHO_PROCESS, tid, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7)): glibc has no wrapper.
    constexpr int who_process = 1, class_best_effort = 2, class_shift = 13, lowest = 7;
    [[maybe_unused]] long io = ::syscall(SYS_ioprio_set, who_process, tid, (class_best_effort << class_shift) | lowest);
}

} // namespace

io_worker::io_worker(bool low_priority) : event_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!event_) {
        throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    thread_ = thread_without_signals([this, low_priority] {
        if (low_priority) {
            lower_this_thread_priority();
        }
        run();
    });
}

io_worker::~io_worker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true; // a running hash sees it at its next block: no waiting for a multi-GB file
    }
    wake_.notify_one();
    thread_.join();
}

void io_worker::submit(core::job_id id, core::job work) {
    {
        std::lock_guard lock(mutex_);
        queue_.emplace_back(id, std::move(work));
    }
    wake_.notify_one();
}

void io_worker::cancel(core::job_id id) {
    std::lock_guard lock(mutex_);
    if (running_ == id) {
        cancel_running_ = id;
        return;
    }
    std::erase_if(queue_, [id](const auto& entry) { return entry.first == id; });
}

bool io_worker::should_stop(core::job_id id) const {
    return stopping_.load(std::memory_order_relaxed) || cancel_running_.load(std::memory_order_relaxed) == id;
}

std::vector<core::job_result> io_worker::take_results() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(event_.get(), &count, sizeof count);
    std::lock_guard lock(mutex_);
    return std::exchange(results_, {});
}

void io_worker::run() {
    for (;;) {
        std::pair<core::job_id, core::job> work;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) {
                return; // queued work is dropped: its owner is going away too
            }
            work = std::move(queue_.front());
            queue_.pop_front();
            running_ = work.first;
        }
        auto done = core::run_job(work.first, work.second, [&] { return should_stop(work.first); });
        work.second = core::job{}; // release the file before the result is seen
        {
            std::lock_guard lock(mutex_);
            running_ = 0;
            results_.push_back(std::move(done));
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(event_.get(), &one, sizeof one);
    }
}

} // namespace p2p
