// SPDX-License-Identifier: MIT
// fuzz_codec.cpp - libFuzzer target for the decoder: any byte string decodes to a message or a typed error, and
// whatever decodes re-encodes to the same message.
//
// Each input is decoded twice: as one body frame, and, when it starts with one complete msgpack value followed by
// more bytes, as that value for the body plus the rest as a second (payload) frame. So a CHUNK seed is simply its
// header bytes followed by its payload bytes.
#include "p2p/codec.hpp"
#include "p2p/protocol.hpp"

#include <msgpack.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

using namespace p2p;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_codec: %s\n", what);
    std::abort();
}

/// A deep copy of a message (a chunk owns its payload, which only moves).
message clone(const message& msg) {
    if (const auto* c = std::get_if<chunk>(&msg)) {
        chunk copy;
        copy.transfer = c->transfer;
        copy.offset = c->offset;
        copy.last = c->last;
        copy.holder_busy_us = c->holder_busy_us;
        copy.data = payload::copy_of(c->data.view());
        return copy;
    }
    return std::visit(
        [](const auto& m) -> message {
            if constexpr (std::is_same_v<std::decay_t<decltype(m)>, chunk>) {
                return message{}; // handled above
            } else {
                return m;
            }
        },
        msg);
}

/// Encodes, decodes again, and checks nothing changed; then checks the encoding is stable.
void check_round_trip(const message& decoded) {
    auto first = encode(clone(decoded));
    if (first.body.size() > protocol::max_body_bytes) {
        fail("re-encoded body over max_body_bytes");
    }
    std::vector<zmq::message_t> frames;
    frames.emplace_back(first.body.data(), first.body.size());
    if (first.payload) {
        frames.emplace_back(first.payload->data(), first.payload->size());
    }
    auto again = decode(std::span<zmq::message_t>(frames));
    if (!again) {
        std::fprintf(stderr, "error: %s\n", again.error().what().c_str());
        fail("a decoded message does not decode after re-encoding");
    }
    if (!(again.value() == decoded)) {
        fail("decode(encode(m)) != m");
    }
    auto second = encode(clone(again.value()));
    if (second.body.size() != first.body.size() ||
        std::memcmp(second.body.data(), first.body.data(), first.body.size()) != 0) {
        fail("encoding is not stable");
    }
}

void check(decode_result& result) {
    if (result) {
        check_round_trip(result.value());
        return;
    }
    // Every failure carries a real code with a name.
    if (to_string(result.error().code) == "unknown error") {
        fail("decode error with no code");
    }
}

/// Length of the first complete msgpack value of in, or 0 when there is none (same limits as the codec).
std::size_t first_value_length(std::span<const std::byte> in) {
    const msgpack::unpack_limit limits(protocol::files_per_page, 0, protocol::max_string_bytes,
                                       protocol::leaves_per_page * protocol::hash_bytes, 0, 3);
    std::size_t offset = 0;
    try {
        (void)msgpack::unpack(reinterpret_cast<const char*>(in.data()), in.size(), offset, nullptr, nullptr, limits);
        return offset;
    } catch (...) {
        return 0;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);

    // 1. The whole input as one body frame.
    auto one = decode(bytes, nullptr);
    check(one);

    // 2. First msgpack value as the body, the rest as the payload frame (the CHUNK layout).
    if (size > protocol::max_body_bytes) {
        return 0;
    }
    const auto split = first_value_length(bytes);
    if (split == 0 || split >= size) {
        return 0;
    }
    zmq::message_t payload(data + split, size - split);
    const void* payload_bytes = payload.data();
    const bool inline_storage = payload.size() <= 33; // libzmq keeps 33 bytes or less inside the message_t
    auto two = decode(bytes.first(split), &payload);
    check(two);
    if (two) {
        if (const auto* c = std::get_if<chunk>(&two.value())) {
            if (c->data.size() != size - split || std::memcmp(c->data.data(), data + split, size - split) != 0) {
                fail("CHUNK payload differs from the payload frame");
            }
            if (!inline_storage && c->data.data() != payload_bytes) {
                fail("CHUNK payload was copied");
            }
        }
    }

    // 3. The same frames through the span overload (what the node calls).
    std::vector<zmq::message_t> frames;
    frames.emplace_back(data, split);
    frames.emplace_back(data + split, size - split);
    auto three = decode(std::span<zmq::message_t>(frames));
    check(three);
    if (three.ok() != two.ok() || (!three.ok() && three.error().code != two.error().code)) {
        fail("the two decode overloads disagree");
    }
    return 0;
}
