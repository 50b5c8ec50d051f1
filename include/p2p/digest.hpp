// SPDX-License-Identifier: MIT
// digest.hpp - a 32-byte hash value (BLAKE2b-256 or BLAKE3) and its hex text.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace p2p {

/// A 256-bit hash: BLAKE2b-256 (whole-file check, blake2b.hpp) or BLAKE3 (pieces and file ids, blake3.hpp).
using digest = std::array<std::uint8_t, 32>;

/// Lowercase hex of a digest (64 characters).
std::string to_hex(const digest& d);

/// The digest written as exactly 64 lowercase hex digits, or nullopt for anything else (uppercase included: one
/// spelling per value, so text that names a digest compares as bytes).
std::optional<digest> digest_from_hex(std::string_view text);

} // namespace p2p
