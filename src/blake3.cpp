// SPDX-License-Identifier: MIT
// blake3.cpp - the C++ face of BLAKE3's C implementation.
#include "p2p/blake3.hpp"

namespace p2p {

blake3_hasher::blake3_hasher() noexcept {
    ::blake3_hasher_init(&state_);
}

void blake3_hasher::update(const void* data, std::size_t size) noexcept {
    ::blake3_hasher_update(&state_, data, size);
}

digest blake3_hasher::final() const noexcept {
    digest out{};
    ::blake3_hasher_finalize(&state_, out.data(), out.size());
    return out;
}

void blake3_hasher::reset() noexcept {
    ::blake3_hasher_reset(&state_);
}

digest blake3(const void* data, std::size_t size) noexcept {
    blake3_hasher h;
    h.update(data, size);
    return h.final();
}

} // namespace p2p
