// SPDX-License-Identifier: MIT
// stored_id.hpp - a peer id kept in the shared folder, so that a restarted peer is the same peer to the others.
#pragma once

#include "p2p/peer_id.hpp"

#include <filesystem>

namespace p2p {

/// The id kept in `<folder>/.p2p/id` (16 lowercase hex digits and a newline), made from the system's random source
/// on first use (file mode 0600 in a 0700 folder, written whole or not at all). The id is no secret (every HELLO
/// carries it), so a file others can read is accepted. A file that is there but does not hold an id is refused, never
/// replaced: the user decides whether to remove it (and become a new peer to everyone).
/// Throws std::runtime_error with a one-line reason naming the file.
peer_id load_or_create_peer_id(const std::filesystem::path& folder);

} // namespace p2p
