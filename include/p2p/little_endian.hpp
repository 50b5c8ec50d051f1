// SPDX-License-Identifier: MIT
// little_endian.hpp - fixed-width integers as little-endian bytes, whatever the host: the manifest's root input,
// the piece journal and captures all move between machines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace p2p {

/// Writes the sizeof(T) bytes of `value` at `out`, least significant first.
template <typename T>
void store_le(std::uint8_t* out, T value) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        out[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(value) >> (8 * i));
    }
}

/// Reads what store_le<T> wrote.
template <typename T>
T load_le(const std::uint8_t* in) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        value |= std::uint64_t{in[i]} << (8 * i);
    }
    return static_cast<T>(value);
}

/// Appends the sizeof(T) bytes of `value` to `out`, least significant first.
template <typename T>
void append_le(std::string& out, T value) {
    std::uint8_t bytes[sizeof(T)];
    store_le(bytes, value);
    out.append(reinterpret_cast<const char*>(bytes), sizeof(T));
}

} // namespace p2p
