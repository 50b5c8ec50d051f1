// SPDX-License-Identifier: MIT
#include "p2p/blake2b.hpp"

#include <stdexcept>

namespace p2p {

blake2b::blake2b() {
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium could not be initialised");
    }
    crypto_generichash_init(&state_, nullptr, 0, std::tuple_size_v<digest>);
}

void blake2b::update(const void* data, std::size_t size) {
    crypto_generichash_update(&state_, static_cast<const unsigned char*>(data), size);
}

digest blake2b::final() {
    digest out{};
    crypto_generichash_final(&state_, out.data(), out.size());
    return out;
}

} // namespace p2p
