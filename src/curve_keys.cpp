// SPDX-License-Identifier: MIT
#include "p2p/curve_keys.hpp"

#include "p2p/blake2b.hpp"
#include "p2p/digest.hpp"
#include "p2p/private_files.hpp"

#include <zmq.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace p2p {

namespace {

constexpr std::size_t z85_key_length = 40;
constexpr std::string_view key_file = "curve.key";

std::runtime_error key_error(const std::filesystem::path& path, const std::string& what) {
    return std::runtime_error(path.string() + ": " + what);
}

} // namespace

bool is_valid_key(std::string_view key_z85) {
    if (key_z85.size() != z85_key_length) {
        return false;
    }
    std::array<std::uint8_t, 32> raw{};
    const std::string text(key_z85);
    return zmq_z85_decode(raw.data(), text.c_str()) != nullptr;
}

std::string key_text(std::string_view key_z85) {
    std::array<std::uint8_t, 32> raw{};
    const std::string text(key_z85);
    if (key_z85.size() != z85_key_length || zmq_z85_decode(raw.data(), text.c_str()) == nullptr) {
        return text;
    }
    return to_hex(raw);
}

std::optional<std::string> parse_key(std::string_view text) {
    if (is_valid_key(text)) {
        return std::string(text);
    }
    if (text.size() != 2 * 32) {
        return std::nullopt;
    }
    // Hex keys are accepted in either case (people copy them from anywhere); digests have one spelling.
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto raw = digest_from_hex(lower);
    if (!raw) {
        return std::nullopt;
    }
    std::array<char, z85_key_length + 1> z85{};
    if (zmq_z85_encode(z85.data(), raw->data(), raw->size()) == nullptr) {
        return std::nullopt;
    }
    return std::string(z85.data());
}

peer_id peer_id_for_key(std::string_view public_key_z85) {
    blake2b h;
    h.update(public_key_z85.data(), public_key_z85.size());
    const auto d = h.final();
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) {
        value = value << 8 | d[static_cast<std::size_t>(i)];
    }
    // Routing ids must not begin with a zero byte (libzmq reserves those), as for random ids.
    if ((value >> 56) == 0) {
        value |= std::uint64_t{1} << 56;
    }
    return peer_id(value);
}

curve_keypair load_or_create_keypair(const std::filesystem::path& folder) {
    const auto path = private_dir(folder) / key_file;
    if (auto text = read_private_file(path, 128, true)) {
        curve_keypair keys;
        if (text->size() < 2 * z85_key_length + 1) {
            throw key_error(path, "is not a key file");
        }
        keys.public_key = text->substr(0, z85_key_length);
        keys.secret_key = text->substr(z85_key_length + 1, z85_key_length);
        if (!is_valid_key(keys.public_key) || !is_valid_key(keys.secret_key)) {
            throw key_error(path, "is not a key file");
        }
        return keys;
    }
    char public_key[z85_key_length + 1] = {};
    char secret_key[z85_key_length + 1] = {};
    if (zmq_curve_keypair(public_key, secret_key) != 0) {
        throw std::runtime_error("this libzmq cannot make CURVE keys (built without CURVE support)");
    }
    write_private_file(path, std::string(public_key) + "\n" + secret_key + "\n");
    return curve_keypair{public_key, secret_key};
}

std::set<std::string> read_allowlist(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        throw std::runtime_error(file.string() + ": cannot read the allowlist");
    }
    std::set<std::string> keys;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        // Z85 uses '#' and '@' too, so a comment is a whole line starting with '#'; after the key, anything
        // separated by white space is a label ("KEY laptop").
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        const auto end = line.find_first_of(" \t\r", first);
        auto key = parse_key(line.substr(first, end == std::string::npos ? std::string::npos : end - first));
        if (!key) {
            throw std::runtime_error(file.string() + ":" + std::to_string(number) +
                                     ": not a public key (64 hex digits, or 40 characters of Z85)");
        }
        keys.insert(std::move(*key));
    }
    return keys;
}

keyed_address split_keyed_address(std::string_view text) {
    // Hex first: 64 digits and '@'.
    constexpr std::size_t hex_length = 64;
    if (text.size() > hex_length + 1 && text[hex_length] == '@') {
        if (auto key = parse_key(text.substr(0, hex_length))) {
            return keyed_address{std::move(*key), std::string(text.substr(hex_length + 1))};
        }
    }
    // Z85 itself may hold '@' or ':', so the key is recognised by its fixed length, not by searching.
    if (text.size() > z85_key_length + 1 && text[z85_key_length] == '@' &&
        is_valid_key(text.substr(0, z85_key_length))) {
        return keyed_address{std::string(text.substr(0, z85_key_length)), std::string(text.substr(z85_key_length + 1))};
    }
    return keyed_address{std::nullopt, std::string(text)};
}

} // namespace p2p
