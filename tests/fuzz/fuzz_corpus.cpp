// SPDX-License-Identifier: MIT
// fuzz_corpus.cpp - writes the seed corpora of the fuzz targets: one valid frame of every message type with
// boundary values (corpus/codec/), and a few sessions in session_input.hpp form (corpus/session/).
//
// Usage: fuzz_corpus DIR   (DIR is tests/fuzz/corpus; existing seeds of the same name are overwritten)
#include "p2p/codec.hpp"
#include "p2p/manifest.hpp"
#include "p2p/protocol.hpp"
#include "session_input.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

using namespace p2p;
namespace fs = std::filesystem;

namespace {

/// The frames of one message as strings: the body, then the payload if any.
std::vector<std::string> frames_of(message msg) {
    auto encoded = encode(std::move(msg));
    std::vector<std::string> out{encoded.body.to_string()};
    if (encoded.payload) {
        out.push_back(encoded.payload->to_string());
    }
    return out;
}

void write(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

chunk make_chunk(std::uint32_t transfer, std::uint64_t offset, bool last, std::size_t size,
                 std::uint64_t holder_busy_us = 0) {
    chunk c;
    c.transfer = transfer;
    c.offset = offset;
    c.last = last;
    c.holder_busy_us = holder_busy_us;
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>('a' + i % 26);
    }
    c.data = payload::copy_of(bytes);
    return c;
}

digest some_hash() {
    digest d{};
    for (std::size_t i = 0; i < d.size(); ++i) {
        d[i] = static_cast<std::uint8_t>(i * 7 + 1);
    }
    return d;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_corpus DIR\n");
        return 2;
    }
    const fs::path root = argv[1];
    fs::create_directories(root / "codec");
    fs::create_directories(root / "session");

    constexpr auto u32max = std::numeric_limits<std::uint32_t>::max();
    constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();
    constexpr auto i64max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    const std::string long_name = std::string(protocol::max_name_bytes - 4, 'n') + ".txt";

    // Codec seeds: a frame per type, small and boundary values; a CHUNK is its header followed by its payload.
    const std::vector<std::pair<std::string, message>> frames = [&] {
        std::vector<std::pair<std::string, message>> v;
        v.emplace_back("hello-min", hello{peer_id(1), "inproc://a", 0});
        v.emplace_back("hello-max", hello{peer_id(u64max), "tcp://[::1]:65535", u64max});
        v.emplace_back("file-list-empty", file_list{0, 0, 1, {}});
        v.emplace_back("file-list-three",
                       file_list{7, 1, 3, {{"a.txt", 0}, {"\xc3\xa9t\xc3\xa9.txt", 12345}, {long_name, u64max}}});
        v.emplace_back("file-list-last-page", file_list{u64max, protocol::max_pages - 1, protocol::max_pages, {}});
        v.emplace_back("request-min", request{0, "a", 0, protocol::min_chunk_size, 1});
        v.emplace_back("request-max",
                       request{u32max, long_name, i64max, protocol::max_chunk_size, protocol::max_credit});
        v.emplace_back("offer", offer{1, 70000, some_hash(), default_piece_size, protocol::default_chunk_size});
        v.emplace_back("offer-max",
                       offer{u32max, max_file_size, some_hash(), max_piece_size, protocol::max_chunk_size});
        v.emplace_back("get-manifest", get_manifest{1, some_hash(), 0});
        v.emplace_back("get-manifest-max", get_manifest{u32max, some_hash(), max_piece_count - 1});
        v.emplace_back("manifest", manifest_page{1, 0, {some_hash(), some_hash()}});
        v.emplace_back("manifest-full-page",
                       manifest_page{u32max, max_piece_count - protocol::leaves_per_page,
                                     std::vector<digest>(protocol::leaves_per_page, some_hash())});
        v.emplace_back("peers", peer_list{{{peer_id(5), "tcp://10.0.0.1:7000", std::nullopt}}});
        v.emplace_back("peers-keyed", peer_list{{{peer_id(u64max), "tcp://[::1]:65535", std::string(40, '0')}}});
        {
            peer_list full;
            for (std::uint64_t i = 1; i <= protocol::max_peer_refs; ++i) {
                full.list.push_back(
                    peer_ref{peer_id(i), "tcp://host-" + std::to_string(i) + ".lan:5000", std::nullopt});
            }
            v.emplace_back("peers-full", std::move(full));
        }
        v.emplace_back("ack", ack{1, 65536, 4});
        v.emplace_back("ack-1024", ack{1, 65536, 1024});
        v.emplace_back("ack-max", ack{u32max, i64max, protocol::max_credit});
        v.emplace_back("not-found", not_found{3, "missing.txt", "no such file"});
        v.emplace_back("not-found-empty", not_found{0, "", ""});
        v.emplace_back("abort", abort_transfer{3, "file changed"});
        v.emplace_back("cancel", cancel_transfer{3, "cancelled by the user"});
        v.emplace_back("ping", ping{});
        v.emplace_back("pong", pong{});
        v.emplace_back("goodbye", goodbye{});
        v.emplace_back("preparing", preparing{2, 70000});
        v.emplace_back("preparing-max", preparing{u32max, i64max});
        v.emplace_back("chunk-empty", make_chunk(1, 0, true, 0));
        v.emplace_back("chunk-small", make_chunk(1, 0, false, 16, 1500));
        v.emplace_back("chunk-64", make_chunk(u32max, i64max, true, 64, i64max));
        return v;
    }();
    for (const auto& [name, msg] : frames) {
        std::string bytes;
        for (const auto& f : frames_of(std::visit(
                 [](const auto& m) -> message {
                     if constexpr (std::is_same_v<std::decay_t<decltype(m)>, chunk>) {
                         return make_chunk(m.transfer, m.offset, m.last, m.data.size(), m.holder_busy_us);
                     } else {
                         return m;
                     }
                 },
                 msg))) {
            bytes += f;
        }
        write(root / "codec" / name, bytes);
    }

