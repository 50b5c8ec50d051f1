// SPDX-License-Identifier: MIT
// message_fields.hpp - a decoded message as named, typed fields: printed by dump, compared by replay.
#pragma once

#include "p2p/digest.hpp"
#include "p2p/message.hpp"
#include "p2p/peer_id.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace p2p::tap {

/// One field's value, typed so that text and JSON each render it their way (ids short on a terminal, full in JSON).
using field_value = std::variant<std::uint64_t, bool, std::string, peer_id, digest, std::vector<file_entry>>;

/// A named field of a message.
struct field {
    std::string_view name; ///< As in message.hpp ("list_version"); CHUNK has "length" instead of its bytes.
    field_value value;
};

/// The fields of a message in wire order. A CHUNK lists transfer, offset, length, last and holder_busy_us, never its
/// bytes.
std::vector<field> fields_of(const message& msg);

/// "name=value name=value" for a terminal: wire strings quoted and passed through p2p::escape_for_terminal, ids as
/// 8 hex digits, hashes as full hex.
std::string fields_text(const std::vector<field>& fields);

/// The same value alone, as fields_text shows it.
std::string value_text(const field_value& value);

/// {"name":value,...}: ids and hashes as full hex strings, files as [{"name":...,"size":...}].
std::string fields_json(const std::vector<field>& fields);

/// A JSON string literal (with the quotes) of any bytes. The output is pure ASCII: quotes, backslashes, control
/// characters and everything outside ASCII become \uXXXX escapes, so it is both exact and safe on a terminal.
/// Bytes that are not UTF-8 become U+FFFD.
std::string json_string(std::string_view text);

/// Up to `max` bytes as spaced hex ("93 01 09"), with "..." when there are more.
std::string hex_bytes(const void* data, std::size_t size, std::size_t max);

} // namespace p2p::tap
