// SPDX-License-Identifier: MIT
// file_name.hpp - the one rule for file names on the wire, and escaping of untrusted text for terminals.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace p2p {

/// Why a name is refused, or nullopt if it is a valid shared-file name: one path component, 1..255 bytes, valid
/// UTF-8, no control characters (C0, DEL, C1), not "." or "..", no '/', '\\' or NUL, and not our reserved
/// ".p2p" prefix (temporary files and keys live under it).
std::optional<std::string> file_name_problem(std::string_view name);

/// True when file_name_problem(name) finds nothing.
inline bool is_valid_file_name(std::string_view name) {
    return !file_name_problem(name);
}

/// Why a file name on the wire is refused, or nullopt: a relative path of 1..max_path_depth components joined by
/// single '/' (no leading, trailing or doubled '/'), at most max_path_bytes in all, each component valid by
/// file_name_problem() (so "..", "." and ".p2p..." are refused at every level). "a.txt" and "sub/a.txt" pass.
std::optional<std::string> file_path_problem(std::string_view path);

/// True when file_path_problem(path) finds nothing.
inline bool is_valid_file_path(std::string_view path) {
    return !file_path_problem(path);
}

/// Names reserved for the peer's own files in a shared folder: never listed, served or downloaded.
bool is_reserved_name(std::string_view name);

/// True when text is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// At most `max_bytes` of valid UTF-8 text, cut before a whole character: a reason that fits the wire.
std::string clip_utf8(std::string_view text, std::size_t max_bytes);

/// Text from another peer made safe to print: control characters, bidi overrides, invalid UTF-8 and backslashes
/// become \xNN or \u{NNNN} escapes, so a name can never move the cursor or hide earlier lines.
std::string escape_for_terminal(std::string_view text);

} // namespace p2p
