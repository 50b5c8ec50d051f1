// SPDX-License-Identifier: MIT
// capture_test.cpp - the capture file: writer, reader, truncated and damaged files.
#include "p2p/capture.hpp"
#include "p2p/codec.hpp"
#include "p2p/protocol.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace p2p;

namespace {

/// A file name unique to this process and test, removed at the end.
struct temp_path {
    fs::path path;
    explicit temp_path(const std::string& name)
        : path(fs::temp_directory_path() / ("p2p-capture-test-" + std::to_string(::getpid()) + "-" + name)) {
        fs::remove(path);
    }
    ~temp_path() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

zmq::message_t body_of(message msg) {
    return encode(std::move(msg)).body;
}

std::vector<char> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<char>& bytes, std::size_t count) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(count));
}

struct read_result {
    std::vector<capture_record> records;
    std::optional<capture_tail> tail;
};

read_result read_all(const fs::path& path) {
    capture_reader reader(path);
    read_result out;
    while (auto rec = reader.next()) {
        out.records.push_back(std::move(*rec));
    }
    out.tail = reader.tail();
    return out;
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Three records: a HELLO before the remote is known, a REQUEST, and a CHUNK with a 1000-byte payload.
void write_session(capture_writer& writer) {
    const peer_id local(0x1111222233334444), remote(0xaaaabbbbccccdddd);
    writer.record(capture_direction::received, local, peer_id{}, body_of(hello{remote, "tcp://10.0.0.2:5001", 3}),
                  nullptr);
    writer.record(capture_direction::sent, local, remote, body_of(request{7, "a.bin", 0, 65536, 4}), nullptr);
    zmq::message_t payload(1000);
    std::memset(payload.data(), 0xab, payload.size());
    writer.record(capture_direction::received, local, remote, body_of(chunk{7, 0, true, 0, p2p::payload()}), &payload);
}

} // namespace

TEST_CASE("capture writer and reader round trip every record field", "[tools]") {
    temp_path file("roundtrip.cap");
    const auto before = now_us();
    {
        capture_writer writer(file.path);
        write_session(writer);
        REQUIRE(writer.failed_records() == 0);
    }
    const auto after = now_us();

    auto [records, tail] = read_all(file.path);
    REQUIRE_FALSE(tail);
    REQUIRE(records.size() == 3);

    CHECK(records[0].offset == capture_format::file_header_bytes);
    CHECK(records[1].offset > records[0].offset);
    CHECK(records[0].direction == capture_direction::received);
    CHECK(records[1].direction == capture_direction::sent);
    CHECK(records[0].remote == peer_id{});
    CHECK(records[1].remote == peer_id(0xaaaabbbbccccdddd));
    for (const auto& rec : records) {
        CHECK(rec.local == peer_id(0x1111222233334444));
        CHECK(rec.time_us >= before);
        CHECK(rec.time_us <= after);
        CHECK_FALSE(rec.dropped);
    }
    CHECK(records[0].time_us <= records[2].time_us);

    auto first = decode_record(records[0]);
    REQUIRE(first);
    CHECK(std::get<hello>(first.value()) == hello{peer_id(0xaaaabbbbccccdddd), "tcp://10.0.0.2:5001", 3});

    SECTION("a CHUNK keeps its payload length, not its bytes, by default") {
        const auto& rec = records[2];
        CHECK(rec.has_payload);
        CHECK(rec.payload_size == 1000);
        CHECK_FALSE(rec.payload_stored);
        CHECK(rec.payload.empty());
        auto decoded = decode_record(rec);
        REQUIRE(decoded);
        const auto& c = std::get<chunk>(decoded.value());
        CHECK(c.transfer == 7);
        CHECK(c.last);
        CHECK(c.data.size() == 1000);
        // The whole capture is smaller than the one payload it describes.
        CHECK(fs::file_size(file.path) < 1000);
    }
}

TEST_CASE("capture writer stores payload bytes when asked", "[tools]") {
    temp_path file("payload.cap");
    {
        capture_writer writer(file.path, capture_payload::bytes);
        write_session(writer);
    }
    auto [records, tail] = read_all(file.path);
    REQUIRE_FALSE(tail);
    REQUIRE(records.size() == 3);
    const auto& rec = records[2];
    CHECK(rec.payload_stored);
    REQUIRE(rec.payload.size() == 1000);
    CHECK(rec.payload[999] == std::byte{0xab});
    auto decoded = decode_record(rec);
    REQUIRE(decoded);
    const auto& c = std::get<chunk>(decoded.value());
    REQUIRE(c.data.size() == 1000);
    CHECK(c.data.data()[0] == std::byte{0xab});
    CHECK_FALSE(records[0].payload_stored); // only payload frames are stored
}

TEST_CASE("capture reader reads a file cut at any byte up to its last whole record", "[tools]") {
    temp_path file("whole.cap");
    temp_path cut("cut.cap");
    {
        capture_writer writer(file.path);
        write_session(writer);
    }
    const auto bytes = read_bytes(file.path);
    const auto whole = read_all(file.path).records;
    REQUIRE(whole.size() == 3);

    for (std::size_t size = 0; size < bytes.size(); ++size) {
        CAPTURE(size);
        write_bytes(cut.path, bytes, size);
        auto [records, tail] = read_all(cut.path);
        std::size_t expected = 0;
        while (expected < whole.size() &&
               size >= (expected + 1 < whole.size() ? whole[expected + 1].offset : bytes.size())) {
            ++expected;
        }
        REQUIRE(records.size() == expected);
        for (std::size_t i = 0; i < records.size(); ++i) {
            CHECK(records[i].body == whole[i].body);
        }
        const bool at_boundary =
            size >= capture_format::file_header_bytes && (expected == whole.size() || size == whole[expected].offset);
        if (at_boundary) {
            CHECK_FALSE(tail); // a file that ends between records is simply shorter
        } else {
            REQUIRE(tail);
            CHECK(tail->offset ==
                  (expected < whole.size() && size >= capture_format::file_header_bytes ? whole[expected].offset : 0));
            CHECK_THAT(tail->reason, Catch::Contains("cut short"));
        }
    }
}

