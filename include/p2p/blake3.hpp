// SPDX-License-Identifier: MIT
// blake3.hpp - incremental BLAKE3-256, the hash of pieces and file ids (docs/manifest.md).
#pragma once

#include "p2p/digest.hpp"

#include <blake3.h>

#include <cstddef>

namespace p2p {

/// Incremental BLAKE3 in its default (unkeyed) mode with 32-byte output, over BLAKE3's upstream C implementation
/// (SIMD chosen at run time). Feed bytes in order with update(); final() may be called any number of times and
/// does not end the hashing; reset() starts a new input. No allocation: the state (about 1.9 KB) is inside.
class blake3_hasher {
public:
    /// A hasher of the empty input.
    blake3_hasher() noexcept;
    /// Appends bytes to the input.
    void update(const void* data, std::size_t size) noexcept;
    /// The hash of everything given so far.
    digest final() const noexcept;
    /// Forgets the input: the hasher is as new.
    void reset() noexcept;

private:
    ::blake3_hasher state_; ///< BLAKE3's own state (the C struct of the same name).
};

/// BLAKE3 of one buffer.
digest blake3(const void* data, std::size_t size) noexcept;

} // namespace p2p
