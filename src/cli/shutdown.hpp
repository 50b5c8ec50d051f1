// SPDX-License-Identifier: MIT
// shutdown.hpp - leaving as the original peer did, without making the user wait on a transfer that never ends.
#pragma once

#include "console.hpp"
#include "stop_signal.hpp"

#include "p2p/peer.hpp"

namespace p2p::cli {

/// Prints "Shutting down peer...", lets the transfers in flight finish while they make progress (saying which,
/// and that Ctrl-C stops at once), prints every event meanwhile, then "Peer <id> stopped". A stop signal during
/// the wait leaves at once; one that arrived before the call (and began the shutdown) does not count.
void shut_down(peer& p, stop_signal& stop, console& screen);

} // namespace p2p::cli
