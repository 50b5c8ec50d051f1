// SPDX-License-Identifier: MIT
// download_request.hpp - what to download and from whom: what a front end hands to peer::start_download.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace p2p {

struct download_request {
    std::string name;                        ///< File name as listed by the other peer.
    std::string from;                        ///< Peer id or unique id prefix; empty for any peer that has it.
    std::optional<std::uint32_t> window;     ///< Overrides peer_options::window for this download.
    std::optional<std::uint32_t> chunk_size; ///< Overrides peer_options::chunk_size.
};

} // namespace p2p
