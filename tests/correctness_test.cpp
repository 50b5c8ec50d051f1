// SPDX-License-Identifier: MIT
// correctness_test.cpp - one test per defect of the transfer engine found by reading it (issue 12), each named after
// the defect and written to fail before its fix. Network cases run on inproc and on tcp://127.0.0.1:*.
#include "hostile_peer.hpp"
#include "shim.hpp"
#include "support.hpp"

#include "p2p/manifest.hpp"
#include "p2p/posix_folder.hpp"
#include "p2p/protocol.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <future>
#include <memory>

using namespace p2p;
using namespace p2p::test;

namespace {

constexpr std::uint32_t small_chunk = 64 * 1024;

/// Leaves the partial download of `name` that an earlier, interrupted run would have: the first `length` bytes of
/// `bytes` under the hidden partial name, and its description (size and root of the whole file).
void write_partial(const fs::path& folder, const std::string& name, const std::string& bytes, std::size_t length) {
    write_file(folder / partial_file_name(name), bytes.substr(0, length));
    std::ofstream(folder / partial_meta_name(name)) << "p2p-partial 1\n"
                                                    << bytes.size() << "\n"
                                                    << to_hex(root_of_bytes(bytes)) << "\n";
}

/// A sparse file: hashing it costs the hash's time but reads no disk.
void write_sparse(const fs::path& path, std::uint64_t size) {
    std::ofstream(path).close();
    fs::resize_file(path, size);
}

} // namespace

TEMPLATE_TEST_CASE("defect: cancelling a download ends the other peer's download with the same transfer number",
                   "[defect][transfer][net]", inproc, tcp) {
    // A and B are fresh, so each numbers its first download 1: A fetches b.bin from B while B fetches a.bin from A,
    // over one connection whose chunks are slowed so that both are still running when B cancels its own: both
    // stop-and-wait through 20 ms a chunk, so each has 2.5 s left at least after its first chunk (with the auto window
    // and 2 ms, a 300 ms pause of this thread let B's download end before the cancel).
    zmq::context_t ctx;
    temp_dir da, db;
    const auto a_bytes = random_bytes(8u << 20, 21);
    const auto b_bytes = random_bytes(8u << 20, 22);
    write_file(da / "a.bin", a_bytes);
    write_file(db / "b.bin", b_bytes);
    auto oa = options_in<TestType>(da.path());
    auto ob = options_in<TestType>(db.path());
    oa.chunk_size = ob.chunk_size = small_chunk;
    oa.window = ob.window = window_setting::of_chunks(1);
    peer a(ctx, oa), b(ctx, ob);
    shim slow(ctx, TestType::bind(), b.endpoint(), {0, 0, std::chrono::microseconds(20000)});
    REQUIRE(a.connect(slow.endpoint()).ok);
    REQUIRE(eventually(b, [&] { return b.peers().size() == 1 && !b.peers()[0].files.empty(); }));

    const auto a_get = a.start_download({"b.bin", "", {}, {}});
    const auto b_get = b.start_download({"a.bin", "", {}, {}});
    REQUIRE(wait_event<download_progress>(a, [&](const auto& e) { return e.op == a_get && e.bytes > 0; }));
    REQUIRE(wait_event<download_progress>(b, [&](const auto& e) { return e.op == b_get && e.bytes > 0; }));
    b.cancel(b_get);

    auto b_done = wait_event<download_finished>(b, [&](const auto& e) { return e.op == b_get; });
    REQUIRE(b_done);
    CHECK_FALSE(b_done->ok);
    CHECK(b_done->code == download_errc::cancelled);
    auto a_done = wait_event<download_finished>(
        a, [&](const auto& e) { return e.op == a_get; }, 20000ms);
    REQUIRE(a_done);
    INFO(a_done->error);
    CHECK(a_done->ok);
    CHECK(file_holds(da / "b.bin", b_bytes));
    CHECK_FALSE(fs::exists(db / "a.bin"));
}

