// SPDX-License-Identifier: MIT
// codec_test.cpp - the wire codec: round trips at the limits, fixed encodings, and every decode error produced by
// hand-built bytes (msgpack::packer or raw bytes, never the codec itself, so the bytes can lie).
#include "p2p/codec.hpp"
#include "p2p/file_name.hpp"
#include "p2p/manifest.hpp"
#include "p2p/probe_routing_id.hpp"
#include "p2p/protocol.hpp"
#include "p2p/zmq_frame.hpp"

#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace p2p;

namespace {

constexpr auto u32max = std::numeric_limits<std::uint32_t>::max();
constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();
constexpr auto i64max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

using packer = msgpack::packer<msgpack::sbuffer>;

/// Bytes built by hand with msgpack-c's packer.
std::string packed(const std::function<void(packer&)>& build) {
    msgpack::sbuffer buffer;
    packer pk(buffer);
    build(pk);
    return std::string(buffer.data(), buffer.size());
}

/// Raw bytes from a list of values 0..255.
std::string raw(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out.push_back(static_cast<char>(v));
    }
    return out;
}

std::string hex(const void* data, std::size_t size) {
    std::string out;
    char buf[4];
    for (std::size_t i = 0; i < size; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", static_cast<const unsigned char*>(data)[i]);
        out += buf;
    }
    return out;
}

