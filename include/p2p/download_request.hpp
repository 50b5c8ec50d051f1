// SPDX-License-Identifier: MIT
// download_request.hpp - what to download and from whom: what a front end hands to peer::start_download.
#pragma once

#include "p2p/window_setting.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace p2p {

struct download_request {
    std::string name;                        ///< File name as listed by the other peer.
    std::string from;                        ///< Peer id or unique id prefix; empty for any peer that has it.
    std::optional<window_setting> window;    ///< Overrides peer_options::window for this download.
    std::optional<std::uint32_t> chunk_size; ///< Overrides peer_options::chunk_size.
    /// The name to save under in our folder; empty: `name`. Checked like a received name (one path component).
    /// The partial file is kept under this name, so running the same request again resumes it.
    std::string save_as{};
    /// Replace a file already there: the verified download is renamed over it, so until then (and if the download
    /// fails or is cancelled) the old file stays as it was. Without it an existing file is never overwritten.
    bool replace = false;
};

} // namespace p2p
