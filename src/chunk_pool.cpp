// SPDX-License-Identifier: MIT
#include "p2p/chunk_pool.hpp"

#include "p2p/zmq_frame.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace p2p {

namespace {

/// Smallest buffer handed out: smaller chunks share one size class, so a few sizes cover every request.
constexpr std::size_t min_capacity = 64u << 10;

} // namespace

struct chunk_pool::state {
    struct buffer {
        state* owner;
        std::size_t capacity;
        void* data() { return this + 1; }
    };

    explicit state(std::size_t max_idle) : max_idle_bytes(max_idle) {}
    ~state() {
        for (auto* b : idle) {
            ::operator delete(b);
        }
    }

    buffer* take(std::size_t size) {
        const std::size_t capacity = std::bit_ceil(std::max(size, min_capacity));
        {
            std::lock_guard lock(mutex);
            // The most recently returned buffer first: it is likely still in the CPU cache.
            auto it = std::find_if(idle.rbegin(), idle.rend(), [&](buffer* b) { return b->capacity == capacity; });
            if (it != idle.rend()) {
                buffer* b = *it;
                idle.erase(std::next(it).base());
                idle_bytes -= capacity;
                return b;
            }
        }
        ++allocations;
        auto* b = static_cast<buffer*>(::operator new(sizeof(buffer) + capacity));
        b->owner = this;
        b->capacity = capacity;
        return b;
    }

    void give_back(buffer* b) {
        {
            std::lock_guard lock(mutex);
            if (!closed && idle_bytes + b->capacity <= max_idle_bytes) {
                idle.push_back(b);
                idle_bytes += b->capacity;
                b = nullptr;
            }
        }
        ::operator delete(b);
    }

    void release() {
        if (references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    /// Called by ZeroMQ (on its I/O thread, or wherever the last copy of the message is closed).
    static void on_message_freed(void*, void* hint) noexcept {
        auto* b = static_cast<buffer*>(hint);
        state* owner = b->owner;
        owner->give_back(b);
        owner->release();
    }

    const std::size_t max_idle_bytes;
    std::mutex mutex;
    std::vector<buffer*> idle;
    std::size_t idle_bytes = 0;
    bool closed = false;
    /// The pool itself plus one per buffer out in a message.
    std::atomic<std::size_t> references{1};
    std::atomic<std::uint64_t> allocations{0};
};

chunk_pool::chunk_pool(std::size_t max_idle_bytes) : state_(new state(max_idle_bytes)) {}

chunk_pool::~chunk_pool() {
    {
        std::lock_guard lock(state_->mutex);
        state_->closed = true; // buffers still out are freed when they come back
    }
    state_->release();
}

zmq::message_t chunk_pool::take(std::size_t size) {
    auto* b = state_->take(size);
    state_->references.fetch_add(1, std::memory_order_relaxed);
    return zmq::message_t(b->data(), size, &state::on_message_freed, b);
}

payload chunk_pool::take_payload(std::size_t size) {
    return to_payload(take(size));
}

std::uint64_t chunk_pool::allocations() const {
    return state_->allocations.load();
}

} // namespace p2p
