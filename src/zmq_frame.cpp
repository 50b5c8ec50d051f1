// SPDX-License-Identifier: MIT
#include "p2p/zmq_frame.hpp"

#include <new>

namespace p2p {

namespace {

static_assert(sizeof(zmq::message_t) <= payload::storage_bytes, "a zmq::message_t must fit a payload's storage");
static_assert(alignof(zmq::message_t) <= alignof(std::max_align_t));

zmq::message_t& frame_in(payload& self) noexcept {
    return *static_cast<zmq::message_t*>(self.storage());
}

// A small frame keeps its bytes inside the zmq_msg_t, so data() is asked of the frame each time, never cached.
const payload::owner_ops frame_ops{
    [](payload& self) noexcept { return static_cast<std::byte*>(frame_in(self).data()); },
    [](payload& from, payload& to) noexcept {
        new (to.storage()) zmq::message_t(std::move(frame_in(from)));
        frame_in(from).~message_t();
    },
    [](payload& self) noexcept { frame_in(self).~message_t(); },
};

} // namespace

payload to_payload(zmq::message_t&& frame) noexcept {
    payload out(&frame_ops, frame.size());
    new (out.storage()) zmq::message_t(std::move(frame));
    return out;
}

zmq::message_t to_frame(payload&& bytes) {
    if (bytes.owner() == &frame_ops) {
        zmq::message_t out(std::move(frame_in(bytes)));
        frame_in(bytes).~message_t();
        bytes.disown();
        return out;
    }
    if (bytes.empty()) {
        return zmq::message_t();
    }
    auto* kept = new payload(std::move(bytes));
    return zmq::message_t(
        kept->data(), kept->size(), [](void*, void* hint) { delete static_cast<payload*>(hint); }, kept);
}

} // namespace p2p
