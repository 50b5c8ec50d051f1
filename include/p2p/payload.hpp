// SPDX-License-Identifier: MIT
// payload.hpp - bytes owned by whatever made them, moved without copying: what a CHUNK carries.
//
// A received ZeroMQ frame, a pooled send buffer read straight from disk, a string in the simulation: each keeps its
// bytes its own way, and the message values, the codec and the core pass them on without a copy and without knowing
// which. The owner's state lives inside the payload (up to 64 bytes, a zmq_msg_t fits), so wrapping a frame
// allocates nothing. zmq_frame.hpp turns frames into payloads and back; nothing here needs ZeroMQ.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace p2p {

class payload {
public:
    /// How one kind of owner keeps its bytes in a payload's storage; one static instance per kind.
    struct owner_ops {
        /// The bytes (the owner may move them when it moves, e.g. a small message held inline).
        std::byte* (*data)(payload& self) noexcept;
        /// Move-constructs the owner state of `from` into `to`'s storage; `from` is left with none.
        void (*move)(payload& from, payload& to) noexcept;
        /// Releases the bytes.
        void (*destroy)(payload& self) noexcept;
    };
    /// Room for the owner's state.
    static constexpr std::size_t storage_bytes = 64;

    payload() noexcept = default;
    /// For owners: `ops` and `size` describe state the caller then constructs in storage().
    payload(const owner_ops* ops, std::size_t size) noexcept : ops_(ops), size_(size) {}
    /// A heap copy of `bytes`: for tests, the simulation and anything off the hot path.
    static payload copy_of(std::string_view bytes);
    /// `size` bytes on the heap, not initialised: a buffer to read into.
    static payload allocate(std::size_t size);

    payload(payload&& other) noexcept;
    payload& operator=(payload&& other) noexcept;
    payload(const payload&) = delete;
    payload& operator=(const payload&) = delete;
    ~payload() { reset(); }

    std::byte* data() noexcept { return ops_ != nullptr ? ops_->data(*this) : nullptr; }
    const std::byte* data() const noexcept { return const_cast<payload*>(this)->data(); }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::string_view view() const noexcept {
        return size_ == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(data()), size_);
    }
    std::string to_string() const { return std::string(view()); }

    /// Which kind of owner holds the bytes (nullptr when empty), so a shell can take back what it made.
    const owner_ops* owner() const noexcept { return ops_; }
    void* storage() noexcept { return storage_; }
    const void* storage() const noexcept { return storage_; }
    /// Forgets the owner without releasing anything: its state was moved out of storage() by the caller.
    void disown() noexcept {
        ops_ = nullptr;
        size_ = 0;
    }
    /// Releases the bytes; the payload is empty after.
    void reset() noexcept;

    /// Same bytes (not the same owner).
    friend bool operator==(const payload& a, const payload& b) noexcept { return a.view() == b.view(); }

private:
    const owner_ops* ops_ = nullptr;
    std::size_t size_ = 0;
    alignas(std::max_align_t) unsigned char storage_[storage_bytes];
};

} // namespace p2p