TEMPLATE_TEST_CASE("defect: a failed download tells its source more than once", "[defect][transfer][net]", inproc,
                   tcp) {
    // The holder offers chunks larger than asked for, so the getter refuses it; with no other holder the download
    // fails. The getter must tell the holder once (CANCEL), not ABORT it twice.
    zmq::context_t ctx;
    temp_dir dg;
    peer getter(ctx, options_in<TestType>(dg.path()));
    hostile_peer holder(ctx, getter.endpoint());
    holder.join({{"x.bin", 10}, {"y.bin", 10}});
    REQUIRE(eventually(getter, [&] { return getter.peers().size() == 1; }));
    const auto op = getter.start_download({"x.bin", "", {}, {}});
    auto asked = holder.expect(wire::request, 3000ms);
    REQUIRE(asked);
    const auto transfer = static_cast<std::uint32_t>(asked->u64(2));
    holder.send(body::offer(transfer, 10, std::string(32, 'h'), protocol::max_chunk_size));
    auto done = wait_event<download_finished>(getter, [&](const auto& e) { return e.op == op; });
    REQUIRE(done);
    CHECK_FALSE(done->ok);
    // A second download is the marker: everything the getter sent about the first one arrived before its REQUEST.
    (void)getter.start_download({"y.bin", "", {}, {}});
    std::vector<std::uint64_t> about_first;
    for (;;) {
        auto m = holder.recv(3000ms);
        REQUIRE(m);
        if (m->type == wire::request && m->str(3) == "y.bin") {
            break;
        }
        if (m->type == wire::cancel || m->type == wire::abort) {
            CHECK(m->u64(2) == transfer);
            about_first.push_back(m->type);
        }
    }
    CHECK(about_first == std::vector<std::uint64_t>{wire::cancel});
}

TEMPLATE_TEST_CASE("defect: a resumed download that fails over while its partial is hashed gets a hole",
                   "[defect][transfer][net]", inproc, tcp) {
    // The getter holds the first 64 MiB of big.bin from an earlier run. While it hashes them (behind a 1 GiB hash
    // another peer asked of it, so this takes a second), its first holder leaves; the second holder, reached over a
    // slow link, must be asked only for the rest once the hash is done, not from byte 0 in the meantime.
    zmq::context_t ctx;
    temp_dir d1, d2, dg;
    constexpr std::size_t size = 72u << 20;
    constexpr std::size_t held = 64u << 20;
    const auto bytes = patterned_bytes(size, 5);
    write_file(d1 / "big.bin", bytes);
    fs::create_hard_link(d1 / "big.bin", d2 / "big.bin");
    write_partial(dg.path(), "big.bin", bytes, held);
    write_sparse(dg / "blocker.img", 1u << 30);

    auto first = std::make_unique<peer>(ctx, options_in<TestType>(d1.path()));
    peer second(ctx, options_in<TestType>(d2.path()));
    auto og = options_in<TestType>(dg.path());
    og.chunk_size = small_chunk;
    og.transfer_timeout = 5000ms;
    peer getter(ctx, og);
    REQUIRE(getter.connect(first->endpoint()).ok); // joined first, so asked first
    shim slow(ctx, TestType::bind(), second.endpoint(), {0, 0, std::chrono::microseconds(2000)});
    REQUIRE(getter.connect(slow.endpoint()).ok);
    REQUIRE(eventually(getter, [&] {
        const auto peers = getter.peers();
        return peers.size() == 2 && !peers[0].files.empty() && !peers[1].files.empty();
    }));

    // Someone asks the getter for blocker.img: its file worker hashes 1 GiB first. PREPARING says it has started.
    hostile_peer asker(ctx, getter.endpoint());
    asker.join();
    asker.send(body::request(1, "blocker.img", 0, small_chunk, 1));
    asker.send(body::request(1, "blocker.img", 0, small_chunk, 1));
    REQUIRE(asker.expect(12, 5000ms));

    const auto op = getter.start_download({"big.bin", "", {}, {}});
    first->stop();
    auto done = wait_event<download_finished>(
        getter, [&](const auto& e) { return e.op == op; }, 30000ms);
    REQUIRE(done);
    INFO(done->error);
    REQUIRE(done->ok);
    CHECK(done->from == second.id());
    CHECK(done->resumed_from == held);
    CHECK(file_holds(dg / "big.bin", bytes));
}

