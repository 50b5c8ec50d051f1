// SPDX-License-Identifier: MIT
// chunk_pool.hpp - reusable buffers for outgoing CHUNK payloads, handed to ZeroMQ without a copy.
#pragma once

#include "p2p/payload.hpp"

#include <zmq.hpp>

#include <cstddef>
#include <cstdint>

namespace p2p {

/// A sender reads each chunk with pread straight into a buffer from here and moves it into a zmq::message_t that
/// owns it until ZeroMQ's I/O thread has written it to the socket; then the buffer comes back for the next chunk.
/// So the hot path allocates nothing once the pool is warm, and memory stays bounded by what is in flight (at most
/// protocol::max_window_bytes per transfer, and no more messages than the socket's high-water mark) plus at most
/// `max_idle_bytes` kept spare.
///
/// Buffers come back on ZeroMQ's I/O thread, so the free list is guarded by a mutex; its state is reference
/// counted, because a message can outlive the pool (a peer that stops while chunks are still queued).
class chunk_pool {
public:
    explicit chunk_pool(std::size_t max_idle_bytes = 32u << 20);
    ~chunk_pool();
    chunk_pool(const chunk_pool&) = delete;
    chunk_pool& operator=(const chunk_pool&) = delete;

    /// A message of exactly `size` bytes (contents undefined) backed by a pooled buffer.
    zmq::message_t take(std::size_t size);
    /// The same as a payload the core can read a chunk into; it goes out as that very frame (zmq_frame.hpp).
    payload take_payload(std::size_t size);

    /// Buffers allocated since the start: stays flat in a steady transfer, which the tests check.
    std::uint64_t allocations() const;

private:
    struct state;
    state* state_;
};

} // namespace p2p
