// SPDX-License-Identifier: MIT
// transfer_test.cpp - downloads: sizes around the chunk size, windows, loss, failover, resume, refusals. Every
// case runs on inproc and on tcp://127.0.0.1:*.
#include "p2p/core/piece_journal.hpp"
#include "p2p/posix_folder.hpp"
#include "shim.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>

#include <csignal>
#include <memory>

using namespace p2p;
using namespace p2p::test;

namespace {

constexpr std::uint32_t small_chunk = 64 * 1024;

/// Two connected peers: `holder` shares files, `getter` downloads them.
template <typename T>
struct pair_of_peers {
    zmq::context_t ctx;
    temp_dir holder_dir, getter_dir;
    std::unique_ptr<peer> holder, getter;

    explicit pair_of_peers(std::uint32_t chunk = small_chunk) {
        auto h = options_in<T>(holder_dir.path());
        auto g = options_in<T>(getter_dir.path());
        h.chunk_size = g.chunk_size = chunk;
        // These tests check bytes, not timing: the product's default, not the tests' short 2 s, so that a loaded
        // machine (seen: 7 % loss plus a busy CI run) does not make a slow transfer look like a stalled one.
        h.transfer_timeout = g.transfer_timeout = peer_options{}.transfer_timeout;
        // The same for liveness: with the tests' 1 s, a machine loaded by two builds beside the suite may make one
        // side drop the other while a 32 MiB file is written (a list that then never came was seen once in 40 runs).
        h.peer_timeout = g.peer_timeout = peer_options{}.peer_timeout;
        holder = std::make_unique<peer>(ctx, h);
        getter = std::make_unique<peer>(ctx, g);
    }
    void connect() { REQUIRE(getter->connect(holder->endpoint()).ok); }
    /// Shares bytes under name and waits until the getter sees it listed whole. The holder lists a file once it has
    /// settled (peer_options::settle); before that rule a holder listed a file half written, and a download started
    /// then was offered more than was listed ("offered 33554432 bytes of big.bin but lists 25165824").
    void share(const std::string& name, const std::string& bytes) {
        write_file(holder_dir / name, bytes);
        const bool listed = eventually(
            *getter,
            [&] {
                auto peers = getter->peers();
                return !peers.empty() && std::any_of(peers[0].files.begin(), peers[0].files.end(), [&](const auto& f) {
                    return f.name == name && f.size == bytes.size();
                });
            },
            20s);
        INFO("the getter knows " << getter->peers().size() << " peers");
        REQUIRE(listed);
    }
};

/// The downloader's folder holds exactly these names (no temp or partial leftovers).
void require_folder(const fs::path& folder, std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    CHECK(folder_entries(folder) == names);
}

} // namespace

TEMPLATE_TEST_CASE("transfer sizes around the chunk size arrive byte-identical", "[transfer][net]", inproc, tcp) {
    const auto window = GENERATE(1u, 8u);
    pair_of_peers<TestType> net;
    net.connect();
    const std::vector<std::size_t> sizes{0, 1, small_chunk - 1, small_chunk, small_chunk + 1, 50u << 20};
    std::vector<std::string> names;
    for (auto size : sizes) {
        const auto name = "file-" + std::to_string(size);
        const auto bytes = random_bytes(size, static_cast<unsigned>(size));
        net.share(name, bytes);
        auto done = net.getter->download({name, "", window_setting::of_chunks(window), {}});
        INFO("size " << size << " window " << window << ": " << done.error);
        REQUIRE(done.ok);
        CHECK(done.from == net.holder->id());
        CHECK(done.size == size);
        CHECK(done.bytes_received == size);
        CHECK(read_file(net.getter_dir / name) == bytes);
        names.push_back(name);
    }
    require_folder(net.getter_dir.path(), names);
}

