// SPDX-License-Identifier: MIT
// blake2b.hpp - incremental BLAKE2b-256 (libsodium crypto_generichash) for whole-file integrity.
#pragma once

#include "p2p/digest.hpp"

#include <sodium.h>

#include <cstddef>

namespace p2p {

/// Incremental hasher; feed bytes in order with update(), then final() once.
class blake2b {
public:
    blake2b();
    void update(const void* data, std::size_t size);
    digest final();

private:
    crypto_generichash_state state_;
};

} // namespace p2p
