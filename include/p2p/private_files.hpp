// SPDX-License-Identifier: MIT
// private_files.hpp - the peer's own small files in <folder>/.p2p/ (its CURVE key, its id): made private, replaced
// atomically, and read back with checks, so a crash never leaves half a file and a damaged one is never trusted.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace p2p {

/// `<folder>/.p2p`, created with mode 0700 when missing. Nothing under it is ever listed or served: names starting
/// with `.p2p` are reserved (file_name.hpp). Throws std::runtime_error (one line) when it cannot be created or is
/// not a directory (a symlink is not followed).
std::filesystem::path private_dir(const std::filesystem::path& folder);

/// Reads a small file of private_dir: nullopt when it does not exist. With `secret`, a file that others may read is
/// refused (as ssh refuses such keys). Throws std::runtime_error naming the file when it is not a regular file
/// (symlinks are not followed), cannot be read, or holds more than `max_size` bytes.
std::optional<std::string> read_private_file(const std::filesystem::path& path, std::size_t max_size, bool secret);

/// Creates `path` holding `text` with mode 0600: written to a temporary name beside it, flushed to disk, renamed.
/// Throws std::runtime_error naming the file.
void write_private_file(const std::filesystem::path& path, std::string_view text);

} // namespace p2p
