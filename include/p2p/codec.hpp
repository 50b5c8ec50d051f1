// SPDX-License-Identifier: MIT
// codec.hpp - strict, total msgpack encoding and decoding of p2p messages (grammar: docs/protocol.md).
#pragma once

#include "p2p/decode_result.hpp"
#include "p2p/message.hpp"

#include <zmq.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace p2p {

/// The ZeroMQ frames of one message, without any routing id.
struct encoded_message {
    zmq::message_t body;                   ///< The msgpack array.
    std::optional<zmq::message_t> payload; ///< CHUNK bytes, moved (not copied) from the chunk.
};

/// Encodes a message. A chunk's payload frame is moved into the result. Bodies of 33 bytes or less (CHUNK, ACK,
/// PING...) fit in libzmq's inline small-message storage, so encoding them allocates nothing.
/// Throws std::invalid_argument when a field is over a protocol limit (a programmer error: we never send those).
encoded_message encode(message msg);

/// Decodes a body frame and an optional payload frame (nullptr when none came). Never throws. On success a CHUNK's
/// payload is moved out of *payload. Memory used is bounded by the frame size and the unpack limits, whatever the
/// length fields inside claim.
decode_result decode(std::span<const std::byte> body, zmq::message_t* payload) noexcept;

/// Decodes the frames of one message as received (routing id already removed).
decode_result decode(std::span<zmq::message_t> frames) noexcept;

} // namespace p2p
