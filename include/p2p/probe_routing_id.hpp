// SPDX-License-Identifier: MIT
// probe_routing_id.hpp - the routing id of a probe: a second connection that asks only "who are you?".
//
// A ROUTER holds one connection per routing id and, with ROUTER_HANDOVER off, drops a second connection under an id
// it holds unheard. A peer that dials an address of a peer it reached already (under another of its addresses) would
// wait out its connect timeout. Beside such a dial it opens a probe under a routing id of its own, which the ROUTER
// answers with HELLO and nothing else (docs/protocol.md, "Probes"), so the dialler learns at once whom it reached.
#pragma once

#include "p2p/peer_id.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace p2p {

/// Probe `n` of peer `self`: its 16 hex digits, a dot, and `n` in decimal (1 to 20 digits, no leading zero).
std::string probe_routing_id(peer_id self, std::uint64_t n);
/// The peer that sent probe `routing_id`; nullopt when the routing id is not a probe's.
std::optional<peer_id> prober_of(std::string_view routing_id);

} // namespace p2p
