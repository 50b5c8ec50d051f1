// SPDX-License-Identifier: MIT
#include "folder_names.hpp"

#include <algorithm>
#include <string>

namespace p2p::cli {

std::vector<file_entry> files_under(const std::vector<file_entry>& listed, std::string_view name) {
    std::vector<file_entry> under;
    if (name.empty()) {
        return under;
    }
    const auto prefix = std::string(name) + "/";
    for (const auto& f : listed) {
        if (f.name == name) {
            return {}; // a file of that very name: the user means it
        }
        if (f.name.starts_with(prefix)) {
            under.push_back(f);
        }
    }
    std::sort(under.begin(), under.end(), [](const file_entry& a, const file_entry& b) { return a.name < b.name; });
    // The same name from two pages of a list would be fetched twice: keep one.
    under.erase(std::unique(under.begin(), under.end(),
                            [](const file_entry& a, const file_entry& b) { return a.name == b.name; }),
                under.end());
    return under;
}

} // namespace p2p::cli
