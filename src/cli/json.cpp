// SPDX-License-Identifier: MIT
#include "json.hpp"

#include "p2p/file_name.hpp"

#include <array>
#include <cmath>
#include <cstdio>

namespace p2p::cli {

namespace {

/// Length of the UTF-8 sequence that starts with byte b, or 0 if b cannot start one.
std::size_t sequence_length(unsigned char b) {
    if (b < 0x80) {
        return 1;
    }
    if ((b & 0xE0) == 0xC0) {
        return 2;
    }
    if ((b & 0xF0) == 0xE0) {
        return 3;
    }
    if ((b & 0xF8) == 0xF0) {
        return 4;
    }
    return 0;
}

} // namespace

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c < 0x20 || c == 0x7F) {
            std::array<char, 8> escaped{};
            std::snprintf(escaped.data(), escaped.size(), "\\u%04x", c);
            out += escaped.data();
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else {
            const auto length = sequence_length(c);
            if (length == 0 || i + length > text.size() || !is_valid_utf8(text.substr(i, length))) {
                out += "\\ufffd";
                ++i;
            } else {
                out += text.substr(i, length);
                i += length;
            }
        }
    }
    return out + "\"";
}

std::string json_number(double value, int decimals) {
    if (!std::isfinite(value)) {
        value = 0;
    }
    std::array<char, 64> out{};
    std::snprintf(out.data(), out.size(), "%.*f", decimals, value);
    return out.data();
}

} // namespace p2p::cli
