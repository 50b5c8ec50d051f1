// SPDX-License-Identifier: MIT
// beacon_test.cpp - LAN discovery without sockets: the beacon's bytes (docs/protocol.md, "LAN beacons"), and the
// core's beacon table stepped by hand: who dials whom, how often, what is dropped, and that everything stays bounded.
#include "sim/memory_folder.hpp"
#include "support.hpp"

#include "p2p/beacon.hpp"
#include "p2p/core/node_core.hpp"
#include "p2p/curve_keys.hpp"

#include <zmq.h>

#include <catch2/catch.hpp>

using namespace p2p;
using namespace p2p::test;

namespace {

std::vector<std::uint8_t> bytes_of(std::initializer_list<int> values) {
    std::vector<std::uint8_t> out;
    for (int v : values) {
        out.push_back(static_cast<std::uint8_t>(v));
    }
    return out;
}

/// A fresh CURVE public key (Z85).
std::string new_key() {
    std::array<char, 41> pub{}, sec{};
    REQUIRE(zmq_curve_keypair(pub.data(), sec.data()) == 0);
    return pub.data();
}

/// Records dials and beacons sent; every send succeeds.
struct beacon_recorder final : core::effects {
    struct dialled {
        core::link_id link;
        std::string endpoint;
        std::optional<std::string> key;
    };
    std::vector<dialled> dials;
    std::vector<std::vector<std::uint8_t>> beacons;

    bool send(peer_id, core::link_id, message) override { return true; }
    std::optional<std::string> dial(core::link_id link, const std::string& endpoint,
                                    const std::optional<std::string>& key) override {
        dials.push_back(dialled{link, endpoint, key});
        return std::nullopt;
    }
    void hang_up(core::link_id) override {}
    void start_job(core::job_id, core::job) override {}
    void cancel_job(core::job_id) override {}
    void emit(event) override {}
    payload buffer(std::size_t size) override { return payload::allocate(size); }
    void send_beacon(std::span<const std::uint8_t> datagram) override {
        beacons.emplace_back(datagram.begin(), datagram.end());
    }
};

struct stepped {
    std::int64_t clock_ns = 1;
    sim::memory_folder folder{&clock_ns};
    beacon_recorder out;
    steady_time now = steady_time{} + std::chrono::hours(1);
    std::optional<core::node_core> core;

    explicit stepped(peer_id self = peer_id(0x5000), bool secure = false, std::size_t max_peers = 256) {
        peer_options o;
        o.folder = "memory";
        o.max_peers = max_peers;
        core.emplace(o, self, "tcp://0.0.0.0:7000", secure, folder, true, out, now);
    }
    void start(core::discovery_settings settings = {7000, std::nullopt, std::nullopt}) {
        core->start_discovery(std::move(settings), now);
    }
    void hear(const std::string& source, const beacon& b) { core->on_beacon(source, encode_beacon(b), now); }
    /// Moves time to the core's next deadline (at most `limit` ahead) and lets it act.
    void step(milliseconds limit = 1000ms) {
        auto due = core->next_deadline();
        now = due ? std::clamp(*due, now, now + limit) : now + limit;
        core->on_deadline(now);
    }
    void advance(milliseconds by) {
        const auto until = now + by;
        while (now < until) {
            step(std::chrono::duration_cast<milliseconds>(until - now));
        }
    }
};

beacon plain(std::uint64_t id, std::uint16_t port = 6000) {
    beacon b;
    b.id = peer_id(id);
    b.port = port;
    b.protocol_version = protocol::version;
    return b;
}

} // namespace