TEMPLATE_TEST_CASE("defect: a holder that says GOODBYE right after the last ACK fails a complete download",
                   "[defect][transfer][net]", inproc, tcp) {
    // The holder is asked to stop while it serves; it finishes the upload, then says GOODBYE, which reaches the
    // getter while it flushes the complete file. The download must end well.
    zmq::context_t ctx;
    temp_dir dh, dg;
    const auto bytes = patterned_bytes(24u << 20, 9);
    write_file(dh / "whole.bin", bytes);
    peer holder(ctx, options_in<TestType>(dh.path()));
    auto og = options_in<TestType>(dg.path());
    og.chunk_size = small_chunk;
    peer getter(ctx, og);
    shim slow(ctx, TestType::bind(), holder.endpoint(), {0, 0, std::chrono::microseconds(2000)});
    REQUIRE(getter.connect(slow.endpoint()).ok);
    const auto op = getter.start_download({"whole.bin", "", {}, {}});
    REQUIRE(wait_event<download_progress>(getter, [&](const auto& e) { return e.op == op && e.bytes > 0; }));
    auto stopping = std::async(std::launch::async, [&] { holder.stop(); });
    auto done = wait_event<download_finished>(
        getter, [&](const auto& e) { return e.op == op; }, 30000ms);
    stopping.get();
    REQUIRE(done);
    INFO(done->error);
    CHECK(done->ok);
    CHECK(file_holds(dg / "whole.bin", bytes));
}

TEMPLATE_TEST_CASE("defect: stopping while a connect reply is in flight ends the node without GOODBYE",
                   "[defect][node][net]", inproc, tcp) {
    // The stop command and the HELLO answering a connect reach the node in the same turn when the front end sends
    // the stop just after the answer. Whatever the order, the node must leave properly: its other peer hears GOODBYE.
    zmq::context_t ctx;
    temp_dir dw;
    peer witness(ctx, options_in<TestType>(dw.path()));
    for (int round = 0; round < 20; ++round) {
        temp_dir dx;
        peer x(ctx, options_in<TestType>(dx.path()));
        const auto joined = witness.connect(x.endpoint());
        INFO("round " << round << ": " << joined.error);
        REQUIRE(joined.ok);
        zmq::socket_t listener(ctx, zmq::socket_type::router);
        listener.set(zmq::sockopt::linger, 0);
        listener.bind(TestType::bind());
        x.start_connect(listener.get(zmq::sockopt::last_endpoint));
        zmq::message_t routing_id, body;
        listener.set(zmq::sockopt::rcvtimeo, 3000);
        REQUIRE(listener.recv(routing_id));
        REQUIRE(listener.recv(body)); // x's HELLO: its connect is pending now
        auto answer = encode(hello{peer_id::random(), "tcp://127.0.0.1:9", 1});
        listener.send(routing_id, zmq::send_flags::sndmore);
        listener.send(answer.body, zmq::send_flags::none);
        x.stop();
        auto left = wait_event<peer_left>(witness, [&](const auto& e) { return e.id == x.id(); });
        REQUIRE(left);
        INFO("round " << round);
        REQUIRE(left->why == peer_left::reason::goodbye);
    }
}

