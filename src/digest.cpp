// SPDX-License-Identifier: MIT
// digest.cpp - hex text of digests.
#include "p2p/digest.hpp"

namespace p2p {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

/// The value of one lowercase hex digit, or -1.
int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

} // namespace

std::string to_hex(const digest& d) {
    std::string out;
    out.reserve(d.size() * 2);
    for (auto byte : d) {
        out.push_back(hex_digits[byte >> 4]);
        out.push_back(hex_digits[byte & 0xf]);
    }
    return out;
}

std::optional<digest> digest_from_hex(std::string_view text) {
    digest out{};
    if (text.size() != out.size() * 2) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int high = hex_value(text[2 * i]);
        const int low = hex_value(text[2 * i + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        out[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
    return out;
}

} // namespace p2p