TEST_CASE("beacon encodes to its documented bytes", "[beacon][codec]") {
    auto b = plain(0x0102030405060708, 0x1234);
    b.protocol_version = 6;
    const auto expected = bytes_of({'P', '2', 'P', 'B', 1, 0, 0x12, 0x34, 0, 0, 0, 6, 1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(encode_beacon(b) == expected);
    CHECK(decode_beacon(expected) == b);

    b.leaving = true;
    auto leaving = expected;
    leaving[5] = 0x01;
    CHECK(encode_beacon(b) == leaving);
    CHECK(decode_beacon(leaving) == b);
}

TEST_CASE("beacon with a key carries its 32 raw bytes", "[beacon][codec]") {
    // The example key of ZeroMQ's Z85 specification (rfc.zeromq.org/spec/32).
    const std::string key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    std::array<std::uint8_t, 32> raw{};
    REQUIRE(zmq_z85_decode(raw.data(), key.c_str()) != nullptr);
    auto b = plain(0x0a0b0c0d0e0f1011, 7000);
    b.protocol_version = 4;
    b.key = key;
    auto expected =
        bytes_of({'P', '2', 'P', 'B', 1, 2, 0x1b, 0x58, 0, 0, 0, 4, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11});
    expected.insert(expected.end(), raw.begin(), raw.end());
    const auto encoded = encode_beacon(b);
    CHECK(encoded.size() == beacon_format::keyed_size);
    CHECK(encoded == expected);
    CHECK(decode_beacon(expected) == b);
}

TEST_CASE("beacon decoding refuses malformed datagrams", "[beacon][codec]") {
    const auto good = encode_beacon(plain(0x77, 6000));
    REQUIRE(decode_beacon(good));
    std::string why;
    for (std::size_t size = 0; size < good.size(); ++size) {
        CHECK_FALSE(decode_beacon(std::span(good).first(size), &why));
        CHECK(why == "wrong size");
    }
    auto longer = good;
    longer.push_back(0);
    CHECK_FALSE(decode_beacon(longer));
    const auto refused = [&](std::size_t at, std::uint8_t value, const std::string& reason) {
        auto bad = good;
        bad[at] = value;
        std::string why_bad;
        CHECK_FALSE(decode_beacon(bad, &why_bad));
        CHECK(why_bad == reason);
    };
    refused(0, 'X', "not a beacon (magic)");
    refused(4, 2, "unknown beacon format version");
    refused(5, 0x04, "unknown flags");
    refused(5, 0x02, "the key flag disagrees with the size"); // a key announced, none there
    auto no_port = good;
    no_port[6] = no_port[7] = 0;
    CHECK_FALSE(decode_beacon(no_port, &why));
    CHECK(why == "port 0");
    auto no_id = good;
    std::fill(no_id.begin() + 12, no_id.end(), 0);
    CHECK_FALSE(decode_beacon(no_id, &why));
    CHECK(why == "id 0");
    std::vector<std::uint8_t> keyless_long(beacon_format::keyed_size, 0);
    std::copy(good.begin(), good.end(), keyless_long.begin());
    CHECK_FALSE(decode_beacon(keyless_long, &why));
    CHECK(why == "the key flag disagrees with the size");
}

TEST_CASE("core discovery sends a beacon at start, then about once a second, and a leaving one at stop",
          "[core][beacon]") {
    stepped s;
    s.advance(3000ms);
    CHECK(s.out.beacons.empty()); // not started: nothing goes out
    s.start();
    s.step(0ms);
    REQUIRE(s.out.beacons.size() == 1);
    auto first = decode_beacon(s.out.beacons[0]);
    REQUIRE(first);
    CHECK(first->id == peer_id(0x5000));
    CHECK(first->port == 7000);
    CHECK(first->protocol_version == protocol::version);
    CHECK_FALSE(first->leaving);
    CHECK_FALSE(first->key);
    s.advance(10000ms);
    CHECK(s.out.beacons.size() == 11);
    s.core->on_command(command::stop{false}, s.now);
    REQUIRE(s.out.beacons.size() == 12);
    auto last = decode_beacon(s.out.beacons.back());
    REQUIRE(last);
    CHECK(last->leaving);
    s.advance(5000ms);
    CHECK(s.out.beacons.size() == 12); // nothing after leaving
}

TEST_CASE("core discovery: of a pair only the smaller id dials, once, at the beacon's source", "[core][beacon]") {
    stepped s(peer_id(0x5000));
    s.start();
    s.hear("10.0.0.9", plain(0x4000)); // smaller than us: it dials us
    CHECK(s.out.dials.empty());
    s.hear("10.0.0.7", plain(0x6000, 6100));
    REQUIRE(s.out.dials.size() == 1);
    CHECK(s.out.dials[0].endpoint == "tcp://10.0.0.7:6100");
    // Heard again while the connect is under way: no second dial.
    s.now += 1000ms;
    s.hear("10.0.0.7", plain(0x6000, 6100));
    CHECK(s.out.dials.size() == 1);
    // It answers: a peer now, and its beacons dial nothing.
    s.core->on_link(s.out.dials[0].link, decode_result(hello{peer_id(0x6000), "tcp://0.0.0.0:6100", 1}), s.now);
    s.core->on_link(s.out.dials[0].link, decode_result(file_list{1, 0, 1, {{"b.txt", 1}}}), s.now);
    REQUIRE(s.core->peer_ids() == std::vector<peer_id>{peer_id(0x6000)});
    for (int i = 0; i < 40; ++i) {
        s.now += 1000ms;
        s.hear("10.0.0.7", plain(0x6000, 6100));
    }
    CHECK(s.out.dials.size() == 1);
    CHECK(s.core->discovery().counts().dials == 1);
}

TEST_CASE("core discovery: a peer at its peer limit dials no beacon, and dials again once below it", "[core][beacon]") {
    // Found by the simulation (tests/sim, --discovery): a full peer that dials gets HELLO back and then drops the
    // connection ("peer limit reached"), and the peer it dialled keeps a slot for it until its peer timeout.
    stepped s(peer_id(0x5000), false, 1);
    s.start();
    s.hear("10.0.0.7", plain(0x6000, 6100));
    REQUIRE(s.out.dials.size() == 1);
    s.core->on_link(s.out.dials[0].link, decode_result(hello{peer_id(0x6000), "tcp://0.0.0.0:6100", 1}), s.now);
    s.core->on_link(s.out.dials[0].link, decode_result(file_list{1, 0, 1, {}}), s.now);
    REQUIRE(s.core->peer_ids().size() == 1);
    // Full: a minute of beacons from another peer it would dial dials nothing (its one peer stays alive).
    for (int i = 0; i < 60; ++i) {
        s.hear("10.0.0.8", plain(0x7000, 6200));
        s.hear("10.0.0.7", plain(0x6000, 6100));
        s.core->on_link(s.out.dials[0].link, decode_result(ping{}), s.now);
        s.advance(1000ms);
    }
    REQUIRE(s.core->peer_ids().size() == 1);
    CHECK(s.out.dials.size() == 1);
    // Its peer leaves: a slot is free, and the next beacon is dialled.
    s.core->on_link(s.out.dials[0].link, decode_result(goodbye{}), s.now);
    REQUIRE(s.core->peer_ids().empty());
    s.hear("10.0.0.8", plain(0x7000, 6200));
    REQUIRE(s.out.dials.size() == 2);
    CHECK(s.out.dials[1].endpoint == "tcp://10.0.0.8:6200");
}

TEST_CASE("core discovery: dials under way count toward the peer limit", "[core][beacon]") {
    // Found by the simulation: a peer one below its limit that dialled several peers in the same second joined one
    // and dropped the others at their answer, each of which held a slot for it until its peer timeout.
    stepped s(peer_id(0x5000), false, 2);
    s.start();
    for (int k = 1; k <= 5; ++k) {
        s.hear("10.0.0." + std::to_string(k), plain(0x6000 + static_cast<std::uint64_t>(k)));
    }
    REQUIRE(s.out.dials.size() == 2);
    // The first answers; the second never does, and its connect times out.
    s.core->on_link(s.out.dials[0].link, decode_result(hello{peer_id(0x6001), "tcp://0.0.0.0:6000", 1}), s.now);
    s.core->on_link(s.out.dials[0].link, decode_result(file_list{1, 0, 1, {}}), s.now);
    REQUIRE(s.core->peer_ids().size() == 1);
    s.advance(2500ms);
    for (int k = 1; k <= 5; ++k) {
        s.hear("10.0.0." + std::to_string(k), plain(0x6000 + static_cast<std::uint64_t>(k)));
    }
    // One peer and nothing under way: one more dial, not three.
    CHECK(s.out.dials.size() == 3);
}

TEST_CASE("core discovery: a peer at its peer limit sends no beacon until a slot frees", "[core][beacon]") {
    // Found by the simulation: every beacon of a full peer invited connects it refused without a word, each holding a
    // dialler's slot for a connect timeout; 200 peers with a cap of 16 took 48 s and more to settle, 9-15 s now.
    stepped s(peer_id(0x5000), false, 1);
    s.start();
    s.step(0ms);
    REQUIRE(s.out.beacons.size() == 1);
    s.hear("10.0.0.7", plain(0x6000, 6100));
    REQUIRE(s.out.dials.size() == 1);
    s.core->on_link(s.out.dials[0].link, decode_result(hello{peer_id(0x6000), "tcp://0.0.0.0:6100", 1}), s.now);
    s.core->on_link(s.out.dials[0].link, decode_result(file_list{1, 0, 1, {}}), s.now);
    REQUIRE(s.core->peer_ids().size() == 1);
    for (int i = 0; i < 10; ++i) {
        s.core->on_link(s.out.dials[0].link, decode_result(ping{}), s.now);
        s.advance(1000ms);
    }
    CHECK(s.out.beacons.size() == 1);
    // Its peer leaves: a slot is free, and a peer lost is a change, so the next beacon goes out at once.
    s.core->on_link(s.out.dials[0].link, decode_result(goodbye{}), s.now);
    s.step(0ms);
    CHECK(s.out.beacons.size() == 2);
}

TEST_CASE("core discovery drops its own beacons, other versions, and other modes", "[core][beacon]") {
    stepped s(peer_id(0x5000));
    s.start();
    s.hear("10.0.0.1", plain(0x5000));
    CHECK(s.core->discovery().counts().own == 1);
    auto old = plain(0x6000);
    old.protocol_version = protocol::version - 1;
    s.hear("10.0.0.2", old);
    auto keyed = plain(0x6001);
    keyed.key = new_key();
    keyed.id = peer_id_for_key(*keyed.key);
    if (keyed.id < peer_id(0x5000)) {
        keyed.id = peer_id(0xffffffffffffffff); // still refused: no plain peer dials a key
    }
    s.hear("10.0.0.3", keyed);
    const std::vector<std::uint8_t> junk{'h', 'e', 'l', 'l', 'o'};
    s.core->on_beacon("10.0.0.4", junk, s.now);
    CHECK(s.core->discovery().counts().refused == 2);
    CHECK(s.core->discovery().counts().malformed == 1);
    CHECK(s.out.dials.empty());
    CHECK(s.core->discovery().counts().heard == 4);
}

TEST_CASE("core discovery in secure mode dials only allowed keys, and only the key's own id", "[core][beacon]") {
    // Our id is the smallest there is, so we are the side that dials whoever is acceptable.
    stepped s(peer_id(1), true);
    const auto allowed_key = new_key();
    const auto other_key = new_key();
    s.start({7000, new_key(), std::set<std::string>{allowed_key}});
    s.step(0ms);
    REQUIRE_FALSE(s.out.beacons.empty());
    CHECK(decode_beacon(s.out.beacons[0])->key);

    auto b = plain(0);
    b.key = other_key;
    b.id = peer_id_for_key(other_key);
    s.hear("10.0.0.2", b); // not on the allowlist
    b.key = allowed_key;
    b.id = peer_id(b.id.value() ^ 1); // an id that is not the key's
    s.hear("10.0.0.3", b);
    s.hear("10.0.0.4", plain(0x6000)); // no key at all
    CHECK(s.out.dials.empty());
    CHECK(s.core->discovery().counts().refused == 3);

    b.id = peer_id_for_key(allowed_key);
    s.hear("10.0.0.5", b);
    REQUIRE(s.out.dials.size() == 1);
    CHECK(s.out.dials[0].endpoint == "tcp://10.0.0.5:6000");
    CHECK(s.out.dials[0].key == allowed_key); // the handshake proves it
}

TEST_CASE("core discovery dials again with backoff, and at once when the peer moves", "[core][beacon]") {
    stepped s(peer_id(0x5000));
    s.start();
    std::vector<milliseconds> at;
    const auto start = s.now;
    // Beacons every second for a minute; nothing ever answers the dials (each times out).
    for (int i = 0; i < 60; ++i) {
        const auto before = s.out.dials.size();
        s.hear("10.0.0.7", plain(0x6000));
        if (s.out.dials.size() > before) {
            at.push_back(std::chrono::duration_cast<milliseconds>(s.now - start));
        }
        s.advance(1000ms);
    }
    // 2, 4, 8, 16 s between tries, then 30.
    CHECK(at == std::vector<milliseconds>{0ms, 2000ms, 6000ms, 14000ms, 30000ms});
    // Restarted on another port: dialled at the first beacon from there.
    const auto before = s.out.dials.size();
    s.hear("10.0.0.7", plain(0x6000, 6001));
    REQUIRE(s.out.dials.size() == before + 1);
    CHECK(s.out.dials.back().endpoint == "tcp://10.0.0.7:6001");
}

TEST_CASE("core discovery forgets a candidate that went quiet or said it leaves", "[core][beacon]") {
    stepped s(peer_id(0x5000));
    s.start();
    s.hear("10.0.0.7", plain(0x6000));
    s.hear("10.0.0.8", plain(0x7000));
    CHECK(s.core->discovery().candidates() == 2);
    auto leaving = plain(0x7000);
    leaving.leaving = true;
    s.hear("10.0.0.8", leaving);
    CHECK(s.core->discovery().candidates() == 1);
    s.advance(core::beacon_table::candidate_expiry + 1000ms);
    CHECK(s.core->discovery().candidates() == 0);
    CHECK(s.out.dials.size() == 2); // the leaving beacon dialled nothing
}

TEST_CASE("core discovery rate-limits each source and all of them, and bounds its tables", "[core][beacon]") {
    stepped s(peer_id(1));
    s.start();
    // One source, 1000 beacons at once (new ids each): only max_per_source are read.
    for (std::uint64_t i = 0; i < 1000; ++i) {
        s.hear("10.0.0.66", plain(0x1000 + i));
    }
    CHECK(s.core->discovery().counts().rate_limited == 1000 - core::beacon_table::max_per_source);
    CHECK(s.core->discovery().candidates() == core::beacon_table::max_per_source);
    CHECK(s.core->discovery().counts().dials == core::beacon_table::max_dials_per_second);

    // Spoofed sources, a new one per beacon, 10,000 a second for 5 s: at most max_per_second read each second, and
    // the tables never pass their bounds.
    const auto heard_before = s.core->discovery().counts().heard;
    std::uint64_t n = 0;
    for (int second = 0; second < 5; ++second) {
        for (int i = 0; i < 10000; ++i, ++n) {
            s.hear("10." + std::to_string(n >> 16 & 255) + "." + std::to_string(n >> 8 & 255) + "." +
                       std::to_string(n & 255),
                   plain(0x100000 + n));
        }
        CHECK(s.core->discovery().candidates() <= core::beacon_table::max_candidates);
        CHECK(s.core->discovery().sources() <= core::beacon_table::max_sources);
        s.advance(1000ms);
    }
    CHECK(s.core->discovery().counts().heard - heard_before == 50000);
    CHECK(s.core->discovery().counts().table_full > 0);
    // Dials never beyond the budget: max_dials_per_second in each of the 6 seconds.
    CHECK(s.core->discovery().counts().dials <= 6 * core::beacon_table::max_dials_per_second);
}

TEST_CASE("core discovery: made-up peers that never answer leave a bounded list of failed connects", "[core][beacon]") {
    stepped s(peer_id(1));
    s.start();
    // For 100 s, beacons of 20 new made-up peers a second (new ids, new ports); every dial times out.
    std::uint64_t n = 0;
    for (int second = 0; second < 100; ++second) {
        for (int i = 0; i < 20; ++i, ++n) {
            s.hear("10.0.1." + std::to_string(i), plain(0x100000 + n, static_cast<std::uint16_t>(1024 + n)));
        }
        s.advance(1000ms);
    }
    s.advance(5000ms);
    REQUIRE(s.core->discovery().counts().dials >= 1000); // they were dialled, and failed
    CHECK(s.core->failures().size() <= core::peer_table::max_failures);
}

TEST_CASE("core discovery answers a new peer that waits for our dial-less side with a beacon soon", "[core][beacon]") {
    stepped s(peer_id(0x5000));
    s.start();
    s.step(0ms);
    REQUIRE(s.out.beacons.size() == 1);
    s.advance(100ms);
    // A peer with a smaller id started: it dials us, but only once it has heard us. Our next beacon is due within
    // the change gap, not a whole interval later.
    s.hear("10.0.0.9", plain(0x4000));
    s.advance(250ms); // the gap between beacons sent for a change
    CHECK(s.out.beacons.size() == 2);
    // Heard again: it is not new, nothing more goes out before the interval.
    s.hear("10.0.0.9", plain(0x4000));
    s.advance(500ms);
    CHECK(s.out.beacons.size() == 2);
    // One we dial ourselves needs no beacon from us (the steady one is due 1 s after the last, 400 ms from here).
    s.hear("10.0.0.7", plain(0x6000));
    s.advance(300ms);
    CHECK(s.out.beacons.size() == 2);
}

TEST_CASE("core discovery sends a beacon soon when a peer it knew is lost", "[core][beacon]") {
    stepped s(peer_id(0x5000));
    s.start();
    s.hear("10.0.0.7", plain(0x6000, 6100));
    REQUIRE(s.out.dials.size() == 1);
    const auto link = s.out.dials[0].link;
    s.core->on_link(link, decode_result(hello{peer_id(0x6000), "tcp://0.0.0.0:6100", 1}), s.now);
    s.core->on_link(link, decode_result(file_list{1, 0, 1, {{"b.txt", 1}}}), s.now);
    REQUIRE(s.core->peer_ids().size() == 1);
    s.step(0ms);
    const auto before = s.out.beacons.size();
    s.advance(300ms);
    s.core->on_link_event(link, core::link_event::dropped, "", s.now);
    REQUIRE(s.core->peer_ids().empty());
    // Sent at once (the last beacon went out more than the gap ago), not at the end of the interval; and the
    // deadline has moved on past it.
    CHECK(s.out.beacons.size() == before + 1);
    REQUIRE(s.core->next_deadline());
    CHECK(*s.core->next_deadline() > s.now);
}

TEST_CASE("core discovery sends a beacon at once when the interfaces change, at most four a second in a burst",
          "[core][beacon]") {
    stepped s(peer_id(0x5000));
    s.start();
    s.step(0ms);
    REQUIRE(s.out.beacons.size() == 1);
    // An interface came up 600 ms after our last beacon: the next one is due now, not 400 ms later.
    s.advance(600ms);
    s.core->on_interfaces_changed(s.now);
    CHECK(s.out.beacons.size() == 2);
    // A storm of changes, one every 10 ms for 5 s: at least min_gap between beacons, so at most 4 a second.
    const auto before = s.out.beacons.size();
    for (int i = 0; i < 500; ++i) {
        s.core->on_interfaces_changed(s.now);
        s.advance(10ms);
    }
    const auto sent = s.out.beacons.size() - before;
    CHECK(sent <= 5 * 4);
    CHECK(sent >= 5 * 4 - 1); // and the changes were acted on, not lost
    // Then quiet: back to the steady rate.
    s.advance(1000ms);
    const auto quiet = s.out.beacons.size();
    s.advance(10000ms);
    CHECK(s.out.beacons.size() - quiet == 10);
}

TEST_CASE("defect: a peer whose IPv6 beacon is read a moment before its IPv4 one is dialled at its link-local address",
          "[core][beacon][defect]") {
    // Every beacon goes out over IPv4 and IPv6 at once, and the two copies are read in either order. The dial went
    // to whichever came first: two peers of one machine listed each other at [fe80::...%eth0]:5000, and a user who
    // then typed the IPv4 address their start lines print ("Reachable at") dialled the peer a second time.
    stepped s(peer_id(0x5000));
    s.start();
    s.hear("fe80::1c2:3ff:fe4:5%eth0", plain(0x6000, 6100));
    s.hear("10.0.0.7", plain(0x6000, 6100));
    s.advance(core::beacon_table::ipv4_wait);
    REQUIRE(s.out.dials.size() == 1);
    CHECK(s.out.dials[0].endpoint == "tcp://10.0.0.7:6100");
}

TEST_CASE("core discovery dials an IPv6 source in brackets with its interface, and a peer heard on both once",
          "[core][beacon]") {
    stepped s(peer_id(0x5000));
    s.start();
    s.hear("fe80::1c2:3ff:fe4:5%eth0", plain(0x6000, 6100));
    CHECK(s.out.dials.empty()); // its IPv4 copy may come
    s.advance(core::beacon_table::ipv4_wait);
    REQUIRE(s.out.dials.size() == 1);
    CHECK(s.out.dials[0].endpoint == "tcp://[fe80::1c2:3ff:fe4:5%eth0]:6100");
    // The same datagram over IPv4 later, and again over IPv6: no second dial while the first is under way.
    s.hear("10.0.0.7", plain(0x6000, 6100));
    s.hear("fe80::1c2:3ff:fe4:5%eth0", plain(0x6000, 6100));
    s.hear("fe80::1c2:3ff:fe4:5%wlan0", plain(0x6000, 6100)); // the same peer on another interface
    CHECK(s.out.dials.size() == 1);
    CHECK(s.core->discovery().candidates() == 1);
    // That dial fails; the retry goes to the IPv4 address (what users read), and only after the backoff.
    s.advance(core::candidate_table::first_retry + 1000ms);
    s.hear("fe80::1c2:3ff:fe4:5%eth0", plain(0x6000, 6100));
    s.hear("10.0.0.7", plain(0x6000, 6100));
    REQUIRE(s.out.dials.size() == 2);
    CHECK(s.out.dials[1].endpoint == "tcp://10.0.0.7:6100");

    // Only over IPv6, a global address: brackets, no interface.
    s.hear("fd00::7", plain(0x7000, 7100));
    s.advance(core::beacon_table::ipv4_wait);
    REQUIRE(s.out.dials.size() == 3);
    CHECK(s.out.dials[2].endpoint == "tcp://[fd00::7]:7100");
    // Each IPv6 source has its own rate limit, like an IPv4 one.
    for (int i = 0; i < 100; ++i) {
        s.hear("fe80::66%eth0", plain(0x100000 + static_cast<std::uint64_t>(i)));
    }
    CHECK(s.core->discovery().counts().rate_limited == 100 - core::beacon_table::max_per_source);
}

TEST_CASE("core discovery: an IPv6 peer that answers is connected, and listed at its bracketed address",
          "[core][beacon]") {
    stepped s(peer_id(0x5000));
    s.start();
    s.hear("fe80::1%eth0", plain(0x6000, 6100));
    s.advance(core::beacon_table::ipv4_wait); // no IPv4 copy
    REQUIRE(s.out.dials.size() == 1);
    const auto link = s.out.dials[0].link;
    s.core->on_link(link, decode_result(hello{peer_id(0x6000), "tcp://[::]:6100", 1}), s.now);
    s.core->on_link(link, decode_result(file_list{1, 0, 1, {{"b.txt", 1}}}), s.now);
    const auto peers = s.core->peers();
    REQUIRE(peers.size() == 1);
    CHECK(peers[0].address == "[fe80::1%eth0]:6100");
}
