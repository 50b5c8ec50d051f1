// SPDX-License-Identifier: MIT
// decode_result.hpp - what decoding one frame gives: a message, or exactly one reason why not. Kept apart from
// codec.hpp so that the core, which never sees a ZeroMQ frame, can take decoded input too.
#pragma once

#include "p2p/message.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace p2p {

/// Why a frame was refused. Every byte string that is not a valid message maps to exactly one of these.
enum class decode_errc {
    no_frames,          ///< Nothing to decode.
    too_many_frames,    ///< More than body + payload.
    missing_payload,    ///< CHUNK without its payload frame.
    unexpected_payload, ///< A payload frame after a message that has none.
    frame_too_large,    ///< Body or payload over its byte limit (checked before unpacking).
    truncated,          ///< The msgpack value ends early.
    malformed,          ///< Not msgpack at all (reserved byte 0xc1, bad ext...).
    trailing_bytes,     ///< Bytes left after the one msgpack value.
    not_an_array,       ///< The top-level value is not an array.
    bad_version,        ///< First element is not protocol::version.
    unknown_type,       ///< Second element names no message type.
    wrong_arity,        ///< Too few or too many fields for the type.
    wrong_field_type,   ///< A field has the wrong msgpack type.
    over_limit,         ///< A string, list or number is over its limit (msgpack-c size_overflow included).
    invalid_value,      ///< In range for its type but not allowed (bad file name, page >= page_count...).
};

/// Short lowercase name of an error code ("wrong field type").
std::string_view to_string(decode_errc code);

/// A refused frame: the code and a one-line detail naming the field ("REQUEST.name: contains '/'").
struct decode_error {
    decode_errc code = decode_errc::malformed;
    std::string detail;
    /// "<code>: <detail>", for logs.
    std::string what() const;
};

/// Either a message or the reason there is none.
class decode_result {
public:
    decode_result(message msg) : value_(std::move(msg)) {}
    decode_result(decode_error error) : value_(std::move(error)) {}

    bool ok() const { return std::holds_alternative<message>(value_); }
    explicit operator bool() const { return ok(); }
    /// The message; only when ok().
    message& value() { return std::get<message>(value_); }
    /// The error; only when !ok().
    const decode_error& error() const { return std::get<decode_error>(value_); }

private:
    std::variant<message, decode_error> value_;
};

} // namespace p2p