std::span<const std::byte> span_of(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// Decodes one body frame with no payload frame.
decode_result decode_body(const std::string& body) {
    return decode(span_of(body), nullptr);
}

/// The error code a body frame decodes to; fails the test if it decodes.
decode_errc error_of(const std::string& body) {
    auto result = decode_body(body);
    INFO("bytes: " << hex(body.data(), body.size()));
    REQUIRE_FALSE(result.ok());
    INFO("error: " << result.error().what());
    CHECK_FALSE(result.error().detail.empty());
    return result.error().code;
}

/// Encodes and decodes a message without a payload frame.
message round_trip(message msg) {
    auto encoded = encode(std::move(msg));
    REQUIRE_FALSE(encoded.payload);
    auto decoded = decode(
        std::span<const std::byte>(static_cast<const std::byte*>(encoded.body.data()), encoded.body.size()), nullptr);
    INFO((decoded ? std::string("ok") : decoded.error().what()));
    REQUIRE(decoded.ok());
    return std::move(decoded.value());
}

template <typename T>
void check_round_trip(const T& value) {
    auto back = round_trip(value);
    REQUIRE(std::holds_alternative<T>(back));
    CHECK(std::get<T>(back) == value);
}

/// [version, type, fields...] with the fields written by `fields`.
std::string frame(int type, std::uint32_t field_count, const std::function<void(packer&)>& fields) {
    return packed([&](packer& pk) {
        pk.pack_array(2 + field_count);
        pk.pack(protocol::version);
        pk.pack(type);
        fields(pk);
    });
}

void pack_string(packer& pk, const std::string& s) {
    pk.pack_str(static_cast<std::uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

/// A REQUEST whose fields can each be replaced by a hostile writer.
std::string request_frame(std::function<void(packer&)> transfer, std::function<void(packer&)> name,
                          std::function<void(packer&)> offset, std::function<void(packer&)> chunk_size,
                          std::function<void(packer&)> credit) {
    return frame(3, 5, [&](packer& pk) {
        transfer(pk);
        name(pk);
        offset(pk);
        chunk_size(pk);
        credit(pk);
    });
}

auto uint_field(std::uint64_t v) {
    return [v](packer& pk) {
        pk.pack(v);
    };
}
auto str_field(std::string s) {
    return [s](packer& pk) {
        pack_string(pk, s);
    };
}
const auto good_transfer = uint_field(1);
const auto good_name = str_field("a.txt");
const auto good_offset = uint_field(0);
const auto good_chunk_size = uint_field(1024);
const auto good_credit = uint_field(1);

std::string digest_bytes(std::size_t n) {
    return std::string(n, '\x5a');
}

chunk make_chunk(std::uint32_t transfer, std::uint64_t offset, bool last, const std::string& bytes,
                 std::uint64_t holder_busy_us = 0) {
    chunk c;
    c.transfer = transfer;
    c.offset = offset;
    c.last = last;
    c.holder_busy_us = holder_busy_us;
    c.data = payload::copy_of(bytes);
    return c;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// Round trips

TEST_CASE("codec hello round trips with smallest and largest values", "[codec]") {
    check_round_trip(hello{peer_id(1), "inproc://a", 0});
    check_round_trip(hello{peer_id(1), "inproc://a", 0, true});
    check_round_trip(
        hello{peer_id(u64max), "tcp://" + std::string(protocol::max_endpoint_bytes - 11, 'h') + ":5000", u64max});
}

TEST_CASE("codec file list round trips empty, full page, and the last page", "[codec]") {
    check_round_trip(file_list{0, 0, 1, {}});
    check_round_trip(file_list{u64max, protocol::max_pages - 1, protocol::max_pages, {{"a", 0}, {"b", u64max}}});

    file_list full{7, 0, 1, {}};
    for (std::size_t i = 0; i < protocol::files_per_page; ++i) {
        // The longest path: the number, three components of 255 bytes, and a last one filling up to 1024 bytes.
        auto name = std::to_string(i);
        for (int level = 0; level < 3; ++level) {
            name.append("/").append(protocol::max_name_bytes, 'x');
        }
        name.append("/");
        name.append(protocol::max_path_bytes - name.size(), 'y');
        REQUIRE(name.size() == protocol::max_path_bytes);
        full.files.push_back({name, i, digest{}}); // and every root known: the largest entry there is
    }
    auto encoded = encode(full);
    CHECK(encoded.body.size() <= protocol::max_body_bytes); // a full page of the longest names fits in one frame
    check_round_trip(full);
}

TEST_CASE("codec request, offer, ack round trip at their limits", "[codec]") {
    check_round_trip(request{0, "a", 0, protocol::min_chunk_size, 1});
    check_round_trip(request{u32max, std::string(protocol::max_name_bytes, 'n'), i64max, protocol::max_chunk_size,
                             protocol::max_credit});
    check_round_trip(request{1, "top/sub/deeper/a.txt", 0, 1024, 2});
    std::string deepest = "d";
    for (std::size_t i = 1; i < protocol::max_path_depth; ++i) {
        deepest += "/d";
    }
    check_round_trip(request{1, deepest, 0, 1024, 2});
    digest h{};
    for (std::size_t i = 0; i < h.size(); ++i) {
        h[i] = static_cast<std::uint8_t>(255 - i);
    }
    check_round_trip(offer{0, 0, digest{}, min_piece_size, protocol::min_chunk_size});
    check_round_trip(offer{u32max, max_file_size, h, max_piece_size, protocol::max_chunk_size});
    check_round_trip(get_manifest{0, digest{}, 0});
    check_round_trip(get_manifest{u32max, h, max_piece_count - 1});
    check_round_trip(manifest_page{0, 0, {h}});
    check_round_trip(manifest_page{u32max, max_piece_count - protocol::leaves_per_page,
                                   std::vector<digest>(protocol::leaves_per_page, h)});
    check_round_trip(ack{0, 0, 1});
    check_round_trip(ack{u32max, i64max, protocol::max_credit});
}

TEST_CASE("codec not found, abort, cancel, ping, pong, goodbye round trip", "[codec]") {
    check_round_trip(not_found{0, "", ""});
    // The name is echoed text, not a path: any valid UTF-8 up to the name limit comes back as sent.
    check_round_trip(not_found{u32max, "../x", std::string(protocol::max_reason_bytes, 'r')});
    check_round_trip(abort_transfer{0, ""});
    check_round_trip(abort_transfer{u32max, "file changed \xe2\x9c\x93"});
    check_round_trip(cancel_transfer{0, ""});
    check_round_trip(cancel_transfer{u32max, "cancelled \xe2\x9c\x93"});
    check_round_trip(ping{});
    check_round_trip(pong{});
    check_round_trip(goodbye{});
}

TEST_CASE("codec preparing round trips", "[codec]") {
    check_round_trip(preparing{0, 0});
    check_round_trip(preparing{u32max, i64max});
}

TEST_CASE("codec chunk round trips with 0-byte and maximal payloads", "[codec]") {
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{protocol::max_chunk_size}}) {
        CAPTURE(size);
        std::string bytes(size, '\0');
        for (std::size_t i = 0; i < size; ++i) {
            bytes[i] = static_cast<char>(i * 131 + 7);
        }
        auto encoded = encode(make_chunk(u32max, i64max, size == 0, bytes, i64max));
        REQUIRE(encoded.payload);
        CHECK(encoded.payload->size() == size);
        CHECK(encoded.body.size() <= 33); // the header stays in libzmq's inline small-message storage

        std::vector<zmq::message_t> frames;
        frames.push_back(std::move(encoded.body));
        frames.push_back(std::move(*encoded.payload));
        auto decoded = decode(std::span<zmq::message_t>(frames));
        REQUIRE(decoded.ok());
        auto* c = std::get_if<chunk>(&decoded.value());
        REQUIRE(c != nullptr);
        CHECK(c->transfer == u32max);
        CHECK(c->offset == i64max);
        CHECK(c->last == (size == 0));
        CHECK(c->holder_busy_us == i64max);
        CHECK(c->data.to_string() == bytes);
    }
}

TEST_CASE("codec credit is 1..65536 chunks and CHUNK carries holder-busy (version 8)", "[codec]") {
    const auto ack_frame = [](std::uint64_t credit) {
        return frame(6, 3, [credit](packer& pk) {
            pk.pack(1);
            pk.pack(0);
            pk.pack(credit);
        });
    };
    const auto chunk_frame = [](const std::function<void(packer&)>& holder_busy) {
        return frame(5, 4, [&](packer& pk) {
            pk.pack(1);
            pk.pack(0);
            pk.pack(false);
            holder_busy(pk);
        });
    };
    SECTION("credit") {
        CHECK(
            decode_body(request_frame(good_transfer, good_name, good_offset, good_chunk_size, uint_field(65536))).ok());
        CHECK(error_of(request_frame(good_transfer, good_name, good_offset, good_chunk_size, uint_field(0))) ==
              decode_errc::invalid_value);
        CHECK(error_of(request_frame(good_transfer, good_name, good_offset, good_chunk_size, uint_field(65537))) ==
              decode_errc::over_limit);
        auto big = decode_body(ack_frame(65536));
        REQUIRE(big.ok());
        CHECK(std::get<ack>(big.value()).credit == 65536);
        CHECK(error_of(ack_frame(0)) == decode_errc::invalid_value);
        CHECK(error_of(ack_frame(65537)) == decode_errc::over_limit);
    }
    SECTION("holder-busy") {
        zmq::message_t payload(std::string("xyz"));
        auto ok = decode(span_of(chunk_frame(uint_field(i64max))), &payload);
        REQUIRE(ok.ok());
        CHECK(std::get<chunk>(ok.value()).holder_busy_us == i64max);
        CHECK(error_of(chunk_frame(uint_field(i64max + 1))) == decode_errc::over_limit);
        CHECK(error_of(chunk_frame([](packer& pk) { pk.pack(-1); })) == decode_errc::invalid_value);
        CHECK(error_of(chunk_frame([](packer& pk) { pk.pack_nil(); })) == decode_errc::wrong_field_type);
        // A version 7 CHUNK's four values under version 9: holder-busy is not optional.
        CHECK(error_of(raw({0x95, 0x09, 0x05, 0x01, 0x00, 0xc3})) == decode_errc::wrong_arity);
        chunk over = make_chunk(1, 0, true, "z", i64max + 1);
        CHECK_THROWS_AS(encode(std::move(over)), std::invalid_argument);
    }
}

TEST_CASE("codec reads integers of any width the writer chose", "[codec]") {
    // ACK [1, 6, transfer 5 as int8, next_offset 1 as uint16, credit 2 as uint64]: msgpack allows any width, and a
    // signed type holding a value >= 0 is still that value.
    auto decoded = decode_body(raw({0x95, 0x09, 0x06, 0xd0, 0x05, 0xcd, 0x00, 0x01, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x02}));
    REQUIRE(decoded.ok());
    CHECK(std::get<ack>(decoded.value()) == ack{5, 1, 2});
    // The same ACK with credit as int8 -1 is refused.
    CHECK(error_of(raw({0x95, 0x09, 0x06, 0x05, 0x01, 0xd0, 0xff})) == decode_errc::invalid_value);
}

TEST_CASE("codec encode refuses fields over their limits", "[codec]") {
    CHECK_THROWS_AS(encode(request{1, std::string(protocol::max_path_bytes + 1, 'n'), 0, 1024, 1}),
                    std::invalid_argument);
    CHECK_THROWS_AS(encode(hello{peer_id(1), std::string(protocol::max_endpoint_bytes + 1, 'e'), 0}),
                    std::invalid_argument);
    CHECK_THROWS_AS(encode(not_found{1, "a", std::string(protocol::max_reason_bytes + 1, 'r')}), std::invalid_argument);
    CHECK_THROWS_AS(encode(abort_transfer{1, std::string(protocol::max_reason_bytes + 1, 'r')}), std::invalid_argument);
    CHECK_THROWS_AS(encode(cancel_transfer{1, std::string(protocol::max_reason_bytes + 1, 'r')}),
                    std::invalid_argument);
    file_list too_long{1, 0, 1, std::vector<file_entry>(protocol::files_per_page + 1, file_entry{"a", 1})};
    CHECK_THROWS_AS(encode(std::move(too_long)), std::invalid_argument);
    CHECK_THROWS_AS(encode(make_chunk(1, 0, true, std::string(protocol::max_chunk_size + 1, 'c'))),
                    std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------------------------
// Fixed encodings: if one of these changes, the wire format changed (bump protocol::version and docs/protocol.md).

TEST_CASE("codec encodes every type to its known bytes", "[codec]") {
    digest h{};
    for (std::size_t i = 0; i < h.size(); ++i) {
        h[i] = static_cast<std::uint8_t>(i);
    }
    const std::string hash_hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const auto check = [](message msg, const std::string& expected) {
        auto encoded = encode(std::move(msg));
        CHECK(hex(encoded.body.data(), encoded.body.size()) == expected);
        // And the known bytes decode, so reader and writer agree on them.
        std::string bytes;
        for (std::size_t i = 0; i < expected.size(); i += 2) {
            bytes.push_back(static_cast<char>(std::stoi(expected.substr(i, 2), nullptr, 16)));
        }
        zmq::message_t payload;
        auto decoded = decode(span_of(bytes), encoded.payload ? &payload : nullptr);
        CHECK(decoded.ok());
    };
    // [version 9, type 1, id 0x0102030405060708 (uint64), "inproc://a", list_version 0, client false]
    check(hello{peer_id(0x0102030405060708), "inproc://a", 0}, "960901cf0102030405060708aa696e70726f633a2f2f6100c2");
    // [9, 1, id 5, "inproc://b", list_version 1, client true]
    check(hello{peer_id(5), "inproc://b", 1, true}, "96090105aa696e70726f633a2f2f6201c3");
    // [9, 2, list_version 1, page 0, page_count 1, [["a", 5, nil]]]: nil, the holder has not hashed "a" yet
    check(file_list{1, 0, 1, {{"a", 5}}}, "9609020100019193a16105c0");
    // an entry whose root is known: [8, 2, 1, 0, 1, [["a", 5, bin8 of 32 bytes]]]
    check(file_list{1, 0, 1, {{"a", 5, h}}}, "9609020100019193a16105c420" + hash_hex);
    // [9, 3, transfer 1, "a.txt", offset 0, chunk_size 1024 (uint16), credit 2]
    check(request{1, "a.txt", 0, 1024, 2}, "97090301a5612e74787400cd040002");
    // [9, 3, transfer 1, "d/a.txt", offset 0, chunk_size 1024 (uint16), credit 2]: a path is one str, '/' between
    check(request{1, "d/a.txt", 0, 1024, 2}, "97090301a7642f612e74787400cd040002");
    // [9, 4, transfer 2, size 65536 (uint32), root: bin8 of 32 bytes, piece_size 1024 (uint16), chunk_size 1048576
    // (uint32)]
    check(offer{2, 65536, h, 1024, 1u << 20}, "97090402ce00010000c420" + hash_hex + "cd0400ce00100000");
    // [9, 5, transfer 7, offset 300 (uint16), last true, holder_busy 0]; the payload is the next frame
    check(make_chunk(7, 300, true, "xyz"), "96090507cd012cc300");
    // [9, 5, transfer 7, offset 300, last false, holder_busy 1.5 s = 1500000 us (uint32)]
    check(make_chunk(7, 300, false, "xyz", 1500000), "96090507cd012cc2ce0016e360");
    // [9, 6, transfer 1, next_offset 2^32 (uint64), credit 64]
    check(ack{1, 1ull << 32, 64}, "95090601cf000000010000000040");
    // [9, 6, transfer 1, next_offset 2^32 (uint64), credit 1024 (uint16)]: credit is chunks, up to 65536
    check(ack{1, 1ull << 32, 1024}, "95090601cf0000000100000000cd0400");
    // [9, 7, transfer 2, "x", "no"]
    check(not_found{2, "x", "no"}, "95090702a178a26e6f");
    // [9, 8, transfer 3, "bye"]
    check(abort_transfer{3, "bye"}, "94090803a3627965");
    check(ping{}, "920909");
    check(pong{}, "92090a");
    check(goodbye{}, "92090b");
    // [9, 12, transfer 5, size 2^20 (uint32)]
    check(preparing{5, 1u << 20}, "94090c05ce00100000");
    // [9, 13, transfer 3, "no"]
    check(cancel_transfer{3, "no"}, "94090d03a26e6f");
    // [9, 14, transfer 2, root: bin8 of 32 bytes, first 3]
    check(get_manifest{2, h, 3}, "95090e02c420" + hash_hex + "03");
    // [9, 15, transfer 2, first 0, leaves: bin8 of 32 bytes (one leaf)]
    check(manifest_page{2, 0, {h}}, "95090f0200c420" + hash_hex);
    // Two leaves: bin8 of 64 bytes, the leaves one after the other.
    check(manifest_page{2, 4, {h, h}}, "95090f0204c440" + hash_hex + hash_hex);
    // [9, 16, [[id 5, "tcp://10.0.0.1:7000", key nil]]]: a plain peer's PEERS of one entry
    check(peer_list{{{peer_id(5), "tcp://10.0.0.1:7000", std::nullopt}}},
          "930910919305b3" + hex("tcp://10.0.0.1:7000", 19) + "c0");
    // [9, 16, []]
    check(peer_list{}, "93091090");
    // Secure: the key as 40 characters of Z85 (str 8), here the key of 32 zero bytes.
    const std::string zero_key(40, '0');
    check(peer_list{{{peer_id(5), "tcp://10.0.0.1:7000", zero_key}}},
          "930910919305b3" + hex("tcp://10.0.0.1:7000", 19) + "d928" + hex(zero_key.data(), 40));
}

TEST_CASE("codec PEERS round trips empty, with keys, and at its 64 entries", "[codec][pex]") {
    check_round_trip(peer_list{});
    peer_list full;
    for (std::uint64_t i = 1; i <= protocol::max_peer_refs; ++i) {
        full.list.push_back(peer_ref{peer_id(i), "tcp://192.168.1." + std::to_string(i) + ":65535", std::nullopt});
    }
    check_round_trip(full);
    check_round_trip(peer_list{{{peer_id(u64max), "tcp://[::1]:1", std::string(40, 'a')},
                                {peer_id(7), "tcp://peer-7.example.org:5000", std::string(40, '0')},
                                {peer_id(8), "inproc://b", std::nullopt}}});
    // The writer refuses what the reader would.
    full.list.push_back(peer_ref{peer_id(99), "tcp://10.0.0.1:1", std::nullopt});
    CHECK_THROWS_AS(encode(full), std::invalid_argument);
    CHECK_THROWS_AS(encode(peer_list{{{peer_id(1), "tcp://10.0.0.1:1", std::string(39, '0')}}}), std::invalid_argument);
}

namespace {

/// PEERS with one entry whose three fields are written by hand.
std::string peers_frame(const std::function<void(packer&)>& id, const std::function<void(packer&)>& endpoint,
                        const std::function<void(packer&)>& key) {
    return frame(16, 1, [&](packer& pk) {
        pk.pack_array(1);
        pk.pack_array(3);
        id(pk);
        endpoint(pk);
        key(pk);
    });
}

const auto good_endpoint = str_field("tcp://10.0.0.1:7000");
const auto nil_field = [](packer& pk) {
    pk.pack_nil();
};

} // namespace

TEST_CASE("codec PEERS refuses what no peer could have reached", "[codec][pex]") {
    CHECK(decode_body(peers_frame(uint_field(5), good_endpoint, nil_field)).ok());
    SECTION("more than 64 entries") {
        const auto body = frame(16, 1, [](packer& pk) {
            pk.pack_array(protocol::max_peer_refs + 1);
            for (std::size_t i = 1; i <= protocol::max_peer_refs + 1; ++i) {
                pk.pack_array(3);
                pk.pack(i);
                pack_string(pk, "tcp://10.0.0.1:7000");
                pk.pack_nil();
            }
        });
        CHECK(error_of(body) == decode_errc::over_limit);
    }
    SECTION("id 0, negative, or not an integer") {
        CHECK(error_of(peers_frame(uint_field(0), good_endpoint, nil_field)) == decode_errc::invalid_value);
        CHECK(error_of(peers_frame([](packer& pk) { pk.pack(-1); }, good_endpoint, nil_field)) ==
              decode_errc::invalid_value);
        CHECK(error_of(peers_frame(str_field("5"), good_endpoint, nil_field)) == decode_errc::wrong_field_type);
    }
    SECTION("an endpoint nobody can dial") {
        for (const char* bad : {"", "10.0.0.1:7000", "http://10.0.0.1:7000", "tcp://10.0.0.1", "tcp://10.0.0.1:",
                                "tcp://10.0.0.1:0", "tcp://10.0.0.1:65536", "tcp://10.0.0.1:70000", "tcp://:7000",
                                "tcp://0.0.0.0:7000", "tcp://*:7000", "tcp://[::]:7000", "tcp://a b:7000",
                                "tcp://a;b:7000", "tcp://10.0.0.1:7x00", "inproc://", "ipc:///tmp/x"}) {
            INFO(bad);
            CHECK(error_of(peers_frame(uint_field(5), str_field(bad), nil_field)) == decode_errc::invalid_value);
        }
        CHECK(error_of(peers_frame(uint_field(5), str_field("tcp://" + std::string(251, 'a') + ":7000"), nil_field)) ==
              decode_errc::over_limit);
        CHECK(error_of(peers_frame(uint_field(5), uint_field(7000), nil_field)) == decode_errc::wrong_field_type);
    }
    SECTION("a key of the wrong length, not Z85, or not a str") {
        CHECK(error_of(peers_frame(uint_field(5), good_endpoint, str_field(std::string(39, '0')))) ==
              decode_errc::invalid_value);
        CHECK(error_of(peers_frame(uint_field(5), good_endpoint, str_field(std::string(41, '0')))) ==
              decode_errc::invalid_value);
        CHECK(error_of(peers_frame(uint_field(5), good_endpoint, str_field(std::string(40, '~')))) ==
              decode_errc::invalid_value);
        CHECK(error_of(peers_frame(uint_field(5), good_endpoint, str_field(""))) == decode_errc::invalid_value);
        CHECK(error_of(peers_frame(uint_field(5), good_endpoint, uint_field(0))) == decode_errc::wrong_field_type);
    }
    SECTION("entries and the list of the wrong shape") {
        CHECK(error_of(frame(16, 1, [](packer& pk) { pk.pack(1); })) == decode_errc::wrong_field_type);
        CHECK(error_of(frame(16, 1, [](packer& pk) {
                  pk.pack_array(1);
                  pk.pack(5);
              })) == decode_errc::wrong_field_type);
        CHECK(error_of(frame(16, 1, [](packer& pk) {
                  pk.pack_array(1);
                  pk.pack_array(2);
                  pk.pack(5);
                  pack_string(pk, "tcp://10.0.0.1:7000");
              })) == decode_errc::wrong_arity);
        CHECK(error_of(frame(16, 0, [](packer&) {})) == decode_errc::wrong_arity);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Strict decoding: each error kind from hand-built bytes.

TEST_CASE("codec frame count errors", "[codec]") {
    std::vector<zmq::message_t> none;
    auto empty = decode(std::span<zmq::message_t>(none));
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code == decode_errc::no_frames);

    std::vector<zmq::message_t> three;
    three.emplace_back(raw({0x92, 0x09, 0x09}).data(), 3);
    three.emplace_back(3);
    three.emplace_back(3);
    auto many = decode(std::span<zmq::message_t>(three));
    REQUIRE_FALSE(many.ok());
    CHECK(many.error().code == decode_errc::too_many_frames);

    // CHUNK [8, 5, 1, 0, true, 0] alone.
    auto chunk_alone = raw({0x96, 0x09, 0x05, 0x01, 0x00, 0xc3, 0x00});
    CHECK(error_of(chunk_alone) == decode_errc::missing_payload);

    // PING [1, 9] with a payload frame.
    zmq::message_t payload(std::string("surprise"));
    auto with_payload = decode(span_of(raw({0x92, 0x09, 0x09})), &payload);
    REQUIRE_FALSE(with_payload.ok());
    CHECK(with_payload.error().code == decode_errc::unexpected_payload);
}

TEST_CASE("codec frames over their byte limit are refused before unpacking", "[codec]") {
    // A body one byte over the limit; its contents do not matter (they are not even looked at).
    std::string body(protocol::max_body_bytes + 1, '\xc1');
    CHECK(error_of(body) == decode_errc::frame_too_large);

    zmq::message_t big(protocol::max_chunk_size + 1);
    auto result = decode(span_of(raw({0x96, 0x09, 0x05, 0x01, 0x00, 0xc3, 0x00})), &big);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == decode_errc::frame_too_large);
    CHECK(big.size() == protocol::max_chunk_size + 1); // left where it was
}

TEST_CASE("codec truncated msgpack is reported as truncated", "[codec]") {
    CHECK(error_of("") == decode_errc::truncated);
    // An array of 5 with only 3 elements.
    CHECK(error_of(raw({0x95, 0x09, 0x06, 0x01})) == decode_errc::truncated);
    // A str8 announcing 10 bytes with 3 present.
    CHECK(error_of(raw({0x94, 0x09, 0x08, 0x01, 0xd9, 0x0a, 'a', 'b', 'c'})) == decode_errc::truncated);
    // A uint64 cut in half.
    CHECK(error_of(raw({0x95, 0x09, 0x06, 0x01, 0xcf, 0x00, 0x00})) == decode_errc::truncated);
    // Every proper prefix of a valid REQUEST.
    const auto good = request_frame(good_transfer, good_name, good_offset, good_chunk_size, good_credit);
    REQUIRE(decode_body(good).ok());
    for (std::size_t n = 0; n < good.size(); ++n) {
        CAPTURE(n);
        CHECK(error_of(good.substr(0, n)) == decode_errc::truncated);
    }
}

TEST_CASE("codec bytes that are not msgpack are malformed", "[codec]") {
    CHECK(error_of(raw({0xc1})) == decode_errc::malformed); // the one reserved byte
    CHECK(error_of(raw({0x92, 0x09, 0xc1})) == decode_errc::malformed);
}

TEST_CASE("codec bytes after the message are trailing bytes", "[codec]") {
    CHECK(error_of(raw({0x92, 0x09, 0x09, 0x00})) == decode_errc::trailing_bytes);
    // Two whole messages in one frame.
    CHECK(error_of(raw({0x92, 0x09, 0x09, 0x92, 0x01, 0x0a})) == decode_errc::trailing_bytes);
}

TEST_CASE("codec a top-level value other than an array is refused", "[codec]") {
    CHECK(error_of(raw({0x01})) == decode_errc::not_an_array);
    CHECK(error_of(packed([](packer& pk) { pack_string(pk, "HELLO"); })) == decode_errc::not_an_array);
    CHECK(error_of(raw({0xc0})) == decode_errc::not_an_array); // nil
    CHECK(error_of(raw({0x80})) == decode_errc::not_an_array); // an empty map (no map may hold anything)
}

TEST_CASE("codec a probe's routing id is 16 hex digits, a dot and a decimal number", "[codec][probe]") {
    // Protocol 9's probe-routing-id, known bytes: the ROUTER side reads the prober's id from it.
    CHECK(probe_routing_id(peer_id(0x0102030405060708), 7) == "0102030405060708.7");
    CHECK(probe_routing_id(peer_id(~0ull), ~0ull) == "ffffffffffffffff.18446744073709551615");
    CHECK(prober_of("0102030405060708.7") == peer_id(0x0102030405060708));
    CHECK(prober_of("ffffffffffffffff.18446744073709551615") == peer_id(~0ull));
    CHECK(prober_of("0102030405060708.0") == peer_id(0x0102030405060708));
    // A peer's own routing id is not a probe's, and neither is anything else.
    for (const char* not_a_probe :
         {"0102030405060708", "0102030405060708.", "0102030405060708.07", "0102030405060708.7a", "0102030405060708.-7",
          "0102030405060708:7", "010203040506070.87", "0102030405060708A.7", "0102030405060708.123456789012345678901",
          "01020304050607X8.7", "01020304050607080.7", ""}) {
        CAPTURE(not_a_probe);
        CHECK_FALSE(prober_of(not_a_probe));
    }
}

TEST_CASE("codec a version other than 9 is refused", "[codec]") {
    CHECK(error_of(raw({0x92, 0x00, 0x09})) == decode_errc::bad_version);
    CHECK(error_of(raw({0x92, 0x02, 0x09})) == decode_errc::bad_version); // version 2: HELLO had no client flag
    CHECK(error_of(raw({0x92, 0x03, 0x09})) == decode_errc::bad_version); // version 3: names had no folders
    CHECK(error_of(raw({0x92, 0x04, 0x09})) == decode_errc::bad_version); // version 4: one BLAKE2b per file
    CHECK(error_of(raw({0x92, 0x05, 0x09})) == decode_errc::bad_version); // version 5: file lists had no roots
    CHECK(error_of(raw({0x92, 0x06, 0x09})) == decode_errc::bad_version); // version 6: no PEERS
    CHECK(error_of(raw({0x92, 0x07, 0x09})) == decode_errc::bad_version); // version 7: no holder-busy in CHUNK
    CHECK(error_of(raw({0x92, 0x08, 0x09})) == decode_errc::bad_version); // version 8: drops probes unanswered
    CHECK(error_of(raw({0x92, 0x0a, 0x09})) == decode_errc::bad_version);
    CHECK(error_of(raw({0x92, 0xff, 0x09})) == decode_errc::bad_version); // -1
    CHECK(error_of(raw({0x92, 0xa1, '2', 0x09})) == decode_errc::bad_version);
    // The version is checked before the type: a future version may have types we do not know.
    CHECK(error_of(raw({0x92, 0x0a, 0x63})) == decode_errc::bad_version);
    // A peer of the first release is told in words what is wrong.
    auto old = decode_body(raw({0x92, 0x01, 0x09}));
    REQUIRE_FALSE(old.ok());
    CHECK(old.error().code == decode_errc::bad_version);
    CHECK(old.error().detail == "it speaks protocol version 1, this peer speaks version 9");
}

TEST_CASE("codec a peer of protocol version 4 is told in one line", "[codec]") {
    // A release before content addressing sends version 4: its first HELLO is refused with words a user can act on.
    auto old = decode_body(raw({0x92, 0x04, 0x09}));
    REQUIRE_FALSE(old.ok());
    CHECK(old.error().what() == "bad version: it speaks protocol version 4, this peer speaks version 9");
}

TEST_CASE("codec a peer of protocol version 6, before PEERS, is told in one line", "[codec][pex]") {
    // [6, HELLO, id 5, "inproc://b", list_version 1, client false]: a whole HELLO of the release before this one.
    auto old =
        decode_body(raw({0x96, 0x06, 0x01, 0x05, 0xaa, 'i', 'n', 'p', 'r', 'o', 'c', ':', '/', '/', 'b', 0x01, 0xc2}));
    REQUIRE_FALSE(old.ok());
    CHECK(old.error().what() == "bad version: it speaks protocol version 6, this peer speaks version 9");
}

TEST_CASE("codec an unknown type code is refused", "[codec]") {
    CHECK(error_of(raw({0x92, 0x09, 0x00})) == decode_errc::unknown_type);
    // One past the last type there is.
    const int past_last = static_cast<int>(msg_type::peers) + 1;
    CHECK(error_of(raw({0x92, 0x09, past_last})) == decode_errc::unknown_type);
    CHECK(error_of(raw({0x92, 0x09, 0xcc, 0xff})) == decode_errc::unknown_type);
    CHECK(error_of(raw({0x92, 0x09, 0xfb})) == decode_errc::unknown_type); // -5
    CHECK(error_of(raw({0x92, 0x09, 0xa1, 0x09})) == decode_errc::unknown_type);
}

TEST_CASE("codec too few or too many fields are wrong arity", "[codec]") {
    CHECK(error_of(raw({0x90})) == decode_errc::wrong_arity);
    CHECK(error_of(raw({0x91, 0x01})) == decode_errc::wrong_arity);
    CHECK(error_of(raw({0x93, 0x09, 0x09, 0x00})) == decode_errc::wrong_arity);       // PING with a field
    CHECK(error_of(raw({0x94, 0x09, 0x06, 0x01, 0x00})) == decode_errc::wrong_arity); // ACK without credit
    CHECK(error_of(raw({0x93, 0x09, 0x0c, 0x01})) == decode_errc::wrong_arity);       // PREPARING without its size
    CHECK(error_of(frame(1, 2, [](packer& pk) {
              pk.pack(5);
              pack_string(pk, "inproc://a");
          })) == decode_errc::wrong_arity);
    CHECK(error_of(frame(3, 6, [](packer& pk) {
              good_transfer(pk);
              good_name(pk);
              good_offset(pk);
              good_chunk_size(pk);
              good_credit(pk);
              pk.pack(0);
          })) == decode_errc::wrong_arity);
    // A FILE_LIST entry of four values.
    CHECK(error_of(frame(2, 4, [](packer& pk) {
              pk.pack(1);
              pk.pack(0);
              pk.pack(1);
              pk.pack_array(1);
              pk.pack_array(4);
              pack_string(pk, "a");
              pk.pack(1);
              pk.pack_nil();
              pk.pack(2);
          })) == decode_errc::wrong_arity);
}

TEST_CASE("codec a FILE_LIST entry's root is nil or 32 bytes, and a version 5 entry is refused", "[codec]") {
    const auto entry = [](auto&& pack_entry) {
        return frame(2, 4, [&](packer& pk) {
            pk.pack(1);
            pk.pack(0);
            pk.pack(1);
            pk.pack_array(1);
            pack_entry(pk);
        });
    };
    // Version 5's entry had no root: [name, size].
    CHECK(error_of(entry([](packer& pk) {
              pk.pack_array(2);
              pack_string(pk, "a");
              pk.pack(1);
          })) == decode_errc::wrong_arity);
    CHECK(error_of(entry([](packer& pk) {
              pk.pack_array(3);
              pack_string(pk, "a");
              pk.pack(1);
              pk.pack_bin(31);
              pk.pack_bin_body(std::string(31, 'r').data(), 31);
          })) == decode_errc::invalid_value);
    CHECK(error_of(entry([](packer& pk) {
              pk.pack_array(3);
              pack_string(pk, "a");
              pk.pack(1);
              pack_string(pk, std::string(32, 'r'));
          })) == decode_errc::wrong_field_type);
    auto known = decode_body(entry([](packer& pk) {
        pk.pack_array(3);
        pack_string(pk, "a");
        pk.pack(1);
        pk.pack_bin(32);
        pk.pack_bin_body(std::string(32, '\x07').data(), 32);
    }));
    REQUIRE(known.ok());
    const auto& files = std::get<file_list>(known.value()).files;
    REQUIRE(files.size() == 1);
    CHECK(files[0].root == digest{0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07,
                                  0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07,
                                  0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07});
}

TEST_CASE("codec each field of the wrong msgpack type is refused", "[codec]") {
    const auto as_str = str_field("7");
    const auto as_bool = [](packer& pk) {
        pk.pack(true);
    };
    const auto as_nil = [](packer& pk) {
        pk.pack_nil();
    };
    SECTION("request fields") {
        CHECK(error_of(request_frame(as_str, good_name, good_offset, good_chunk_size, good_credit)) ==
              decode_errc::wrong_field_type);
        CHECK(error_of(request_frame(good_transfer, uint_field(7), good_offset, good_chunk_size, good_credit)) ==
              decode_errc::wrong_field_type);
        CHECK(error_of(request_frame(good_transfer, good_name, as_bool, good_chunk_size, good_credit)) ==
              decode_errc::wrong_field_type);
        CHECK(error_of(request_frame(good_transfer, good_name, good_offset, as_nil, good_credit)) ==
              decode_errc::wrong_field_type);
        CHECK(error_of(request_frame(good_transfer, good_name, good_offset, good_chunk_size,
                                     [](packer& pk) { pk.pack(1.5); })) == decode_errc::wrong_field_type);
    }
    SECTION("a bin where a str belongs") {
        CHECK(error_of(request_frame(
                  good_transfer,
                  [](packer& pk) {
                      pk.pack_bin(5);
                      pk.pack_bin_body("a.txt", 5);
                  },
                  good_offset, good_chunk_size, good_credit)) == decode_errc::wrong_field_type);
    }
    SECTION("chunk last must be a boolean") {
        CHECK(error_of(frame(5, 4, [](packer& pk) {
                  pk.pack(1);
                  pk.pack(0);
                  pk.pack(1);
                  pk.pack(0);
              })) == decode_errc::wrong_field_type);
    }
    SECTION("chunk holder-busy must be an unsigned integer") {
        CHECK(error_of(frame(5, 4, [](packer& pk) {
                  pk.pack(1);
                  pk.pack(0);
                  pk.pack(true);
                  pk.pack(1.5);
              })) == decode_errc::wrong_field_type);
    }
    SECTION("offer root must be bin") {
        CHECK(error_of(frame(4, 5, [](packer& pk) {
                  pk.pack(1);
                  pk.pack(10);
                  pack_string(pk, digest_bytes(32));
                  pk.pack(1024);
                  pk.pack(1024);
              })) == decode_errc::wrong_field_type);
    }
    SECTION("manifest leaves must be bin") {
        CHECK(error_of(frame(15, 3, [](packer& pk) {
                  pk.pack(1);
                  pk.pack(0);
                  pack_string(pk, digest_bytes(32));
              })) == decode_errc::wrong_field_type);
    }
    SECTION("hello id must be an unsigned integer") {
        CHECK(error_of(frame(1, 4, [](packer& pk) {
                  pack_string(pk, "1111111111111111");
                  pack_string(pk, "inproc://a");
                  pk.pack(0);
                  pk.pack(false);
              })) == decode_errc::wrong_field_type);
    }
    SECTION("hello client flag must be a boolean") {
        CHECK(error_of(frame(1, 4, [](packer& pk) {
                  pk.pack(1);
                  pack_string(pk, "inproc://a");
                  pk.pack(0);
                  pk.pack(1);
              })) == decode_errc::wrong_field_type);
    }
    SECTION("file list files, entries and sizes") {
        const auto list_with = [](const std::function<void(packer&)>& files) {
            return frame(2, 4, [&](packer& pk) {
                pk.pack(1);
                pk.pack(0);
                pk.pack(1);
                files(pk);
            });
        };
        CHECK(error_of(list_with([](packer& pk) { pk.pack(0); })) == decode_errc::wrong_field_type);
        CHECK(error_of(list_with([](packer& pk) {
                  pk.pack_array(1);
                  pack_string(pk, "a");
              })) == decode_errc::wrong_field_type);
        CHECK(error_of(list_with([](packer& pk) {
                  pk.pack_array(1);
                  pk.pack_array(3);
                  pack_string(pk, "a");
                  pack_string(pk, "5");
                  pk.pack_nil();
              })) == decode_errc::wrong_field_type);
        CHECK(error_of(list_with([](packer& pk) {
                  pk.pack_array(1);
                  pk.pack_array(3);
                  pk.pack(5);
                  pk.pack(5);
                  pk.pack_nil();
              })) == decode_errc::wrong_field_type);
    }
}

TEST_CASE("codec strings, lists and numbers over their limits are over limit", "[codec]") {
    SECTION("a str longer than any field may be (msgpack-c's str limit)") {
        auto long_reason = frame(8, 2, [](packer& pk) {
            pk.pack(1);
            pack_string(pk, std::string(protocol::max_string_bytes + 1, 'r'));
        });
        CHECK(error_of(long_reason) == decode_errc::over_limit);
    }
    SECTION("a name of 1025 bytes: over the path limit") {
        CHECK(error_of(request_frame(good_transfer, str_field(std::string(protocol::max_path_bytes + 1, 'n')),
                                     good_offset, good_chunk_size, good_credit)) == decode_errc::over_limit);
    }
    SECTION("a FILE_LIST page of 1001 entries") {
        auto page = frame(2, 4, [](packer& pk) {
            pk.pack(1);
            pk.pack(0);
            pk.pack(1);
            pk.pack_array(protocol::files_per_page + 1);
            for (std::size_t i = 0; i <= protocol::files_per_page; ++i) {
                pk.pack_array(3);
                pack_string(pk, std::to_string(i)); // (not "f" + ...: GCC 12 warns wrongly, -Wrestrict)
                pk.pack(1);
                pk.pack_nil();
            }
        });
        CHECK(error_of(page) == decode_errc::over_limit);
    }
    SECTION("a bin longer than a full MANIFEST page") {
        const std::uint32_t too_long = protocol::leaves_per_page * 32 + 32;
        CHECK(error_of(frame(15, 3, [&](packer& pk) {
                  pk.pack(1);
                  pk.pack(0);
                  pk.pack_bin(too_long);
                  pk.pack_bin_body(std::string(too_long, 'l').data(), too_long);
              })) == decode_errc::over_limit);
    }
    SECTION("nesting deeper than a FILE_LIST needs") {
        CHECK(error_of(raw({0x92, 0x09, 0x91, 0x91, 0x90})) == decode_errc::over_limit);
    }
    SECTION("a map, or an ext, of any size") {
        CHECK(error_of(raw({0x92, 0x09, 0x81, 0x01, 0x02})) == decode_errc::over_limit);
        CHECK(error_of(raw({0x92, 0x09, 0xd4, 0x01, 0x00})) == decode_errc::over_limit);
    }
    SECTION("numbers past their range") {
        CHECK(error_of(request_frame(uint_field(1ull << 32), good_name, good_offset, good_chunk_size, good_credit)) ==
              decode_errc::over_limit);
        CHECK(error_of(request_frame(good_transfer, good_name, uint_field(i64max + 1), good_chunk_size, good_credit)) ==
              decode_errc::over_limit);
        CHECK(error_of(request_frame(good_transfer, good_name, good_offset, uint_field(protocol::max_chunk_size + 1),
                                     good_credit)) == decode_errc::over_limit);
        CHECK(error_of(request_frame(good_transfer, good_name, good_offset, good_chunk_size,
                                     uint_field(protocol::max_credit + 1))) == decode_errc::over_limit);
        // PREPARING size 2^63, one past the largest file offset.
        CHECK(error_of(raw({0x94, 0x09, 0x0c, 0x01, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0})) == decode_errc::over_limit);
        CHECK(error_of(frame(2, 4, [](packer& pk) {
                  pk.pack(1);
                  pk.pack(0);
                  pk.pack(protocol::max_pages + 1);
                  pk.pack_array(0);
              })) == decode_errc::over_limit);
    }
}

TEST_CASE("codec path names: each refused with the reason, in REQUEST and FILE_LIST alike", "[codec]") {
    const auto request_named = [](const std::string& name) {
        return decode_body(request_frame(good_transfer, str_field(name), good_offset, good_chunk_size, good_credit));
    };
    const auto list_named = [](const std::string& name) {
        return decode_body(frame(2, 4, [&](packer& pk) {
            pk.pack(1);
            pk.pack(0);
            pk.pack(1);
            pk.pack_array(1);
            pk.pack_array(3);
            pack_string(pk, name);
            pk.pack(1);
            pk.pack_nil();
        }));
    };
    std::string deep;
    for (std::size_t i = 0; i <= protocol::max_path_depth; ++i) {
        deep += deep.empty() ? "d" : "/d";
    }
    const std::vector<std::pair<std::string, std::string>> refused{
        {"a/../b", "name is '.' or '..'"},
        {"../x", "name is '.' or '..'"},
        {"a/./b", "name is '.' or '..'"},
        {"a//b", "name has an empty component ('//')"},
        {"/etc/passwd", "name starts or ends with '/'"},
        {"a/", "name starts or ends with '/'"},
        {"sub/.p2p-part-x", "names starting with .p2p are reserved"},
        {"sub/tab\there", "name contains a control character"},
        {std::string("sub/").append(protocol::max_name_bytes + 1, 'n'), "name longer than 255 bytes"},
        {deep, "name deeper than 16 components"},
    };
    for (const auto& [name, reason] : refused) {
        INFO(escape_for_terminal(name));
        for (const auto& result : {request_named(name), list_named(name)}) {
            REQUIRE_FALSE(result.ok());
            CHECK(result.error().code == decode_errc::invalid_value);
            CHECK(result.error().detail.ends_with(reason));
        }
    }
    // Longer than the longest path: over the unpack limit, refused before any copy.
    const auto too_long = request_named(std::string(protocol::max_path_bytes + 1, 'n'));
    REQUIRE_FALSE(too_long.ok());
    CHECK(too_long.error().code == decode_errc::over_limit);
}

TEST_CASE("codec values of the right type but not allowed are invalid", "[codec]") {
    CHECK(error_of(request_frame(good_transfer, str_field(".."), good_offset, good_chunk_size, good_credit)) ==
          decode_errc::invalid_value);
    CHECK(error_of(request_frame(good_transfer, str_field("a\\b"), good_offset, good_chunk_size, good_credit)) ==
          decode_errc::invalid_value);
    CHECK(error_of(request_frame(good_transfer, str_field(".p2p-keys"), good_offset, good_chunk_size, good_credit)) ==
          decode_errc::invalid_value);
    CHECK(error_of(request_frame(
              good_transfer, good_name, [](packer& pk) { pk.pack(-1); }, good_chunk_size, good_credit)) ==
          decode_errc::invalid_value);
    CHECK(error_of(request_frame(good_transfer, good_name, good_offset, uint_field(0), good_credit)) ==
          decode_errc::invalid_value);
    CHECK(error_of(request_frame(good_transfer, good_name, good_offset, good_chunk_size, uint_field(0))) ==
          decode_errc::invalid_value);
    // page must be below page_count; page_count at least 1.
    CHECK(error_of(frame(2, 4, [](packer& pk) {
              pk.pack(1);
              pk.pack(1);
              pk.pack(1);
              pk.pack_array(0);
          })) == decode_errc::invalid_value);
    CHECK(error_of(frame(2, 4, [](packer& pk) {
              pk.pack(1);
              pk.pack(0);
              pk.pack(0);
              pk.pack_array(0);
          })) == decode_errc::invalid_value);
    // A file name in a list with a terminal escape.
    CHECK(error_of(frame(2, 4, [](packer& pk) {
              pk.pack(1);
              pk.pack(0);
              pk.pack(1);
              pk.pack_array(1);
              pk.pack_array(3);
              pack_string(pk, "\x1b[2Jevil");
              pk.pack(1);
              pk.pack_nil();
          })) == decode_errc::invalid_value);
    // HELLO: id 0, empty endpoint, endpoint with a space.
    const auto hello_with = [](std::uint64_t id, const std::string& endpoint) {
        return frame(1, 4, [&](packer& pk) {
            pk.pack(id);
            pack_string(pk, endpoint);
            pk.pack(0);
            pk.pack(false);
        });
    };
    CHECK(error_of(hello_with(0, "inproc://a")) == decode_errc::invalid_value);
    CHECK(error_of(hello_with(1, "")) == decode_errc::invalid_value);
    CHECK(error_of(hello_with(1, "tcp://a b:1")) == decode_errc::invalid_value);
    // OFFER root of 31 or 33 bytes.
    for (std::uint32_t length : {31u, 33u}) {
        CHECK(error_of(frame(4, 5, [&](packer& pk) {
                  pk.pack(1);
                  pk.pack(10);
                  pk.pack_bin(length);
                  pk.pack_bin_body(digest_bytes(length).data(), length);
                  pk.pack(1024);
                  pk.pack(1024);
              })) == decode_errc::invalid_value);
    }
    const auto offer_with = [](std::uint64_t size, std::uint32_t piece_size) {
        return frame(4, 5, [&](packer& pk) {
            pk.pack(1);
            pk.pack(size);
            pk.pack_bin(32);
            pk.pack_bin_body(digest_bytes(32).data(), 32);
            pk.pack(piece_size);
            pk.pack(1024);
        });
    };
    CHECK(decode_body(offer_with(10, 1024)).ok());
    CHECK(error_of(offer_with(10, 1536)) == decode_errc::invalid_value); // not a power of two
    CHECK(error_of(offer_with(10, 512)) == decode_errc::invalid_value);  // under 1 KiB
    // More than 32768 pieces: the manifest would not fit its bound.
    CHECK(error_of(offer_with(32769ull * 1024, 1024)) == decode_errc::invalid_value);
    CHECK(error_of(offer_with(max_file_size + 1, max_piece_size)) == decode_errc::over_limit);
    // MANIFEST leaves that are not whole leaves, none, or run past the last leaf a manifest may have.
    const auto page_with = [](std::uint64_t first, std::uint32_t bytes) {
        return frame(15, 3, [&](packer& pk) {
            pk.pack(1);
            pk.pack(first);
            pk.pack_bin(bytes);
            pk.pack_bin_body(std::string(bytes, 'l').data(), bytes);
        });
    };
    CHECK(decode_body(page_with(0, 64)).ok());
    CHECK(error_of(page_with(0, 33)) == decode_errc::invalid_value);
    CHECK(error_of(page_with(0, 0)) == decode_errc::invalid_value);
    CHECK(error_of(page_with(max_piece_count - 1, 64)) == decode_errc::invalid_value);
    CHECK(error_of(page_with(max_piece_count, 32)) == decode_errc::over_limit);
    // Text that is not UTF-8 (an overlong '/').
    CHECK(error_of(frame(8, 2, [](packer& pk) {
              pk.pack(1);
              pack_string(pk, "\xc0\xaf");
          })) == decode_errc::invalid_value);
}

TEST_CASE("codec error details name the message and field", "[codec]") {
    auto result =
        decode_body(request_frame(good_transfer, str_field("a/../b"), good_offset, good_chunk_size, good_credit));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().what() == "invalid value: REQUEST.name: name is '.' or '..'");
    CHECK(to_string(decode_errc::wrong_field_type) == "wrong field type");
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile length fields

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define P2P_HAS_ASAN 1
#endif
#endif
#ifndef P2P_HAS_ASAN
#define P2P_HAS_ASAN 0
#endif

namespace {

/// Runs fn in a child process whose address space may grow by at most 64 MiB; true when it returned true. An
/// allocation for what a hostile length field claims (gigabytes) cannot succeed there. Under AddressSanitizer the
/// address space is mostly shadow reservations, so there fn runs in this process without the limit.
bool within_small_address_space(const std::function<bool()>& fn) {
#if defined(__SANITIZE_ADDRESS__) || P2P_HAS_ASAN
    return fn();
#else
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0;
    statm >> pages;
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const rlim_t limit = pages * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + (64u << 20);
        const struct rlimit rl { limit, limit };
        ::setrlimit(RLIMIT_AS, &rl);
        ::_exit(fn() ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
#endif
}

} // namespace

TEST_CASE("codec a 5-byte frame announcing a huge array, str or bin is refused without allocating it", "[codec]") {
    // Headers claiming 2^32-1 elements or bytes. An array or map count is checked against the unpack limit as soon
    // as it is read (2^32 msgpack objects would be ~96 GiB); a str, bin or ext length is only believed once that
    // many bytes are in the frame, and a frame is at most max_body_bytes, so the claim is just a truncated value.
    struct hostile_case {
        std::string bytes;
        decode_errc code;
    };
    const std::vector<hostile_case> cases = {
        {raw({0xdd, 0xff, 0xff, 0xff, 0xff}), decode_errc::over_limit}, // array32
        {raw({0xdf, 0xff, 0xff, 0xff, 0xff}), decode_errc::over_limit}, // map32
        {raw({0xdb, 0xff, 0xff, 0xff, 0xff}), decode_errc::truncated},  // str32
        {raw({0xc6, 0xff, 0xff, 0xff, 0xff}), decode_errc::truncated},  // bin32
        {raw({0xc9, 0xff, 0xff, 0xff, 0xff}), decode_errc::truncated},  // ext32
        // Inside frames that are otherwise well formed: a REQUEST whose name claims 4 GiB, a FILE_LIST page that
        // claims 2^32-1 files.
        {frame(3, 5, [](packer& pk) { pk.pack(1); }) + raw({0xdb, 0xff, 0xff, 0xff, 0xff}), decode_errc::truncated},
        {frame(2, 4,
               [](packer& pk) {
                   pk.pack(1);
                   pk.pack(0);
                   pk.pack(1);
               }) +
             raw({0xdd, 0xff, 0xff, 0xff, 0xff}),
         decode_errc::over_limit},
    };
    const auto refused_by_limits = [](const hostile_case& c) {
        auto result = decode_body(c.bytes);
        // Refused for what the bytes say, not because an allocation for it failed.
        return !result.ok() && result.error().code == c.code &&
               result.error().detail.find("out of memory") == std::string::npos;
    };
    for (const auto& c : cases) {
        CAPTURE(hex(c.bytes.data(), c.bytes.size()));
        CHECK(error_of(c.bytes) == c.code);
        CHECK(refused_by_limits(c));
    }
    // The same with at most 64 MiB more address space to allocate from.
    CHECK(within_small_address_space([&] {
        for (const auto& c : cases) {
            if (!refused_by_limits(c)) {
                return false;
            }
        }
        return true;
    }));
}

// ---------------------------------------------------------------------------------------------------------------
// The CHUNK payload frame is not copied

TEST_CASE("codec chunk payload stays in the zmq message it arrived in", "[codec]") {
    const auto header =
        raw({0x96, 0x09, 0x05, 0x01, 0x00, 0xc2, 0x00}); // [9, CHUNK, transfer 1, offset 0, last false, busy 0]

    SECTION("a payload in a buffer owned by the caller (zero-copy message)") {
        std::vector<char> buffer(64 * 1024, 'p');
        zmq::message_t payload(buffer.data(), buffer.size(), nullptr, nullptr);
        auto result = decode(span_of(header), &payload);
        REQUIRE(result.ok());
        auto& c = std::get<chunk>(result.value());
        CHECK(static_cast<const void*>(c.data.data()) == buffer.data()); // the very bytes, not a copy
        CHECK(c.data.size() == buffer.size());
        CHECK(payload.size() == 0); // moved out of the caller's frame
    }
    SECTION("a payload received as the second frame") {
        std::vector<zmq::message_t> frames;
        frames.emplace_back(header.data(), header.size());
        frames.emplace_back(std::size_t{1} << 20);
        const void* bytes = frames[1].data();
        auto result = decode(std::span<zmq::message_t>(frames));
        REQUIRE(result.ok());
        CHECK(static_cast<const void*>(std::get<chunk>(result.value()).data.data()) == bytes);
    }
    SECTION("encoding moves the payload into the second frame") {
        chunk c;
        c.data = to_payload(zmq::message_t(std::size_t{1} << 20));
        const void* bytes = c.data.data();
        auto encoded = encode(std::move(c));
        REQUIRE(encoded.payload);
        CHECK(encoded.payload->data() == bytes);
    }
}
