// SPDX-License-Identifier: MIT
// folder_names.hpp - a folder name in another peer's list ("top" when it lists "top/a.txt") stands for every file
// under it: what `get` and menu choice 3 fetch when given one.
#pragma once

#include "p2p/file_entry.hpp"

#include <string_view>
#include <vector>

namespace p2p::cli {

/// The files listed under the folder `name` (every name starting with "name/"), sorted by name. Empty when `name`
/// itself is a listed file (that one file is meant) or nothing is listed under it.
std::vector<file_entry> files_under(const std::vector<file_entry>& listed, std::string_view name);

} // namespace p2p::cli
