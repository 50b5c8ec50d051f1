// SPDX-License-Identifier: MIT
// zmq_frame.hpp - ZeroMQ frames as payloads and back, without copying a byte (the shell side of payload.hpp).
#pragma once

#include "p2p/payload.hpp"

#include <zmq.hpp>

namespace p2p {

/// The frame moves into the payload's own storage: no allocation, no copy.
payload to_payload(zmq::message_t&& frame) noexcept;

/// A payload that holds a frame gives it back; any other payload is handed to ZeroMQ as it is (one small
/// allocation keeps it alive until ZeroMQ has sent its bytes).
zmq::message_t to_frame(payload&& bytes);

} // namespace p2p
