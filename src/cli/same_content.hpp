// SPDX-License-Identifier: MIT
// same_content.hpp - whether a file already in the download folder is the one a holder lists: what `get --continue`
// skips instead of refusing it as "already exists".
#pragma once

#include "p2p/file_entry.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>

namespace p2p::cli {

/// True when `path` is a regular file (not a symlink) of the listed size whose root, hashed here by the same piece
/// rule, is the listed root. False when the holder's list has no root for it yet: the content cannot be told.
/// `progress` is called after each block read with the bytes hashed so far (it may throw to stop).
bool has_listed_content(const std::filesystem::path& path, const file_entry& listed,
                        const std::function<void(std::uint64_t)>& progress = {});

} // namespace p2p::cli
