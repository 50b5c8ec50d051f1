// SPDX-License-Identifier: MIT
#include "p2p/io_worker.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace p2p {

namespace {
constexpr std::size_t read_block = 1u << 20;
}

io_worker::io_worker() : event_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!event_) {
        throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    thread_ = std::thread([this] { run(); });
}

io_worker::~io_worker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true; // a running hash sees it at its next block: no waiting for a multi-GB file
    }
    wake_.notify_one();
    thread_.join();
}

void io_worker::cancel(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    if (running_ == id) {
        cancel_running_ = id;
        return;
    }
    std::erase_if(queue_, [id](const auto& entry) { return entry.first == id; });
}

std::size_t io_worker::pending() const {
    std::lock_guard lock(mutex_);
    return queue_.size() + (running_ != 0 ? 1 : 0);
}

bool io_worker::should_stop(std::uint64_t id) const {
    return stopping_.load(std::memory_order_relaxed) || cancel_running_.load(std::memory_order_relaxed) == id;
}

std::uint64_t io_worker::submit(hash_job work) {
    return enqueue(std::move(work));
}
std::uint64_t io_worker::submit(fsync_job work) {
    return enqueue(std::move(work));
}

std::uint64_t io_worker::enqueue(job work) {
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        queue_.emplace_back(id, std::move(work));
    }
    wake_.notify_one();
    return id;
}

std::vector<io_worker::result> io_worker::take_results() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(event_.get(), &count, sizeof count);
    std::lock_guard lock(mutex_);
    return std::exchange(results_, {});
}

void io_worker::run() {
    for (;;) {
        std::pair<std::uint64_t, job> work;
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
        result done = std::visit([&](auto& w) { return execute(w, work.first); }, work.second);
        done.job = work.first;
        {
            std::lock_guard lock(mutex_);
            running_ = 0;
            results_.push_back(std::move(done));
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(event_.get(), &one, sizeof one);
    }
}

io_worker::result io_worker::execute(hash_job& work, std::uint64_t id) {
    result out;
    blake2b hasher;
    std::vector<char> buffer(read_block);
    std::uint64_t offset = 0;
    while (offset < work.length) {
        if (should_stop(id)) {
            out.error = "cancelled";
            return out;
        }
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), work.length - offset));
        auto n = ::pread(work.fd.get(), buffer.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            out.error = n == 0 ? "file shrank while being hashed" : std::generic_category().message(errno);
            return out;
        }
        hasher.update(buffer.data(), static_cast<std::size_t>(n));
        offset += static_cast<std::uint64_t>(n);
    }
    out.ok = true;
    out.state = hasher;
    return out;
}

io_worker::result io_worker::execute(fsync_job& work, std::uint64_t) {
    result out;
    if (::fsync(work.fd.get()) != 0) {
        out.error = "fsync failed: " + std::generic_category().message(errno);
        return out;
    }
    out.ok = true;
    return out;
}

} // namespace p2p
