// SPDX-License-Identifier: MIT
// assets.hpp - the page's files (src/web/assets/), built into the program by cmake/embed_assets.cmake, so the page
// needs nothing from the network and nothing from the disk.
#pragma once

#include <span>
#include <string_view>

namespace p2p::web {

/// One file of the page.
struct asset {
    std::string_view path; ///< As requested: "/index.html", "/app.js", "/style.css".
    std::string_view body; ///< Its bytes.
};

/// Every file of src/web/assets/ (defined in the generated web_assets.cpp).
std::span<const asset> assets();

} // namespace p2p::web
