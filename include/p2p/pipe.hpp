// SPDX-License-Identifier: MIT
// pipe.hpp - passing C++ values between the front end and the node thread over an inproc PAIR socket.
//
// The value travels as a heap object inside a zero-copy ZeroMQ message whose free function deletes it, so a value
// that is never received (a socket closed with messages queued) is still freed. Only for inproc: the pointer means
// nothing in another process.
#pragma once

#include "p2p/interrupted.hpp"

#include <zmq.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace p2p::pipe {

/// Sends value as one message; blocks while the pipe is full (ZeroMQ's default high-water mark: 1000 messages on
/// each end). The front end sends its commands this way, and the node the messages its front end waits for.
template <typename T>
void send(zmq::socket_ref socket, T value) {
    auto owned = std::make_unique<T>(std::move(value));
    zmq::message_t msg(
        owned.get(), sizeof(T), [](void* data, void*) { delete static_cast<T*>(data); }, nullptr);
    owned.release(); // the message owns it now
    retry_interrupted([&] { return socket.send(msg, zmq::send_flags::none); });
}

/// Sends value without blocking; false (and value left as it was) when the pipe is full.
template <typename T>
bool try_send(zmq::socket_ref socket, T& value) {
    auto* owned = new T(std::move(value));
    zmq::message_t msg(
        owned, sizeof(T), [](void* data, void*) { delete static_cast<T*>(data); }, nullptr);
    if (socket.send(msg, zmq::send_flags::dontwait)) {
        return true;
    }
    value = std::move(*owned); // taken back; the message deletes the moved-from shell
    return false;
}

/// Receives one value sent by send<T>; nullopt on timeout (rcvtimeo) or EAGAIN.
template <typename T>
std::optional<T> receive(zmq::socket_ref socket, zmq::recv_flags flags = zmq::recv_flags::none) {
    zmq::message_t msg;
    if (!retry_interrupted([&] { return socket.recv(msg, flags); })) {
        return std::nullopt;
    }
    // Move the value out; the message's free function then deletes the moved-from shell.
    return std::optional<T>(std::move(*static_cast<T*>(msg.data())));
}

} // namespace p2p::pipe
