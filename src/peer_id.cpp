// SPDX-License-Identifier: MIT
#include "p2p/peer_id.hpp"

#include <sodium.h>

#include <stdexcept>

namespace p2p {

peer_id peer_id::random() {
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium could not be initialised");
    }
    std::uint64_t value = 0;
    // Zero is kept as "no id" for default-constructed values.
    while (value == 0) {
        randombytes_buf(&value, sizeof value);
    }
    return peer_id(value);
}

std::optional<peer_id> peer_id::from_hex(std::string_view text) {
    if (text.size() != 16) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (char c : text) {
        int digit = 0;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
        } else {
            return std::nullopt;
        }
        value = (value << 4) | static_cast<std::uint64_t>(digit);
    }
    return peer_id(value);
}

std::string peer_id::hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = digits[(value_ >> ((15 - i) * 4)) & 0xf];
    }
    return out;
}

} // namespace p2p
