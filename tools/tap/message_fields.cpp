// SPDX-License-Identifier: MIT
// message_fields.cpp - message fields for dump and replay, and their text and JSON forms.
#include "message_fields.hpp"

#include "p2p/file_name.hpp"

#include <cstdio>

namespace p2p::tap {

namespace {

struct field_lister {
    std::vector<field> out;

    void operator()(const hello& m) {
        out = {{"id", m.id}, {"endpoint", m.endpoint}, {"list_version", m.list_version}, {"client", m.client}};
    }
    void operator()(const file_list& m) {
        out = {{"list_version", m.list_version},
               {"page", std::uint64_t{m.page}},
               {"page_count", std::uint64_t{m.page_count}},
               {"files", m.files}};
    }
    void operator()(const request& m) {
        out = {{"transfer", std::uint64_t{m.transfer}},
               {"name", m.name},
               {"offset", m.offset},
               {"chunk_size", std::uint64_t{m.chunk_size}},
               {"credit", std::uint64_t{m.credit}}};
    }
    void operator()(const offer& m) {
        out = {{"transfer", std::uint64_t{m.transfer}},
               {"size", m.size},
               {"root", m.root},
               {"piece_size", std::uint64_t{m.piece_size}},
               {"chunk_size", std::uint64_t{m.chunk_size}}};
    }
    void operator()(const chunk& m) {
        out = {{"transfer", std::uint64_t{m.transfer}},
               {"offset", m.offset},
               {"length", std::uint64_t{m.data.size()}},
               {"last", m.last},
               {"holder_busy_us", m.holder_busy_us}};
    }
    void operator()(const ack& m) {
        out = {{"transfer", std::uint64_t{m.transfer}},
               {"next_offset", m.next_offset},
               {"credit", std::uint64_t{m.credit}}};
    }
    void operator()(const not_found& m) {
        out = {{"transfer", std::uint64_t{m.transfer}}, {"name", m.name}, {"reason", m.reason}};
    }
    void operator()(const abort_transfer& m) { out = {{"transfer", std::uint64_t{m.transfer}}, {"reason", m.reason}}; }
    void operator()(const ping&) {}
    void operator()(const pong&) {}
    void operator()(const goodbye&) {}
    void operator()(const preparing& m) { out = {{"transfer", std::uint64_t{m.transfer}}, {"size", m.size}}; }
    void operator()(const cancel_transfer& m) { out = {{"transfer", std::uint64_t{m.transfer}}, {"reason", m.reason}}; }
    void operator()(const get_manifest& m) {
        out = {{"transfer", std::uint64_t{m.transfer}}, {"root", m.root}, {"first", m.first}};
    }
    void operator()(const manifest_page& m) {
        // The leaves themselves are 32 bytes each, up to 8192 of them: the count says what a reader needs.
        out = {{"transfer", std::uint64_t{m.transfer}}, {"first", m.first}, {"leaves", std::uint64_t{m.leaves.size()}}};
    }
    void operator()(const peer_list& m) {
        // Each entry is an id, an endpoint and a key: the count says what a reader of a capture needs most.
        out = {{"peers", std::uint64_t{m.list.size()}}};
    }
};

std::string terminal_quoted(std::string_view text) {
    std::string out = "\"";
    out += escape_for_terminal(text);
    out += '"';
    return out;
}

struct text_renderer {
    std::string operator()(std::uint64_t v) const { return std::to_string(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return terminal_quoted(v); }
    std::string operator()(peer_id v) const { return v.short_hex(); }
    std::string operator()(const digest& v) const { return to_hex(v); }
    std::string operator()(const std::vector<file_entry>& files) const {
        std::string out = "[";
        for (std::size_t i = 0; i < files.size(); ++i) {
            out += i == 0 ? "" : ", ";
            out += terminal_quoted(files[i].name);
            out += ' ';
            out += std::to_string(files[i].size);
            if (files[i].root) {
                out += ' ' + to_hex(*files[i].root).substr(0, 16); // enough to tell versions apart in a dump
            }
        }
        return out + "]";
    }
};

struct json_renderer {
    std::string operator()(std::uint64_t v) const { return std::to_string(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return json_string(v); }
    std::string operator()(peer_id v) const { return json_string(v.hex()); }
    std::string operator()(const digest& v) const { return json_string(to_hex(v)); }
    std::string operator()(const std::vector<file_entry>& files) const {
        std::string out = "[";
        for (std::size_t i = 0; i < files.size(); ++i) {
            out += i == 0 ? "{\"name\":" : ",{\"name\":";
            out += json_string(files[i].name);
            out += ",\"size\":";
            out += std::to_string(files[i].size);
            if (files[i].root) {
                out += ",\"root\":" + json_string(to_hex(*files[i].root));
            }
            out += '}';
        }
        return out + "]";
    }
};

/// Decodes the UTF-8 sequence at text[i] into cp and returns its length, or returns 0 for an invalid byte.
std::size_t utf8_at(std::string_view text, std::size_t i, char32_t& cp) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t len = b0 < 0x80 ? 1 : (b0 & 0xe0) == 0xc0 ? 2 : (b0 & 0xf0) == 0xe0 ? 3 : (b0 & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || i + len > text.size()) {
        return 0;
    }
    // Whether the sequence is well formed is p2p::is_valid_utf8's call; here we only assemble the code point.
    if (!is_valid_utf8(text.substr(i, len))) {
        return 0;
    }
    cp = len == 1 ? b0 : b0 & (0x7f >> len);
    for (std::size_t k = 1; k < len; ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    }
    return len;
}

void append_u16(std::string& out, unsigned value) {
    // "\uXXXX" of the low 16 bits (callers pass UTF-16 code units).
    static constexpr char hex[] = "0123456789abcdef";
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
        out += hex[(value >> shift) & 0xf];
    }
}

} // namespace

std::vector<field> fields_of(const message& msg) {
    field_lister lister;
    std::visit(lister, msg);
    return std::move(lister.out);
}

std::string value_text(const field_value& value) {
    return std::visit(text_renderer{}, value);
}

std::string fields_text(const std::vector<field>& fields) {
    std::string out;
    for (const auto& f : fields) {
        out += out.empty() ? "" : " ";
        out += f.name;
        out += '=';
        out += value_text(f.value);
    }
    return out;
}

std::string fields_json(const std::vector<field>& fields) {
    std::string out = "{";
    for (const auto& f : fields) {
        out += out.size() == 1 ? "" : ",";
        out += json_string(f.name);
        out += ':';
        out += std::visit(json_renderer{}, f.value);
    }
    return out + "}";
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp = 0xfffd;
        std::size_t len = utf8_at(text, i, cp);
        i += len == 0 ? 1 : len;
        if (cp == '"' || cp == '\\') {
            out += '\\';
            out += static_cast<char>(cp);
        } else if (cp >= 0x20 && cp < 0x7f) {
            out += static_cast<char>(cp);
        } else if (cp < 0x10000) {
            append_u16(out, static_cast<unsigned>(cp));
        } else {
            // Outside the BMP JSON needs a UTF-16 surrogate pair.
            const auto v = static_cast<unsigned>(cp - 0x10000);
            append_u16(out, 0xd800 + (v >> 10));
            append_u16(out, 0xdc00 + (v & 0x3ff));
        }
    }
    return out + "\"";
}

std::string hex_bytes(const void* data, std::size_t size, std::size_t max) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    std::string out;
    for (std::size_t i = 0; i < size && i < max; ++i) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
        out += i == 0 ? "" : " ";
        out += buf;
    }
    if (size > max) {
        out += " ...";
    }
    return out;
}

} // namespace p2p::tap
