// SPDX-License-Identifier: MIT
// temporary_folder.hpp - an empty folder that is removed with everything in it when the object goes.
#pragma once

#include <filesystem>

namespace p2p::cli {

class temporary_folder {
public:
    /// Creates a fresh folder under the system temporary directory. Throws std::runtime_error if it cannot.
    temporary_folder();
    ~temporary_folder();
    temporary_folder(const temporary_folder&) = delete;
    temporary_folder& operator=(const temporary_folder&) = delete;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

} // namespace p2p::cli