    // Session seeds: senders 0..2 are connected DEALERs whose HELLO id must match their routing id.
    using fuzz::append_record;
    const auto id = [](unsigned sender) {
        return peer_id(fuzz::sender_ids[sender]);
    };
    const auto greet = [&](std::string& s, unsigned sender) {
        append_record(s, sender, frames_of(hello{id(sender), "tcp://127.0.0.1:5001", 1}));
        append_record(s, sender, frames_of(file_list{1, 0, 1, {{"x.txt", 10}}}));
    };
    {
        std::string s;
        greet(s, 0);
        append_record(s, 0, frames_of(request{1, fuzz::shared_names[0], 0, 64, 4}));
        append_record(s, 0, frames_of(ack{1, 64, 4}));
        append_record(s, 0, frames_of(ping{}));
        append_record(s, 0, frames_of(pong{}));
        append_record(s, 0, frames_of(cancel_transfer{1, "cancelled"}));
        append_record(s, 0, frames_of(goodbye{}));
        write(root / "session" / "upload", s);
    }
    {
        std::string s;
        greet(s, 1);
        append_record(s, 1, frames_of(request{2, fuzz::shared_names[1], 4096, 1024, 1}));
        append_record(s, 1, frames_of(request{3, "missing.txt", 0, 1024, 1}));
        append_record(s, 1, frames_of(request{4, fuzz::shared_names[0], 1000, 1024, 1}));
        append_record(s, 1, frames_of(request{2, fuzz::shared_names[1], 4096, 1024, 1})); // repeated
        append_record(s, 1, frames_of(preparing{9, 10}));
        append_record(s, 1, frames_of(not_found{9, "x.txt", "gone"}));
        append_record(s, 1, frames_of(offer{9, 10, some_hash(), default_piece_size, 1024}));
        append_record(s, 1, frames_of(get_manifest{9, some_hash(), 0}));
        append_record(s, 1, frames_of(manifest_page{9, 0, {some_hash()}}));
        append_record(s, 1, frames_of(peer_list{{{peer_id(5), "tcp://127.0.0.1:9", std::nullopt}}}));
        append_record(s, 1, frames_of(make_chunk(9, 0, true, 10, 250)));
        write(root / "session" / "requests", s);
    }
    {
        std::string s;
        greet(s, 0);
        greet(s, 1);
        greet(s, 2);
        append_record(s, 2, frames_of(file_list{2, 0, 2, {{"y.txt", 1}}}));
        append_record(s, 2, frames_of(file_list{2, 1, 2, {{"z.txt", 2}}}));
        append_record(s, 0, frames_of(hello{id(0), "tcp://127.0.0.1:5001", 1})); // second HELLO
        append_record(s, 1, frames_of(goodbye{}));
        append_record(s, 2, frames_of(goodbye{}));
        write(root / "session" / "three-peers", s);
    }
    {
        std::string s;
        append_record(s, 0, frames_of(ping{}));                                  // before HELLO
        append_record(s, 3, frames_of(hello{id(3), "tcp://127.0.0.1:5004", 1})); // nobody behind the id
        append_record(s, 1, frames_of(hello{id(2), "tcp://127.0.0.1:5003", 1})); // id is not the routing id
        append_record(s, 0, {});                                                 // no frames
        append_record(s, 0, {std::string("\x93\x01\x09", 3), "extra", "more"});  // too many frames
        greet(s, 0);
        for (int i = 0; i < 10; ++i) {
            append_record(s, 0, {std::string("\xc1", 1)}); // strikes until the peer is dropped
        }
        write(root / "session" / "hostile", s);
    }
    return 0;
}
