// SPDX-License-Identifier: MIT
#include "p2p/file_name.hpp"

#include "p2p/protocol.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

namespace p2p {

namespace {

/// Decodes one UTF-8 sequence at text[i]; returns its length and sets cp, or 0 when the bytes there are invalid.
std::size_t decode_utf8(std::string_view text, std::size_t i, char32_t& cp) {
    const auto byte = [&](std::size_t k) {
        return static_cast<unsigned char>(text[k]);
    };
    const unsigned char b0 = byte(i);
    std::size_t len = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    } else if ((b0 & 0xe0) == 0xc0) {
        len = 2, cp = b0 & 0x1f, min = 0x80;
    } else if ((b0 & 0xf0) == 0xe0) {
        len = 3, cp = b0 & 0x0f, min = 0x800;
    } else if ((b0 & 0xf8) == 0xf0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        return 0;
    }
    return len;
}

bool is_control(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/// Invisible characters that reorder or hide text (the "Trojan Source" set, zero-width marks, BOM).
bool is_invisible_format(char32_t cp) {
    return (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) ||
           cp == 0xfeff;
}

} // namespace

bool is_valid_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp = 0;
        auto len = decode_utf8(text, i, cp);
        if (len == 0) {
            return false;
        }
        i += len;
    }
    return true;
}

bool is_reserved_name(std::string_view name) {
    return name.starts_with(".p2p");
}

std::optional<std::string> file_name_problem(std::string_view name) {
    if (name.empty()) {
        return "empty name";
    }
    if (name.size() > protocol::max_name_bytes) {
        return "name longer than 255 bytes";
    }
    if (name == "." || name == "..") {
        return "name is '.' or '..'";
    }
    for (std::size_t i = 0; i < name.size();) {
        char32_t cp = 0;
        auto len = decode_utf8(name, i, cp);
        if (len == 0) {
            return "name is not valid UTF-8";
        }
        if (cp == '/' || cp == '\\') {
            return "name contains a path separator";
        }
        if (cp == 0) {
            return "name contains NUL";
        }
        if (is_control(cp)) {
            return "name contains a control character";
        }
        if (is_invisible_format(cp)) {
            return "name contains an invisible formatting character";
        }
        i += len;
    }
    if (is_reserved_name(name)) {
        return "names starting with .p2p are reserved";
    }
    return std::nullopt;
}

std::optional<std::string> file_path_problem(std::string_view path) {
    if (path.empty()) {
        return "empty name";
    }
    if (path.size() > protocol::max_path_bytes) {
        return "name longer than " + std::to_string(protocol::max_path_bytes) + " bytes";
    }
    if (path.front() == '/' || path.back() == '/') {
        return std::string("name starts or ends with '/'");
    }
    std::size_t depth = 0;
    for (std::size_t start = 0; start <= path.size();) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        if (++depth > protocol::max_path_depth) {
            return "name deeper than " + std::to_string(protocol::max_path_depth) + " components";
        }
        const auto component = path.substr(start, end - start);
        if (component.empty()) {
            return std::string("name has an empty component ('//')");
        }
        if (auto problem = file_name_problem(component)) {
            return problem;
        }
        start = end + 1;
    }
    return std::nullopt;
}

std::string escape_for_terminal(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    char buf[16];
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp = 0;
        auto len = decode_utf8(text, i, cp);
        if (len == 0) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(text[i]));
            out += buf;
            ++i;
            continue;
        }
        if (cp == '\\') {
            out += "\\\\";
        } else if (is_control(cp)) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
            out += buf;
        } else if (is_invisible_format(cp)) {
            std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(cp));
            out += buf;
        } else {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    return out;
}

std::string clip_utf8(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) {
        return std::string(text);
    }
    std::size_t end = max_bytes;
    // Step back over continuation bytes (10xxxxxx) so the cut falls before a character, not inside one.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
        --end;
    }
    return std::string(text.substr(0, end));
}

} // namespace p2p
