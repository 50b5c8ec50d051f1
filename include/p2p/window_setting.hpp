// SPDX-License-Identifier: MIT
// window_setting.hpp - how much a download lets its holder have in flight: sized by measurement, or fixed.
#pragma once

#include <cstdint>

namespace p2p {

/// `--window auto` (the default), `--window 4` (chunks) or `--window 8M` (bytes).
struct window_setting {
    enum class kind {
        automatic, ///< Starts at one chunk (stop-and-wait) and grows while the round trip limits (window_control).
        chunks,    ///< `amount` chunks, whatever their size.
        bytes,     ///< `amount` bytes, at least one chunk.
    };
    kind how = kind::automatic;
    std::uint64_t amount = 0;

    static window_setting sized() { return {}; }
    static window_setting of_chunks(std::uint64_t n) { return {kind::chunks, n}; }
    static window_setting of_bytes(std::uint64_t n) { return {kind::bytes, n}; }
    bool automatic() const { return how == kind::automatic; }
    friend bool operator==(const window_setting&, const window_setting&) = default;
};

} // namespace p2p
