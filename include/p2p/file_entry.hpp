// SPDX-License-Identifier: MIT
// file_entry.hpp - one shared file as another peer lists it: a name, a size, and its id once the holder knows it.
#pragma once

#include "p2p/digest.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace p2p {

struct file_entry {
    file_entry() = default;
    /// Most lists are made before any root is known: {name, size} leaves it unset.
    file_entry(std::string name_, std::uint64_t size_, std::optional<digest> root_ = std::nullopt)
        : name(std::move(name_)), size(size_), root(root_) {}

    std::string name;       ///< A relative path ("sub/a.txt"), checked by is_valid_file_path.
    std::uint64_t size = 0; ///< Bytes.
    /// The root of the file's manifest (what `p2p-peer hash` prints): known once the holder has hashed this version,
    /// which it does in the background after the file settles; until then nullopt.
    std::optional<digest> root;
    friend bool operator==(const file_entry&, const file_entry&) = default;
};

} // namespace p2p
