// SPDX-License-Identifier: MIT
// blake2b.hpp - incremental BLAKE2b-256 (libsodium crypto_generichash) for whole-file integrity.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace p2p {

/// A BLAKE2b-256 digest.
using digest = std::array<std::uint8_t, 32>;

/// Lowercase hex of a digest (64 characters).
std::string to_hex(const digest& d);

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