TEST_CASE("capture reader stops at damage after the last whole record", "[tools]") {
    temp_path file("damaged.cap");
    {
        capture_writer writer(file.path);
        write_session(writer);
    }
    const auto good_size = fs::file_size(file.path);

    SECTION("zeros, as a crash can leave") {
        std::ofstream(file.path, std::ios::binary | std::ios::app) << std::string(100, '\0');
        auto [records, tail] = read_all(file.path);
        CHECK(records.size() == 3);
        REQUIRE(tail);
        CHECK(tail->offset == good_size);
        CHECK_THAT(tail->reason, Catch::Contains("bad record magic"));
    }
    SECTION("a record claiming a huge body is refused before any allocation") {
        auto bytes = read_bytes(file.path);
        const auto second = read_all(file.path).records[1].offset;
        bytes[second + 23] = '\x7f'; // body length field, top byte
        write_bytes(file.path, bytes, bytes.size());
        auto [records, tail] = read_all(file.path);
        CHECK(records.size() == 1);
        REQUIRE(tail);
        CHECK(tail->offset == second);
        CHECK_THAT(tail->reason, Catch::Contains("bad record length"));
    }
}

TEST_CASE("capture reader refuses files that are not captures of a known version", "[tools]") {
    temp_path file("other.cap");
    SECTION("a text file") {
        std::ofstream(file.path) << "just some text that is long enough\n";
        CHECK_THROWS_WITH(capture_reader(file.path), Catch::Contains("not a p2p capture"));
    }
    SECTION("a later format version") {
        { capture_writer writer(file.path); }
        auto bytes = read_bytes(file.path);
        bytes[8] = 2;
        write_bytes(file.path, bytes, bytes.size());
        CHECK_THROWS_WITH(capture_reader(file.path), Catch::Contains("version 2 is not supported"));
    }
    SECTION("a missing file") {
        CHECK_THROWS_AS(capture_reader(file.path), std::runtime_error);
    }
}

TEST_CASE("capture writer throws a one-line reason when it cannot create the file", "[tools]") {
    const fs::path bad = fs::temp_directory_path() / "p2p-no-such-directory" / "x.cap";
    try {
        capture_writer writer(bad);
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        CHECK_THAT(what, Catch::Contains(bad.string()));
        CHECK(what.find('\n') == std::string::npos);
    }
}

TEST_CASE("capture records from concurrent threads stay whole", "[tools]") {
    temp_path file("threads.cap");
    constexpr int threads = 4;
    constexpr int per_thread = 250;
    {
        capture_writer writer(file.path);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&writer, t] {
                for (int i = 0; i < per_thread; ++i) {
                    writer.record(capture_direction::sent, peer_id(static_cast<std::uint64_t>(t + 1)),
                                  peer_id(static_cast<std::uint64_t>(i + 1)),
                                  body_of(ack{static_cast<std::uint32_t>(t), static_cast<std::uint64_t>(i), 1}),
                                  nullptr);
                }
            });
        }
        for (auto& w : workers) {
            w.join();
        }
    }
    auto [records, tail] = read_all(file.path);
    CHECK_FALSE(tail);
    REQUIRE(records.size() == threads * per_thread);
    std::vector<int> next(threads, 0);
    for (const auto& rec : records) {
        auto decoded = decode_record(rec);
        REQUIRE(decoded);
        const auto& a = std::get<ack>(decoded.value());
        // Each thread's records appear whole and in its own order.
        CHECK(rec.local == peer_id(a.transfer + 1));
        CHECK(a.next_offset == static_cast<std::uint64_t>(next[a.transfer]++));
    }
}

TEST_CASE("capture keeps frames that do not decode and marks dropped ones", "[tools]") {
    temp_path file("odd.cap");
    {
        capture_writer writer(file.path);
        const char junk[] = "\xc1\x01\x02";
        writer.record(capture_direction::received, peer_id(1), peer_id(2), zmq::message_t(junk, 3), nullptr);
        zmq::message_t huge(protocol::max_chunk_size + 1);
        writer.record(capture_direction::sent, peer_id(1), peer_id(2), body_of(chunk{1, 0, false, 0, {}}), &huge);
        writer.record(capture_direction::received, peer_id(1), peer_id(2), body_of(ack{1, 0, 1}), nullptr, true);
    }
    auto [records, tail] = read_all(file.path);
    REQUIRE_FALSE(tail);
    REQUIRE(records.size() == 3);

    auto junk = decode_record(records[0]);
    REQUIRE_FALSE(junk);
    CHECK(records[0].body.size() == 3);

    auto oversized = decode_record(records[1]);
    REQUIRE_FALSE(oversized);
    CHECK(oversized.error().code == decode_errc::frame_too_large);

    CHECK(records[2].dropped);
    CHECK_FALSE(records[1].dropped);
}
