// SPDX-License-Identifier: MIT
// curve_keys.hpp - a peer's long-term CURVE keypair, the id derived from it, and the allowlist of other keys.
#pragma once

#include "p2p/peer_id.hpp"

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace p2p {

/// Keys as ZeroMQ takes them: 40 characters of Z85 each.
struct curve_keypair {
    std::string public_key;
    std::string secret_key;
};

/// Loads the keypair kept in `<folder>/.p2p/curve.key`, or creates it there on first use (folder mode 0700, file
/// mode 0600, written to a temporary name and renamed, so a crash never leaves half a key). Neither is ever listed
/// or served: the catalog shares regular files at the top of the folder only, and `.p2p` names are reserved.
/// Throws std::runtime_error with a one-line reason (unreadable, wrong permissions, malformed).
curve_keypair load_or_create_keypair(const std::filesystem::path& folder);

/// The peer id that belongs to a public key: the first 64 bits of BLAKE2b(key). A secure peer's id is this, so
/// nobody can claim an id without holding its secret key.
peer_id peer_id_for_key(std::string_view public_key_z85);

/// True for 40 characters of valid Z85 that decode to 32 bytes.
bool is_valid_key(std::string_view key_z85);

/// The form of a key that users see and paste: 64 lowercase hex digits, safe in a shell without quotes (Z85 holds
/// characters such as `!*&<)}{^` and may begin with `-`). `key_z85` must be valid.
std::string key_text(std::string_view key_z85);
/// A key typed by a user or read from a file, in either form (64 hex digits, either case, or 40 characters of Z85),
/// as the Z85 that ZeroMQ takes; nullopt when it is neither.
std::optional<std::string> parse_key(std::string_view text);

/// Reads an allowlist: one public key per line (hex or Z85), optionally followed by white space and a label; blank
/// lines and lines starting with `#` are ignored. Throws std::runtime_error naming the file and line of the first bad
/// entry.
std::set<std::string> read_allowlist(const std::filesystem::path& file);

/// A connect address may carry the server key in secure mode: "KEY@host:port", the key in hex or Z85. Splits it off
/// when present; server_key is then Z85.
struct keyed_address {
    std::optional<std::string> server_key;
    std::string address;
};
keyed_address split_keyed_address(std::string_view text);

} // namespace p2p
