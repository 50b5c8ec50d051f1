// SPDX-License-Identifier: MIT
// shutdown.hpp - leaving as the original peer did, without making the user wait on a transfer that never ends.
#pragma once

#include "event_output.hpp"
#include "stop_signal.hpp"

#include "web/bridge.hpp"

#include "p2p/peer.hpp"

namespace p2p::cli {

/// Prints "Shutting down peer...", lets the transfers in flight finish while they make progress (saying which,
/// and that Ctrl-C stops at once), prints every event meanwhile, then "Peer <id> stopped". A stop signal during
/// the wait leaves at once; one that arrived before the call (and began the shutdown) does not count. With a web
/// bridge, web requests are refused from the start (503) while its event streams follow to the end, and close.
void shut_down(peer& p, stop_signal& stop, event_output& out, web::bridge* web = nullptr);

} // namespace p2p::cli
