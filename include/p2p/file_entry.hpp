// SPDX-License-Identifier: MIT
// file_entry.hpp - one shared file as another peer lists it: a name and a size.
#pragma once

#include <cstdint>
#include <string>

namespace p2p {

struct file_entry {
    std::string name;       ///< A relative path ("sub/a.txt"), checked by is_valid_file_path.
    std::uint64_t size = 0; ///< Bytes.
    friend bool operator==(const file_entry&, const file_entry&) = default;
};

} // namespace p2p