TEMPLATE_TEST_CASE("defect: a GOODBYE read in the same turn as the dropped connection is taken for a lost peer",
                   "[defect][node][net]", inproc, tcp) {
    // A leaving peer sends GOODBYE and closes. When the node reads the monitor's DISCONNECTED in the same turn as
    // the GOODBYE still queued behind other messages, it must not evict the peer as "connection lost" (and dial it
    // again): it said it was going. Here the peer the node dialled sends a burst of PINGs, GOODBYE and closes, so
    // both are waiting when the node comes back from the burst.
    zmq::context_t ctx;
    temp_dir dw;
    peer witness(ctx, options_in<TestType>(dw.path()));
    for (int round = 0; round < 10; ++round) {
        zmq::socket_t listener(ctx, zmq::socket_type::router);
        listener.set(zmq::sockopt::linger, 2000); // what is queued leaves before the connection closes
        listener.set(zmq::sockopt::rcvtimeo, 5000);
        listener.bind(TestType::bind());
        const auto op = witness.start_connect(listener.get(zmq::sockopt::last_endpoint));
        zmq::message_t routing_id, body;
        INFO("round " << round);
        REQUIRE(listener.recv(routing_id));
        REQUIRE(listener.recv(body));
        const auto to = routing_id.to_string();
        const auto send = [&](message m) {
            listener.send(zmq::buffer(to), zmq::send_flags::sndmore);
            listener.send(encode(std::move(m)).body, zmq::send_flags::none);
        };
        const auto id = peer_id::random();
        send(hello{id, "tcp://127.0.0.1:9", 1});
        send(file_list{1, 0, 1, {}});
        REQUIRE(wait_event<connect_finished>(witness, [&](const auto& e) { return e.op == op && e.ok; }));
        for (int i = 0; i < 200; ++i) {
            send(ping{});
        }
        send(goodbye{});
        listener.close();
        auto left = wait_event<peer_left>(witness, [&](const auto& e) { return e.id == id; });
        REQUIRE(left);
        INFO(left->detail);
        for (const auto& f : witness.failures()) {
            INFO(f.address << ": " << f.last_error);
        }
        CHECK(left->why == peer_left::reason::goodbye);
        CHECK(witness.failures().empty());
    }
}

TEMPLATE_TEST_CASE("defect: the loop spins while a resume hash runs", "[defect][node][net]", inproc, tcp) {
    // The getter's transfer timeout is far shorter than the hash of its 512 MiB partial file. While the hash runs
    // the loop has nothing to do and must sleep, not wake again and again because the timeout has passed.
    zmq::context_t ctx;
    temp_dir dg;
    constexpr std::uint64_t size = 512u << 20;
    write_sparse(dg / partial_file_name("big.img"), size);
    std::ofstream(dg / partial_meta_name("big.img")) << "p2p-partial 1\n"
                                                     << size + 1 << "\n"
                                                     << std::string(64, '0') << "\n";
    auto og = options_in<TestType>(dg.path());
    og.transfer_timeout = 100ms;
    peer getter(ctx, og);
    hostile_peer holder(ctx, getter.endpoint());
    holder.join({{"big.img", size + 1}});
    REQUIRE(eventually(getter, [&] { return getter.peers().size() == 1; }));
    const auto before = getter.stats().loop_wakeups;
    const auto started = std::chrono::steady_clock::now();
    const auto op = getter.start_download({"big.img", "", {}, {}});
    // The REQUEST comes only after the hash; the holder then says it has no such file.
    auto asked = holder.expect(wire::request, 20000ms);
    REQUIRE(asked);
    holder.send(body::not_found(static_cast<std::uint32_t>(asked->u64(2)), "big.img", "gone"));
    REQUIRE(wait_event<download_finished>(getter, [&](const auto& e) { return e.op == op; }));
    const auto wakeups = getter.stats().loop_wakeups - before;
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    INFO(wakeups << " wake-ups in " << took.count() << " s while half a GiB was hashed");
    // Pings every 100 ms, the hash result, a few messages: 24 to 47 in about a second here, not the hundreds of
    // thousands of a spin. A loaded machine hashes slower and pings more often meanwhile (121 wake-ups were seen in
    // one run), so the bound is a rate: four times the ping rate, plus the messages.
    CHECK(static_cast<double>(wakeups) < 40 * took.count() + 40);
}