TEMPLATE_TEST_CASE("transfer from a restarted holder reads nothing to hash a file it hashed before", "[transfer][net]",
                   inproc, tcp) {
    // The manifest the holder built for the first download is kept in <folder>/.p2p/manifests; the same holder
    // started again (same folder, file untouched) answers the next REQUEST without reading the file to hash it.
    pair_of_peers<TestType> net;
    net.connect();
    const auto bytes = random_bytes((5u << 20) / 2, 77); // three pieces
    net.share("kept.bin", bytes);
    auto first = net.getter->download({"kept.bin", "", {}, {}});
    INFO(first.error);
    REQUIRE(first.ok);
    CHECK(net.holder->stats().hash_bytes_read == bytes.size()); // hashed once, every byte read once
    CHECK(fs::is_directory(net.holder_dir / ".p2p" / "manifests"));

    net.holder.reset();
    auto h = options_in<TestType>(net.holder_dir.path());
    h.chunk_size = small_chunk;
    net.holder = std::make_unique<peer>(net.ctx, h);
    temp_dir second_dir;
    peer second(net.ctx, options_in<TestType>(second_dir.path()));
    REQUIRE(second.connect(net.holder->endpoint()).ok);
    // The restarted holder finds the stored manifest with its background job and lists the root. Asked before that
    // job is back, it would start the lookup again at full priority: still nothing read, but two jobs.
    REQUIRE(eventually(second, [&] {
        const auto peers = second.peers();
        return !peers.empty() && !peers[0].files.empty() && peers[0].files[0].root.has_value();
    }));
    auto again = second.download({"kept.bin", "", {}, {}});
    INFO(again.error);
    REQUIRE(again.ok);
    CHECK(read_file(second_dir / "kept.bin") == bytes);
    const auto stats = net.holder->stats();
    CHECK(stats.hash_bytes_read == 0); // the stored manifest was used
    CHECK(stats.hash_jobs == 1);       // one job, which only looked it up
}

TEMPLATE_TEST_CASE("transfer of a name the holder does not have gives NOT_FOUND", "[transfer][net]", inproc, tcp) {
    pair_of_peers<TestType> net;
    net.connect();
    auto done = net.getter->download({"missing.txt", net.holder->id().short_hex(), {}, {}});
    CHECK_FALSE(done.ok);
    CHECK(done.code == download_errc::not_found);
    CHECK(done.error == "Peer error: File not found");

    auto any = net.getter->download({"missing.txt", "", {}, {}});
    CHECK(any.code == download_errc::no_source);
    CHECK(any.error == "No peer has missing.txt");
    require_folder(net.getter_dir.path(), {});
}

