// SPDX-License-Identifier: MIT
#include "p2p/probe_routing_id.hpp"

#include <algorithm>

namespace p2p {

std::string probe_routing_id(peer_id self, std::uint64_t n) {
    return self.hex() + "." + std::to_string(n);
}

std::optional<peer_id> prober_of(std::string_view routing_id) {
    constexpr std::size_t hex_digits = 16, max_number_digits = 20;
    if (routing_id.size() < hex_digits + 2 || routing_id.size() > hex_digits + 1 + max_number_digits ||
        routing_id[hex_digits] != '.') {
        return std::nullopt;
    }
    const auto number = routing_id.substr(hex_digits + 1);
    const bool decimal = std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!decimal || (number.size() > 1 && number[0] == '0')) {
        return std::nullopt;
    }
    return peer_id::from_hex(routing_id.substr(0, hex_digits));
}

} // namespace p2p
