// SPDX-License-Identifier: MIT
// peer_id.hpp - the random 64-bit identity of a peer and its text forms.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace p2p {

/// A peer's identity: 64 random bits chosen at start.
///
/// On the wire (HELLO) it is a msgpack unsigned integer. As a ZeroMQ routing id it is the 16 lowercase hex
/// digits, which never begin with a zero byte (libzmq reserves those for generated ids) and read well in captures.
/// Users see the first 8 hex digits, as in the original peer.
class peer_id {
public:
    constexpr peer_id() = default;
    constexpr explicit peer_id(std::uint64_t value) : value_(value) {}

    /// A fresh id from the system's random source (libsodium randombytes).
    static peer_id random();
    /// Parses exactly 16 hex digits; nullopt otherwise.
    static std::optional<peer_id> from_hex(std::string_view text);

    constexpr std::uint64_t value() const { return value_; }
    /// All 16 hex digits: the routing id and the form in logs and captures.
    std::string hex() const;
    /// The 8 hex digits shown to users.
    std::string short_hex() const { return hex().substr(0, 8); }

    friend constexpr bool operator==(peer_id, peer_id) = default;
    friend constexpr auto operator<=>(peer_id, peer_id) = default;

private:
    std::uint64_t value_ = 0;
};

} // namespace p2p

template <>
struct std::hash<p2p::peer_id> {
    std::size_t operator()(p2p::peer_id id) const noexcept { return std::hash<std::uint64_t>{}(id.value()); }
};