TEMPLATE_TEST_CASE("transfer survives dropped chunks and acks", "[transfer][net]", inproc, tcp) {
    const auto window = GENERATE(1u, 8u);
    pair_of_peers<TestType> net;
    shim lossy(net.ctx, TestType::bind(), net.holder->endpoint(), {7, 5, {}});
    REQUIRE(net.getter->connect(lossy.endpoint()).ok);
    const auto bytes = random_bytes(3u << 20, 7);
    net.share("lossy.bin", bytes);

    auto done = net.getter->download({"lossy.bin", "", window_setting::of_chunks(window), {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(read_file(net.getter_dir / "lossy.bin") == bytes);
    CHECK(lossy.chunks_dropped() > 0);
    CHECK(lossy.acks_dropped() > 0);
    CHECK(net.holder->stats().chunks_resent > 0);
}

TEMPLATE_TEST_CASE("transfer fails over to a second holder when the first goes away", "[transfer][net]", inproc, tcp) {
    zmq::context_t ctx;
    temp_dir d1, d2, dg;
    const auto bytes = random_bytes(8u << 20, 3);
    write_file(d1 / "big.bin", bytes);
    write_file(d2 / "big.bin", bytes);
    auto first = std::make_unique<peer>(ctx, options_in<TestType>(d1.path()));
    peer second(ctx, options_in<TestType>(d2.path()));
    auto og = options_in<TestType>(dg.path());
    og.chunk_size = small_chunk;
    peer getter(ctx, og);

    SECTION("it says goodbye") {
        // The first holder is reached through a slow link so the download is still running when it leaves.
        shim slow(ctx, TestType::bind(), first->endpoint(), {0, 0, std::chrono::microseconds(2000)});
        REQUIRE(getter.connect(slow.endpoint()).ok);
        REQUIRE(getter.connect(second.endpoint()).ok);
        const auto op = getter.start_download({"big.bin", "", {}, {}});
        REQUIRE(wait_event<download_progress>(getter, [&](const auto& e) { return e.op == op && e.bytes > 0; }));
        first->stop_now(); // it leaves mid-transfer instead of finishing the upload
        auto done = wait_event<download_finished>(
            getter, [&](const auto& e) { return e.op == op; }, 20000ms);
        REQUIRE(done);
        INFO(done->error);
        REQUIRE(done->ok);
        CHECK(done->from == second.id());
        // Both brought pieces, and nothing came twice but the piece the first was in the middle of when it left.
        std::uint64_t kept = 0;
        for (const auto& share : done->holders) {
            kept += share.bytes;
        }
        CHECK(kept == bytes.size());
        CHECK(done->wasted <= piece_size_for(bytes.size()));
        CHECK(second.stats().bytes_sent <= bytes.size() + piece_size_for(bytes.size()));
    }
    SECTION("it stalls") {
        shim stalling(ctx, TestType::bind(), first->endpoint(), {0, 0, std::chrono::microseconds(2000)});
        REQUIRE(getter.connect(stalling.endpoint()).ok);
        REQUIRE(getter.connect(second.endpoint()).ok);
        const auto op = getter.start_download({"big.bin", "", {}, {}});
        REQUIRE(wait_event<download_progress>(getter, [&](const auto& e) { return e.op == op && e.bytes > 0; }));
        stalling.hold(true);
        auto done = wait_event<download_finished>(
            getter, [&](const auto& e) { return e.op == op; }, 20000ms);
        REQUIRE(done);
        INFO(done->error);
        REQUIRE(done->ok);
        CHECK(done->from == second.id());
    }
    CHECK(read_file(dg / "big.bin") == bytes);
    require_folder(dg.path(), {"big.bin"});
}

TEMPLATE_TEST_CASE("transfer from three holders at once: each brings a share, the file is the file",
                   "[transfer][net][multi]", inproc, tcp) {
    zmq::context_t ctx;
    temp_dir d1, d2, d3, dg;
    const auto bytes = random_bytes(16u << 20, 31); // 16 pieces of 1 MiB
    std::vector<std::unique_ptr<peer>> holders;
    for (auto* dir : {&d1, &d2, &d3}) {
        write_file(*dir / "big.bin", bytes);
        holders.push_back(std::make_unique<peer>(ctx, options_in<TestType>(dir->path())));
    }
    auto og = options_in<TestType>(dg.path());
    og.chunk_size = small_chunk;
    peer getter(ctx, og);
    for (auto& h : holders) {
        REQUIRE(getter.connect(h->endpoint()).ok);
    }
    auto done = getter.download({"big.bin", "", {}, {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(read_file(dg / "big.bin") == bytes);
    require_folder(dg.path(), {"big.bin"});
    // Every holder was asked; one the others found much slower at the end may have had its rest taken over before
    // it completed a piece (this machine's two cores run four peers here), so two shares at least.
    CHECK(done.holders.size() >= 2);
    std::uint64_t kept = 0;
    for (const auto& share : done.holders) {
        CHECK(share.bytes > 0);
        kept += share.bytes;
    }
    CHECK(kept == bytes.size());
    // Bytes thrown away (a chunk resent after a slow ACK on a loaded machine) stay within the bound: 1 % and 4 pieces.
    CHECK(done.wasted <= bytes.size() / 100 + 4 * piece_size_for(bytes.size()));
    // Together the holders sent the file once, and no more than the bound on bytes thrown away.
    std::uint64_t sent = 0;
    for (auto& h : holders) {
        sent += h->stats().bytes_sent;
    }
    CHECK(sent <= bytes.size() + bytes.size() / 100 + 4 * piece_size_for(bytes.size()));
}

TEMPLATE_TEST_CASE("transfer a resume after a hard stop re-reads only the pieces its journal does not vouch for",
                   "[transfer][net][journal]", inproc, tcp) {
    zmq::context_t ctx;
    temp_dir dh, dg;
    constexpr std::uint64_t mib = 1u << 20;
    const auto bytes = random_bytes(16 * mib, 15); // 16 pieces of 1 MiB
    write_file(dh / "journal.bin", bytes);
    peer holder(ctx, options_in<TestType>(dh.path()));
    auto og = options_in<TestType>(dg.path());
    og.chunk_size = small_chunk;
    // Stop-and-wait through 10 ms a chunk: the 4 pieces awaited below take 0.64 s, and the 12 after them 1.9 s at
    // least, so the stop comes mid-transfer however late this thread runs (the auto window could finish first).
    og.window = window_setting::of_chunks(1);
    const auto journal = dg / partial_journal_name("journal.bin");
    const auto records = [&] {
        std::error_code ec;
        const auto size = fs::file_size(journal, ec);
        return ec || size < core::journal_header_bytes
                   ? 0
                   : (size - core::journal_header_bytes) / core::journal_record_bytes;
    };
    {
        peer getter(ctx, og);
        shim slow(ctx, TestType::bind(), holder.endpoint(), {0, 0, std::chrono::microseconds(10000)});
        REQUIRE(getter.connect(slow.endpoint()).ok);
        getter.start_download({"journal.bin", "", {}, {}});
        // Pieces checked and synced are recorded while the download goes on.
        REQUIRE(eventually(
            getter, [&] { return records() >= 4; }, 20000ms));
        slow.hold(true); // from here no chunk reaches the getter
        getter.stop_now();
    }
    REQUIRE_FALSE(fs::exists(dg / "journal.bin"));
    const auto partial = posix_folder(dg.path()).find_partial("journal.bin");
    REQUIRE(partial);
    const auto journaled = std::min(records(), partial->length / mib);
    REQUIRE(journaled >= 4);

    peer getter(ctx, og);
    REQUIRE(getter.connect(holder.endpoint()).ok);
    auto done = getter.download({"journal.bin", "", {}, {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(done.resumed_from == partial->length);
    CHECK(done.rechecked == partial->length - journaled * mib); // the journal's pieces are not read again
    CHECK(done.bytes_received == bytes.size() - done.resumed_from);
    CHECK(read_file(dg / "journal.bin") == bytes);
    require_folder(dg.path(), {"journal.bin"}); // no journal left behind
}

TEMPLATE_TEST_CASE("transfer resumes after the downloader restarts", "[transfer][net]", inproc, tcp) {
    zmq::context_t ctx;
    temp_dir dh, dg;
    const auto bytes = random_bytes(8u << 20, 11);
    write_file(dh / "resume.bin", bytes);
    peer holder(ctx, options_in<TestType>(dh.path()));
    auto og = options_in<TestType>(dg.path());
    og.chunk_size = small_chunk;
    og.window = window_setting::of_chunks(1); // stop-and-wait: each chunk pays the slow link's delay

    {
        peer getter(ctx, og);
        // 20 ms a chunk: progress comes every 200 ms, so the first report of 1 MiB or more comes by the 30th of 128
        // chunks, and the rest take 2 s at least: the stop comes mid-transfer however late this thread runs.
        shim slow(ctx, TestType::bind(), holder.endpoint(), {0, 0, std::chrono::microseconds(20000)});
        REQUIRE(getter.connect(slow.endpoint()).ok);
        const auto op = getter.start_download({"resume.bin", "", {}, {}});
        REQUIRE(
            wait_event<download_progress>(getter, [&](const auto& e) { return e.op == op && e.bytes >= (1u << 20); }));
        slow.hold(true);   // from here no chunk reaches the getter
        getter.stop_now(); // the partial file stays, hidden
    }
    CHECK_FALSE(fs::exists(dg / "resume.bin"));
    auto partial = posix_folder(dg.path()).find_partial("resume.bin");
    REQUIRE(partial);
    CHECK(partial->length >= (1u << 20));

    const auto sent_before = holder.stats().bytes_sent;
    peer getter(ctx, og);
    REQUIRE(getter.connect(holder.endpoint()).ok);
    auto done = getter.download({"resume.bin", "", {}, {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(done.resumed_from >= (1u << 20));
    CHECK(done.bytes_received == bytes.size() - done.resumed_from);
    CHECK(holder.stats().bytes_sent - sent_before < bytes.size());
    CHECK(read_file(dg / "resume.bin") == bytes);
    require_folder(dg.path(), {"resume.bin"});
}

TEMPLATE_TEST_CASE("transfer refuses bad names and symlinks and writes nothing", "[transfer][net]", inproc, tcp) {
    pair_of_peers<TestType> net;
    temp_dir outside;
    write_file(outside / "secret", "top secret");
    fs::create_symlink(outside / "secret", net.holder_dir / "link");
    net.connect();

    for (const std::string& bad :
         std::vector<std::string>{"../x", "..", ".", "a/../b", "/etc/passwd", "a\\b", std::string("a\0b", 3),
                                  "tab\there", "esc\x1b[1A", ".p2p-part-x", std::string(256, 'n')}) {
        auto done = net.getter->download({bad, net.holder->id().short_hex(), {}, {}});
        INFO(bad);
        CHECK_FALSE(done.ok);
        CHECK(done.code == download_errc::bad_name);
    }
    // The symlink is neither listed nor served, wherever it points.
    CHECK(net.getter->peers()[0].files.empty());
    auto link = net.getter->download({"link", net.holder->id().short_hex(), {}, {}});
    CHECK_FALSE(link.ok);
    CHECK(link.code == download_errc::not_found);
    require_folder(net.getter_dir.path(), {});
    CHECK(read_file(outside / "secret") == "top secret");
}

TEMPLATE_TEST_CASE("transfer never overwrites an existing file", "[transfer][net]", inproc, tcp) {
    pair_of_peers<TestType> net;
    net.connect();
    net.share("same.txt", "theirs");
    write_file(net.getter_dir / "same.txt", "mine");
    auto done = net.getter->download({"same.txt", "", {}, {}});
    CHECK_FALSE(done.ok);
    CHECK(done.code == download_errc::exists);
    CHECK(done.error.find("already exists") != std::string::npos);
    CHECK(read_file(net.getter_dir / "same.txt") == "mine");
    require_folder(net.getter_dir.path(), {"same.txt"});
}

TEMPLATE_TEST_CASE("transfer of a file changed while being sent is refused", "[transfer][net]", inproc, tcp) {
    pair_of_peers<TestType> net;
    // Stop-and-wait through 40 ms a chunk: the 63 chunks after the first take 2.5 s at least, so the append below
    // lands mid-transfer however late this thread runs (with the auto window and 2 ms, a 300 ms pause let it finish).
    shim slow(net.ctx, TestType::bind(), net.holder->endpoint(), {0, 0, std::chrono::microseconds(40000)});
    REQUIRE(net.getter->connect(slow.endpoint()).ok);
    net.share("moving.bin", random_bytes(4u << 20, 5));
    const auto op = net.getter->start_download({"moving.bin", "", window_setting::of_chunks(1), {}});
    REQUIRE(wait_event<download_progress>(*net.getter, [&](const auto& e) { return e.op == op && e.bytes > 0; }));
    { std::ofstream(net.holder_dir / "moving.bin", std::ios::app) << "appended"; }
    auto done = wait_event<download_finished>(
        *net.getter, [&](const auto& e) { return e.op == op; }, 10000ms);
    REQUIRE(done);
    CHECK_FALSE(done->ok);
    CHECK(done->error.find("changed") != std::string::npos);
    CHECK_FALSE(fs::exists(net.getter_dir / "moving.bin"));
}

TEMPLATE_TEST_CASE("transfer that cannot be written gives a clear error and leaves nothing", "[transfer][net]", inproc,
                   tcp) {
    pair_of_peers<TestType> net;
    net.connect();
    const auto bytes = random_bytes(4u << 20, 9);
    net.share("toobig.bin", bytes);
    // A file size limit stands in for a full disk: the same write error path (EFBIG here, ENOSPC there).
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit old {};
    ::getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit limit = old;
    limit.rlim_cur = 1u << 20;
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto done = net.getter->download({"toobig.bin", "", {}, {}});
    ::setrlimit(RLIMIT_FSIZE, &old);
    CHECK_FALSE(done.ok);
    CHECK(done.code == download_errc::io);
    CHECK(done.error.find("cannot write") != std::string::npos);
    require_folder(net.getter_dir.path(), {});

    auto again = net.getter->download({"toobig.bin", "", {}, {}});
    CHECK(again.ok);
    CHECK(read_file(net.getter_dir / "toobig.bin") == bytes);
}

TEMPLATE_TEST_CASE("transfer keeps a busy peer alive without pings", "[transfer][net]", inproc, tcp) {
    zmq::context_t ctx;
    temp_dir dh, dg;
    const auto bytes = random_bytes(16u << 20, 13);
    write_file(dh / "long.bin", bytes);
    // The holder never pings and evicts after 300 ms of silence: only the downloader's ACKs keep it from evicting
    // the downloader while the transfer runs much longer than that.
    auto oh = options_in<TestType>(dh.path());
    oh.ping_interval = 60000ms;
    oh.peer_timeout = 300ms;
    auto og = options_in<TestType>(dg.path());
    og.ping_interval = 50ms;
    og.peer_timeout = 300ms;
    og.chunk_size = 16 * 1024;
    og.window = window_setting::of_chunks(1); // stop-and-wait: each chunk pays the slow link's delay
    peer holder(ctx, oh);
    peer getter(ctx, og);
    shim slow(ctx, TestType::bind(), holder.endpoint(), {0, 0, std::chrono::microseconds(500)});
    REQUIRE(getter.connect(slow.endpoint()).ok);
    auto done = getter.download({"long.bin", "", {}, {}});
    REQUIRE(done.ok);
    REQUIRE(done.seconds > 0.9); // long enough that three timeouts passed during it
    CHECK(holder.peers().size() == 1);
    CHECK(getter.peers().size() == 1);
}

TEMPLATE_TEST_CASE("transfer memory is bounded by the window, not the file", "[transfer][net]", inproc, tcp) {
    // The sender reads every chunk into a pooled buffer that ZeroMQ hands back after sending: a 32 MiB file in
    // 64 KiB chunks (512 chunks) must not need more buffers than are ever in flight at once.
    const auto window = GENERATE(1u, 4u);
    pair_of_peers<TestType> net;
    net.connect();
    const auto bytes = random_bytes(32u << 20, 7);
    net.share("big.bin", bytes);
    const auto before = net.holder->stats();
    auto done = net.getter->download({"big.bin", "", window_setting::of_chunks(window), {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(file_holds(net.getter_dir / "big.bin", bytes));
    const auto after = net.holder->stats();
    const auto allocated = after.chunk_buffers - before.chunk_buffers;
    const auto resent = after.chunks_resent - before.chunks_resent;
    INFO("window " << window << ": " << allocated << " buffers for 512 chunks, " << resent << " resent");
    // In flight: the window, plus the chunk ZeroMQ may still hold when its ACK has already come back (measured: 1
    // or 2 buffers at window 1, 4 or 5 at window 4), plus one for each resend whose original may still be queued
    // (none without loss; a loaded machine can delay an ACK past the 200 ms retransmission timeout).
    CHECK(allocated <= window + 1 + resent);
}

TEMPLATE_TEST_CASE("transfer waits for a holder that is still hashing a large file", "[transfer][net]", inproc, tcp) {
    // Hashing takes about a second per GB, and the getter must not give up while the holder hashes: the holder
    // answers each repeated REQUEST with PREPARING.
    zmq::context_t ctx;
    temp_dir holder_dir, getter_dir;
    auto h = options_in<TestType>(holder_dir.path());
    auto g = options_in<TestType>(getter_dir.path());
    // Only the getter is impatient; small chunks keep its progress steady once the bytes flow. Its timeout (the
    // tests' 2 s) is shorter than the hash here only on an idle machine, so this checks the whole path end to end;
    // the rule itself is checked in exact steps by "core a download waits as long as its holder answers PREPARING".
    // Shorter timeouts failed on a loaded CI machine (400 ms once in 20 repeats; 1 s once with a second build
    // running beside the suite, the holder then also evicting the getter after the tests' 1 s peer timeout).
    h.peer_timeout = g.peer_timeout = 5000ms;
    g.chunk_size = 256u << 10;
    // A sparse file: hashing reads its zeros from no disk, so only the hash itself takes time.
    constexpr std::uint64_t size = 1024u << 20;
    {
        std::ofstream(holder_dir / "sparse.img").close();
        fs::resize_file(holder_dir / "sparse.img", size);
    }
    peer holder(ctx, h), getter(ctx, g);
    REQUIRE(getter.connect(holder.endpoint()).ok);
    REQUIRE(eventually(getter, [&] { return !getter.peers().empty() && !getter.peers()[0].files.empty(); }));
    auto done = getter.download({"sparse.img", "", {}, {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(done.size == size);
    CHECK(fs::file_size(getter_dir / "sparse.img") == size);
}