TEMPLATE_TEST_CASE("defect: a repeated REQUEST number with another name is served the old file", "[defect][net]",
                   inproc, tcp) {
    zmq::context_t ctx;
    temp_dir dh;
    write_file(dh / "a.txt", "the file called a");
    write_file(dh / "b.txt", "b: another file, and a longer one");
    peer holder(ctx, options_in<TestType>(dh.path()));
    hostile_peer asker(ctx, holder.endpoint());
    asker.join();
    REQUIRE(eventually(holder, [&] { return holder.peers().size() == 1; }));
    asker.send(body::request(1, "a.txt", 0, 1024, 1));
    auto first = asker.expect(wire::offer, 3000ms);
    REQUIRE(first);
    CHECK(first->u64(3) == 17);
    // The same transfer number again, now for b.txt (a restarted asker that numbers from 1 again).
    asker.send(body::request(1, "b.txt", 0, 1024, 1));
    auto second = asker.expect(wire::offer, 3000ms);
    REQUIRE(second);
    CHECK(second->u64(3) == 33);
    auto bytes = asker.expect(wire::chunk, 3000ms);
    REQUIRE(bytes);
    REQUIRE(bytes->payload);
    CHECK(*bytes->payload == "b: another file, and a longer one");
}

TEMPLATE_TEST_CASE("defect: an OFFER of another size than listed is taken", "[defect][transfer][net]", inproc, tcp) {
    zmq::context_t ctx;
    temp_dir dg;
    peer getter(ctx, options_in<TestType>(dg.path()));
    hostile_peer holder(ctx, getter.endpoint());
    holder.join({{"x.bin", 10}});
    REQUIRE(eventually(getter, [&] { return getter.peers().size() == 1; }));
    const auto op = getter.start_download({"x.bin", "", {}, {}});
    auto asked = holder.expect(wire::request, 3000ms);
    REQUIRE(asked);
    const auto transfer = static_cast<std::uint32_t>(asked->u64(2));
    const std::string twenty = "twenty bytes of data";
    const auto root = root_of_bytes(twenty);
    holder.send(body::offer(transfer, twenty.size(), std::string(root.begin(), root.end()), 1024));
    holder.send_chunk(transfer, 0, true, twenty);
    auto done = wait_event<download_finished>(getter, [&](const auto& e) { return e.op == op; });
    REQUIRE(done);
    CHECK_FALSE(done->ok);
    CHECK(done->error.find("lists 10") != std::string::npos);
    CHECK_FALSE(fs::exists(dg / "x.bin"));
}

