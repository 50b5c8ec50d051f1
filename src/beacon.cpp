// SPDX-License-Identifier: MIT
#include "p2p/beacon.hpp"

#include <zmq.h>

#include <algorithm>

namespace p2p {

namespace {

void put_be(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
}

std::uint64_t get_be(std::span<const std::uint8_t> bytes, std::size_t at, int count) {
    std::uint64_t value = 0;
    for (int i = 0; i < count; ++i) {
        value = (value << 8) | bytes[at + static_cast<std::size_t>(i)];
    }
    return value;
}

std::optional<beacon> refuse(std::string* why, const char* reason) {
    if (why != nullptr) {
        *why = reason;
    }
    return std::nullopt;
}

} // namespace

std::vector<std::uint8_t> encode_beacon(const beacon& b) {
    std::vector<std::uint8_t> out(beacon_format::magic.begin(), beacon_format::magic.end());
    out.reserve(beacon_format::keyed_size);
    out.push_back(beacon_format::version);
    std::uint8_t flags = 0;
    if (b.leaving) {
        flags |= beacon_format::flag_leaving;
    }
    std::array<std::uint8_t, 32> raw{};
    if (b.key && b.key->size() == 40 && zmq_z85_decode(raw.data(), b.key->c_str()) != nullptr) {
        flags |= beacon_format::flag_key;
    }
    out.push_back(flags);
    put_be(out, b.port, 2);
    put_be(out, b.protocol_version, 4);
    put_be(out, b.id.value(), 8);
    if (flags & beacon_format::flag_key) {
        out.insert(out.end(), raw.begin(), raw.end());
    }
    return out;
}

std::optional<beacon> decode_beacon(std::span<const std::uint8_t> bytes, std::string* why) {
    if (bytes.size() != beacon_format::plain_size && bytes.size() != beacon_format::keyed_size) {
        return refuse(why, "wrong size");
    }
    if (!std::equal(beacon_format::magic.begin(), beacon_format::magic.end(), bytes.begin())) {
        return refuse(why, "not a beacon (magic)");
    }
    if (bytes[4] != beacon_format::version) {
        return refuse(why, "unknown beacon format version");
    }
    const auto flags = bytes[5];
    if ((flags & ~(beacon_format::flag_leaving | beacon_format::flag_key)) != 0) {
        return refuse(why, "unknown flags");
    }
    const bool keyed = (flags & beacon_format::flag_key) != 0;
    if (keyed != (bytes.size() == beacon_format::keyed_size)) {
        return refuse(why, "the key flag disagrees with the size");
    }
    beacon b;
    b.leaving = (flags & beacon_format::flag_leaving) != 0;
    b.port = static_cast<std::uint16_t>(get_be(bytes, 6, 2));
    b.protocol_version = static_cast<std::uint32_t>(get_be(bytes, 8, 4));
    b.id = peer_id(get_be(bytes, 12, 8));
    if (b.port == 0) {
        return refuse(why, "port 0");
    }
    if (b.id == peer_id{}) {
        return refuse(why, "id 0");
    }
    if (keyed) {
        std::array<char, 41> z85{};
        if (zmq_z85_encode(z85.data(), bytes.data() + beacon_format::plain_size, 32) == nullptr) {
            return refuse(why, "bad key");
        }
        b.key = std::string(z85.data(), 40);
    }
    return b;
}

} // namespace p2p
