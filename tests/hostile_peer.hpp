// SPDX-License-Identifier: MIT
// hostile_peer.hpp - a test peer that can lie: raw cppzmq and msgpack-c, never the project's codec.
//
// It packs every frame itself (msgpack::packer over an sbuffer), so it can send what the codec would refuse to
// encode: wrong types, missing fields, bad names, truncated bodies, oversize frames. It reads what it gets back with
// msgpack::unpack, also without the project's codec, so a test checks the wire as another implementation sees it.
#pragma once

#include <msgpack.hpp>
#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace p2p::test {

using packer_t = msgpack::packer<msgpack::sbuffer>;

/// Packs whatever `f` writes into one body frame.
template <typename F>
std::string pack_with(F&& f) {
    msgpack::sbuffer buffer;
    packer_t pk(buffer);
    f(pk);
    return std::string(buffer.data(), buffer.size());
}

/// Wire type codes, written out here instead of taken from message.hpp: the hostile side owns its own idea.
namespace wire {
/// The protocol version this test peer speaks (docs/protocol.md).
inline constexpr int version = 9;
inline constexpr int hello = 1, file_list = 2, request = 3, offer = 4, chunk = 5, ack = 6, not_found = 7, abort = 8,
                     ping = 9, pong = 10, goodbye = 11, preparing = 12, cancel = 13, get_manifest = 14, manifest = 15,
                     peers = 16;
} // namespace wire

inline void pack_str(packer_t& pk, const std::string& s) {
    pk.pack_str(static_cast<std::uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}
inline void pack_bin(packer_t& pk, const std::string& s) {
    pk.pack_bin(static_cast<std::uint32_t>(s.size()));
    pk.pack_bin_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

/// Bodies of well-formed messages, field by field as docs/protocol.md has them.
namespace body {
inline std::string hello(std::uint64_t id, const std::string& endpoint, std::uint64_t list_version) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(6);
        pk.pack(wire::version);
        pk.pack(wire::hello);
        pk.pack(id);
        pack_str(pk, endpoint);
        pk.pack(list_version);
        pk.pack(false); // client: a peer like any other
    });
}
inline std::string file_list(std::uint64_t version, std::uint32_t page, std::uint32_t page_count,
                             const std::vector<std::pair<std::string, std::uint64_t>>& files) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(6);
        pk.pack(wire::version);
        pk.pack(wire::file_list);
        pk.pack(version);
        pk.pack(page);
        pk.pack(page_count);
        pk.pack_array(static_cast<std::uint32_t>(files.size()));
        for (const auto& [name, size] : files) {
            pk.pack_array(3);
            pack_str(pk, name);
            pk.pack(size);
            pk.pack_nil(); // root not known
        }
    });
}
inline std::string request(std::uint32_t transfer, const std::string& name, std::uint64_t offset,
                           std::uint32_t chunk_size, std::uint32_t credit) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(7);
        pk.pack(wire::version);
        pk.pack(wire::request);
        pk.pack(transfer);
        pack_str(pk, name);
        pk.pack(offset);
        pk.pack(chunk_size);
        pk.pack(credit);
    });
}
/// `root` is the file's id (32 bytes); pieces of 1 MiB unless said otherwise.
inline std::string offer(std::uint32_t transfer, std::uint64_t size, const std::string& root, std::uint32_t chunk_size,
                         std::uint32_t piece_size = 1u << 20) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(7);
        pk.pack(wire::version);
        pk.pack(wire::offer);
        pk.pack(transfer);
        pk.pack(size);
        pack_bin(pk, root);
        pk.pack(piece_size);
        pk.pack(chunk_size);
    });
}
inline std::string chunk(std::uint32_t transfer, std::uint64_t offset, bool last, std::uint64_t holder_busy_us = 0) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(6);
        pk.pack(wire::version);
        pk.pack(wire::chunk);
        pk.pack(transfer);
        pk.pack(offset);
        pk.pack(last);
        pk.pack(holder_busy_us);
    });
}
inline std::string ack(std::uint32_t transfer, std::uint64_t next_offset, std::uint32_t credit) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(5);
        pk.pack(wire::version);
        pk.pack(wire::ack);
        pk.pack(transfer);
        pk.pack(next_offset);
        pk.pack(credit);
    });
}
inline std::string not_found(std::uint32_t transfer, const std::string& name, const std::string& reason) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(5);
        pk.pack(wire::version);
        pk.pack(wire::not_found);
        pk.pack(transfer);
        pack_str(pk, name);
        pack_str(pk, reason);
    });
}
/// ABORT (holder -> downloader) or CANCEL (downloader -> holder): the same two fields.
inline std::string stop_transfer(int type, std::uint32_t transfer, const std::string& reason) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(4);
        pk.pack(wire::version);
        pk.pack(type);
        pk.pack(transfer);
        pack_str(pk, reason);
    });
}
/// PEERS of plain-mode entries (no key): "here are peers I reached" (true or not).
inline std::string peers(const std::vector<std::pair<std::uint64_t, std::string>>& entries) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(3);
        pk.pack(wire::version);
        pk.pack(wire::peers);
        pk.pack_array(static_cast<std::uint32_t>(entries.size()));
        for (const auto& [id, endpoint] : entries) {
            pk.pack_array(3);
            pk.pack(id);
            pack_str(pk, endpoint);
            pk.pack_nil();
        }
    });
}
/// PING, PONG, GOODBYE: the header alone.
inline std::string bare(int type) {
    return pack_with([&](packer_t& pk) {
        pk.pack_array(2);
        pk.pack(wire::version);
        pk.pack(type);
    });
}
} // namespace body

