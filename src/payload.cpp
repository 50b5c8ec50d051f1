// SPDX-License-Identifier: MIT
#include "p2p/payload.hpp"

#include <cstring>
#include <new>

namespace p2p {

namespace {

/// A heap buffer: its pointer is all the state.
struct heap_owner {
    std::byte* bytes;
};

const payload::owner_ops heap_ops{
    [](payload& self) noexcept { return static_cast<heap_owner*>(self.storage())->bytes; },
    [](payload& from, payload& to) noexcept {
        new (to.storage()) heap_owner{static_cast<heap_owner*>(from.storage())->bytes};
    },
    [](payload& self) noexcept { delete[] static_cast<heap_owner*>(self.storage())->bytes; },
};

} // namespace

payload payload::allocate(std::size_t size) {
    payload out(&heap_ops, size);
    new (out.storage()) heap_owner{new std::byte[size == 0 ? 1 : size]};
    return out;
}

payload payload::copy_of(std::string_view bytes) {
    auto out = allocate(bytes.size());
    if (!bytes.empty()) {
        std::memcpy(out.data(), bytes.data(), bytes.size());
    }
    return out;
}

payload::payload(payload&& other) noexcept : ops_(other.ops_), size_(other.size_) {
    if (ops_ != nullptr) {
        ops_->move(other, *this);
    }
    other.disown();
}

payload& payload::operator=(payload&& other) noexcept {
    if (this != &other) {
        reset();
        ops_ = other.ops_;
        size_ = other.size_;
        if (ops_ != nullptr) {
            ops_->move(other, *this);
        }
        other.disown();
    }
    return *this;
}

void payload::reset() noexcept {
    if (ops_ != nullptr) {
        ops_->destroy(*this);
    }
    disown();
}

} // namespace p2p