TEMPLATE_TEST_CASE("defect: REQUEST and CANCEL in a loop queue a whole-file hash each time", "[defect][net]", inproc,
                   tcp) {
    // A peer asks for a large file it then cancels, fifty times. The holder hashes the file once for them (it
    // shares one job per file), stops hashing once nobody waits, and still serves a good peer at once.
    zmq::context_t ctx;
    temp_dir dh, dg;
    write_sparse(dh / "large.img", 2ull << 30);
    write_file(dh / "small.txt", "small");
    peer holder(ctx, options_in<TestType>(dh.path()));
    // While large.img is hashed in the background, small.txt is served at once (its own hash does not wait).
    peer getter(ctx, options_in<TestType>(dg.path()));
    REQUIRE(getter.connect(holder.endpoint()).ok);
    auto done = getter.download({"small.txt", "", {}, {}});
    INFO(done.error);
    CHECK(done.ok);
    const auto before = holder.stats();

    hostile_peer asker(ctx, holder.endpoint());
    asker.join();
    REQUIRE(eventually(holder, [&] { return holder.peers().size() == 2; }));
    for (std::uint32_t t = 1; t <= 50; ++t) {
        asker.send(body::request(t, "large.img", 0, 1024, 1));
        asker.send(body::stop_transfer(wire::cancel, t, "changed my mind"));
    }
    // A marker: once its answer is back, all fifty pairs have been handled.
    asker.send(body::request(99, "missing", 0, 1024, 1));
    REQUIRE(asker.expect(wire::not_found, 5000ms));
    // One hash for the fifty REQUESTs, not one each.
    const auto started = holder.stats().hash_jobs - before.hash_jobs;
    CHECK(started <= 1);
    if (started == 1) {
        // The background hash of large.img was still running: it gave way to one at full priority (a cancel), and
        // that one, which nobody waits for any more, is given up too, not finished. (Otherwise the background hash
        // had finished before the first REQUEST, every REQUEST was answered at once, and nothing was hashed.) The
        // file then goes back to the background queue, so its root is listed in the end.
        REQUIRE(eventually(holder, [&] { return holder.stats().jobs_cancelled >= before.jobs_cancelled + 2; }));
    }
}

TEMPLATE_TEST_CASE("defect: a front end that stops reading freezes the node", "[defect][node][net]", inproc, tcp) {
    // Nobody reads this peer's events while a churning peer joins and leaves 2,500 times: 5,000 events, well over
    // what waits for the front end (the pipe's 1,000 on each side and the node's backlog of 1,000). With 3,000 the
    // test sat on that edge and saw no drop once in 12 sanitizer runs. The peer must go on serving others.
    constexpr int churns = 2500;
    zmq::context_t ctx;
    temp_dir dx, dg;
    write_file(dx / "still.txt", "still served");
    peer x(ctx, options_in<TestType>(dx.path()));
    {
        hostile_peer churn(ctx, x.endpoint());
        for (int i = 0; i < churns; ++i) {
            churn.join({}, static_cast<std::uint64_t>(i + 1));
            // The node's answer (HELLO, then its list) shows it took the join; only its pipe to the front end fills.
            REQUIRE(churn.expect(wire::file_list, 10000ms));
            churn.send(body::bare(wire::goodbye));
        }
    }
    peer getter(ctx, options_in<TestType>(dg.path()));
    auto connected = getter.connect(x.endpoint());
    INFO(connected.error);
    REQUIRE(connected.ok);
    auto done = getter.download({"still.txt", "", {}, {}});
    INFO(done.error);
    CHECK(done.ok);
    // The events were kept in bounded memory: when the front end reads again it finds the newest, and a count of
    // those dropped.
    CHECK(x.stats().events_dropped > 0);
}

TEST_CASE("defect: a malformed ZAP request stops the ZAP handler", "[defect][secure][net]") {
    zmq::context_t ctx;
    temp_dir da, db;
    auto oa = options_in<tcp>(da.path());
    auto ob = options_in<tcp>(db.path());
    oa.secure = ob.secure = true;
    peer a(ctx, oa);
    // Any socket of the context can talk to the handler; a request of two frames is not a ZAP request.
    zmq::socket_t rogue(ctx, zmq::socket_type::req);
    rogue.set(zmq::sockopt::linger, 0);
    rogue.set(zmq::sockopt::rcvtimeo, 3000);
    rogue.connect("inproc://zeromq.zap.01");
    rogue.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
    rogue.send(zmq::str_buffer("x"), zmq::send_flags::none);
    zmq::message_t version, id, status;
    REQUIRE(rogue.recv(version));
    REQUIRE(rogue.recv(id));
    REQUIRE(rogue.recv(status));
    CHECK(status.to_string() == "400");
    // And the handler still admits real clients.
    peer b(ctx, ob);
    auto done = b.connect(a.public_key() + "@" + a.endpoint().substr(std::string("tcp://").size()));
    INFO(done.error);
    CHECK(done.ok);
}