/// One message as the hostile side received it, decoded with plain msgpack::unpack.
struct received {
    std::uint64_t type = 0; ///< 0 when the body was not a [version, type, ...] array.
    msgpack::object_handle handle;
    std::optional<std::string> payload;

    std::size_t arity() const { return handle.get().via.array.size; }
    const msgpack::object& field(std::size_t i) const { return handle.get().via.array.ptr[i]; }
    std::uint64_t u64(std::size_t i) const { return field(i).as<std::uint64_t>(); }
    std::string str(std::size_t i) const { return field(i).as<std::string>(); }
};

inline std::uint64_t random_peer_id() {
    static std::mt19937_64 rng(std::random_device{}());
    std::uint64_t id = 0;
    while (id == 0) {
        id = rng();
    }
    return id;
}

inline std::string id_hex(std::uint64_t id) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
    return buf;
}

/// A DEALER that connects to a peer's ROUTER under a routing id of its choosing and sends raw frames.
class hostile_peer {
public:
    /// `routing_id_suffix` follows the id's 16 hex digits in the routing id: ".1" makes it a probe (protocol 9).
    hostile_peer(zmq::context_t& ctx, const std::string& endpoint, std::uint64_t id = random_peer_id(),
                 const std::string& routing_id_suffix = {})
        : id_(id), socket_(ctx, zmq::socket_type::dealer) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.set(zmq::sockopt::routing_id, id_hex(id_) + routing_id_suffix);
        socket_.set(zmq::sockopt::sndhwm, 100000);
        socket_.connect(endpoint);
    }

    std::uint64_t id() const { return id_; }
    std::string hex() const { return id_hex(id_); }
    zmq::socket_t& socket() { return socket_; }

    /// One message of one frame.
    void send(const std::string& frame) { (void)socket_.send(zmq::buffer(frame), zmq::send_flags::none); }
    /// One message of several frames.
    void send_frames(const std::vector<std::string>& frames) {
        for (std::size_t i = 0; i < frames.size(); ++i) {
            (void)socket_.send(zmq::buffer(frames[i]),
                               i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
    }
    void send_chunk(std::uint32_t transfer, std::uint64_t offset, bool last, const std::string& bytes) {
        send_frames({body::chunk(transfer, offset, last), bytes});
    }

    /// HELLO (its own id, a made-up endpoint) and a one-page FILE_LIST: after this the victim lists it.
    void join(const std::vector<std::pair<std::string, std::uint64_t>>& files = {}, std::uint64_t version = 1) {
        send(body::hello(id_, "tcp://127.0.0.1:9", version));
        send(body::file_list(version, 0, 1, files));
    }

    /// The next message, or nullopt after the timeout.
    std::optional<received> recv(std::chrono::milliseconds timeout) {
        socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
        zmq::message_t first;
        if (!socket_.recv(first)) {
            return std::nullopt;
        }
        received out;
        bool more = first.more();
        if (more) {
            zmq::message_t payload;
            (void)socket_.recv(payload);
            more = payload.more();
            out.payload = payload.to_string();
            while (more) { // not a message we know: read it all and say so
                (void)socket_.recv(payload);
                more = payload.more();
            }
        }
        try {
            out.handle = msgpack::unpack(first.data<const char>(), first.size());
            const auto& root = out.handle.get();
            if (root.type == msgpack::type::ARRAY && root.via.array.size >= 2 &&
                root.via.array.ptr[1].type == msgpack::type::POSITIVE_INTEGER) {
                out.type = root.via.array.ptr[1].via.u64;
            }
        } catch (const std::exception&) {
            out.type = 0;
        }
        return out;
    }

    /// Waits for a message of `type`, answering PINGs meanwhile; everything else read is kept in `seen`.
    std::optional<received> expect(std::uint64_t type, std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= until) {
                return std::nullopt;
            }
            auto m = recv(std::chrono::duration_cast<std::chrono::milliseconds>(until - now));
            if (!m) {
                return std::nullopt;
            }
            if (m->type == static_cast<std::uint64_t>(wire::ping)) {
                send(body::bare(wire::pong));
            }
            if (m->type == type) {
                return m;
            }
            seen.push_back(m->type);
        }
    }

    /// Reads for `window`, answering PINGs; returns the types that came.
    std::vector<std::uint64_t> drain(std::chrono::milliseconds window) {
        std::vector<std::uint64_t> types;
        const auto until = std::chrono::steady_clock::now() + window;
        for (;;) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= until) {
                return types;
            }
            auto m = recv(std::chrono::duration_cast<std::chrono::milliseconds>(until - now));
            if (!m) {
                return types;
            }
            if (m->type == static_cast<std::uint64_t>(wire::ping)) {
                send(body::bare(wire::pong));
            }
            types.push_back(m->type);
        }
    }

    std::vector<std::uint64_t> seen; ///< Types read by expect() that were not the one waited for.

private:
    std::uint64_t id_;
    zmq::socket_t socket_;
};

} // namespace p2p::test
