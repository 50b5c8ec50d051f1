// SPDX-License-Identifier: MIT
// beacon.hpp - the LAN discovery beacon: one small fixed-size UDP datagram (docs/protocol.md, "LAN beacons").
//
// Not part of the ZeroMQ wire: a beacon only says "a peer listens on this port of the address this came from". It is
// a hint, never trusted (docs/security.md): what it leads to is an ordinary connect with HELLO.
#pragma once

#include "p2p/peer_id.hpp"
#include "p2p/protocol.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace p2p {

struct beacon {
    peer_id id;
    std::uint16_t port = 0;             ///< Where the peer listens (TCP), on the address the beacon came from.
    std::uint32_t protocol_version = 0; ///< The ZeroMQ protocol version the peer speaks (protocol::version).
    bool leaving = false;               ///< The last beacon of a peer that stops.
    std::optional<std::string> key;     ///< Secure mode: the peer's CURVE public key, Z85 (40 characters).

    friend bool operator==(const beacon&, const beacon&) = default;
};

namespace beacon_format {
inline constexpr std::array<std::uint8_t, 4> magic{'P', '2', 'P', 'B'};
inline constexpr std::uint8_t version = 1;
inline constexpr std::uint8_t flag_leaving = 0x01;
inline constexpr std::uint8_t flag_key = 0x02;
inline constexpr std::size_t plain_size = 20;      ///< Without a key.
inline constexpr std::size_t keyed_size = 20 + 32; ///< With the 32 bytes of a CURVE public key.
inline constexpr std::uint16_t default_port = protocol::default_discover_port; ///< UDP; --discover-port.
} // namespace beacon_format

/// The datagram for `b`. `b.key`, when set, must be a valid Z85 key (our own).
std::vector<std::uint8_t> encode_beacon(const beacon& b);

/// The beacon in `bytes`, or nullopt with the reason in `why` (when given): wrong size, magic, format version,
/// unknown flags, a key flag that disagrees with the size, port 0, id 0. Never throws.
std::optional<beacon> decode_beacon(std::span<const std::uint8_t> bytes, std::string* why = nullptr);

} // namespace p2p
