// SPDX-License-Identifier: MIT
#include "temporary_folder.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace p2p::cli {

temporary_folder::temporary_folder() {
    std::error_code ec;
    auto base = std::filesystem::temp_directory_path(ec);
    if (ec) {
        base = "/tmp";
    }
    // mkdtemp, not a name made up here: it creates the folder atomically with a name nobody else has.
    std::string pattern = (base / "p2p-peer-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("cannot create a temporary folder in " + base.string() + ": " + std::strerror(errno));
    }
    path_ = pattern;
}

temporary_folder::~temporary_folder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec); // best effort: a destructor cannot report
}

} // namespace p2p::cli
