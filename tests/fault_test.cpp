// SPDX-License-Identifier: MIT
// fault_test.cpp - peers killed with SIGKILL mid-transfer: no process gets to say goodbye or clean up.
#include "process.hpp"
#include "shim.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace p2p;
using namespace p2p::test;

namespace {

constexpr std::uint32_t fault_chunk = 64 * 1024;
/// What a holder about to be killed sends first: more than the few chunks a repeated REQUEST may resend.
constexpr std::uint64_t fault_head = 16 * fault_chunk;

/// A p2p_test_peer child serving (and maybe downloading into) folder; its endpoint and id read back.
struct peer_process {
    child_process process;
    std::string endpoint;
    std::string id;

    explicit peer_process(std::vector<std::string> args) : process(std::move(args)) {
        auto ep = process.wait_for("endpoint ", 10s);
        auto hex = process.wait_for("id ", 10s);
        REQUIRE(ep);
        REQUIRE(hex);
        endpoint = *ep;
        id = *hex;
    }
};

bool has_partial(const fs::path& folder) {
    for (const auto& name : folder_entries(folder)) {
        if (name.starts_with(".p2p-part-") && !name.ends_with(".meta")) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST_CASE("a sender killed mid-transfer: the getter fails over and nothing unverified is final", "[fault][net]") {
    zmq::context_t ctx;
    temp_dir killed_dir, other_dir, getter_dir;
    const auto bytes = random_bytes(8u << 20, 11);
    write_file(killed_dir / "big.bin", bytes);
    write_file(other_dir / "big.bin", bytes);
    peer_process doomed({P2P_TEST_PEER_PATH, killed_dir.path().string()});
    peer other(ctx, options_in<tcp>(other_dir.path()));
    auto og = options_in<tcp>(getter_dir.path());
    og.chunk_size = fault_chunk;
    og.window = window_setting::of_chunks(1); // stop-and-wait: each chunk pays the slow link's delay
    peer getter(ctx, og);

    // The doomed holder is reached through a slow link, so the download is surely running when it dies.
    shim slow(ctx, tcp::bind(), doomed.endpoint, {0, 0, std::chrono::microseconds(3000)});
    REQUIRE(getter.connect(slow.endpoint()).ok);
    const auto op = getter.start_download({"big.bin", "", {}, {}});
    // A few pieces' worth first, so that what the survivor sends shows where it was asked to start.
    const auto before_kill = wait_event<download_progress>(
        getter, [&](const auto& e) { return e.op == op && e.bytes >= fault_head; }, 30s);
    REQUIRE(before_kill);
    // The link stalls from here on: however slow the machine, the doomed holder cannot finish the download before it
    // is killed (a loaded run once did, before the kill, while the getter connected to the other holder).
    slow.hold(true);
    REQUIRE(getter.connect(other.endpoint()).ok);
    doomed.process.kill(SIGKILL);

    // Until the bytes are verified there is only the hidden partial file. The survivor may have brought the rest
    // already (it takes over the last pieces of a holder that went quiet): then the file is whole.
    if (fs::exists(getter_dir / "big.bin")) {
        CHECK(read_file(getter_dir / "big.bin") == bytes);
    } else {
        CHECK((has_partial(getter_dir.path()) || fs::exists(getter_dir / "big.bin")));
    }

    auto done = wait_event<download_finished>(
        getter, [&](const auto& e) { return e.op == op; }, 30s);
    REQUIRE(done);
    INFO(done->error);
    REQUIRE(done->ok);
    CHECK(done->from == other.id());
    CHECK(read_file(getter_dir / "big.bin") == bytes);
    CHECK(folder_entries(getter_dir.path()) == std::vector<std::string>{"big.bin"});
    // The survivor was asked only for what the killed one had not sent, and the piece it was in the middle of (a
    // range always starts at a piece's first byte). A REQUEST the getter repeated while the survivor was still
    // hashing makes it send its window again (1 chunk here); a few of those are allowed, a start from byte 0 is not.
    CHECK(other.stats().bytes_sent <=
          bytes.size() - before_kill->bytes + piece_size_for(bytes.size()) + 4 * fault_chunk);
}

TEST_CASE("a getter killed mid-transfer resumes after a restart with the right bytes", "[fault][net]") {
    zmq::context_t ctx;
    temp_dir holder_dir, getter_dir;
    const auto bytes = random_bytes(8u << 20, 12);
    write_file(holder_dir / "big.bin", bytes);
    peer holder(ctx, options_in<tcp>(holder_dir.path()));
    shim slow(ctx, tcp::bind(), holder.endpoint(), {0, 0, std::chrono::microseconds(3000)});

    std::uint64_t held = 0;
    {
        peer_process doomed(
            {P2P_TEST_PEER_PATH, getter_dir.path().string(), slow.endpoint(), "big.bin", std::to_string(fault_chunk)});
        // Wait until a few chunks are on disk, then kill it where it stands.
        for (;;) {
            auto progress = doomed.process.wait_for("progress ", 20s);
            REQUIRE(progress);
            held = std::stoull(*progress);
            if (held >= 4 * fault_chunk) {
                break;
            }
        }
        doomed.process.kill(SIGKILL);
    }
    REQUIRE(held < bytes.size());
    CHECK_FALSE(fs::exists(getter_dir / "big.bin"));
    REQUIRE(has_partial(getter_dir.path()));

    // The same folder, a new process (here: a new peer): it finds the partial file and goes on from it.
    auto og = options_in<tcp>(getter_dir.path());
    og.chunk_size = fault_chunk;
    peer restarted(ctx, og);
    REQUIRE(restarted.connect(holder.endpoint()).ok);
    auto done = restarted.download({"big.bin", "", {}, {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(done.resumed_from >= held);
    CHECK(done.bytes_received + done.resumed_from == bytes.size());
    CHECK(read_file(getter_dir / "big.bin") == bytes);
    CHECK(folder_entries(getter_dir.path()) == std::vector<std::string>{"big.bin"});
}
