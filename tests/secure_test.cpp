// SPDX-License-Identifier: MIT
// secure_test.cpp - --secure: CURVE on every socket, ids bound to keys, and the ZAP allowlist.
#include "support.hpp"

#include "p2p/curve_keys.hpp"
#include "p2p/endpoint.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <thread>

using namespace p2p;
using namespace p2p::test;

namespace {

peer_options secure_options(const fs::path& folder, const fs::path& allow = {}) {
    auto o = options_in<tcp>(folder);
    o.secure = true;
    o.allow = allow;
    return o;
}

std::string keyed(const peer& p) {
    return p.public_key() + "@" + p.endpoint();
}

/// A port that shows libzmq's greeting race at every connection. It sends the ZMTP signature and major version; when
/// the other side's whole greeting comes back (a libzmq socket sends it as soon as it has read our major version), it
/// closes without sending its own mechanism, as a libzmq socket of the other mode does when it reads that greeting in
/// one go and finds the mismatch. To a reader that sends only the signature and major version and waits, it sends
/// the rest of its greeting, naming `mechanism`.
class racing_greeter {
public:
    explicit racing_greeter(std::string mechanism) : mechanism_(std::move(mechanism)) {
        auto listening = bind_loopback(8);
        listener_ = std::move(listening.fd);
        port_ = listening.port;
        thread_ = std::thread([this] { serve(); });
    }
    ~racing_greeter() {
        stop_ = true;
        thread_.join();
    }
    std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

private:
    void serve() {
        while (!stop_) {
            ::pollfd ready{listener_.get(), POLLIN, 0};
            if (::poll(&ready, 1, 50) <= 0) {
                continue; // the slice only bounds how long the destructor waits for this thread
            }
            const unique_fd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (connection) {
                answer(connection.get());
            }
        }
    }
    void answer(int fd) const {
        const ::timeval limit{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        std::array<std::uint8_t, 64> greeting{};
        greeting[0] = 0xff;
        greeting[9] = 0x7f;
        greeting[10] = 3; // major
        greeting[11] = 1; // minor
        std::copy(mechanism_.begin(), mechanism_.end(), greeting.begin() + 12);
        if (::send(fd, greeting.data(), 11, MSG_NOSIGNAL) != 11) {
            return;
        }
        std::array<std::uint8_t, 64> theirs{};
        std::size_t got = 0;
        while (got < 11) {
            const auto n = ::recv(fd, theirs.data() + got, theirs.size() - got, 0);
            if (n <= 0) {
                return;
            }
            got += static_cast<std::size_t>(n);
        }
        if (got > 11) {
            return; // their whole greeting: close before ours has said its mechanism
        }
        if (::send(fd, greeting.data() + 11, greeting.size() - 11, MSG_NOSIGNAL) < 0) {
            return;
        }
        while (::recv(fd, theirs.data(), theirs.size(), 0) > 0) {
        }
    }

    std::string mechanism_;
    unique_fd listener_;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

void write_allowlist(const fs::path& file, const std::vector<std::string>& keys) {
    std::string text = "# peers allowed in\n";
    for (const auto& k : keys) {
        text += k + "  some label\n";
    }
    write_file(file, text);
}

} // namespace

TEST_CASE("secure peers on each other's allowlist connect and transfer", "[secure][net]") {
    zmq::context_t ctx;
    temp_dir a_dir, b_dir, lists;
    // Keys are made on first use; start each once to learn its key, then again with the allowlists.
    std::string a_key, b_key;
    {
        peer a(ctx, secure_options(a_dir.path()));
        peer b(ctx, secure_options(b_dir.path()));
        a_key = a.public_key();
        b_key = b.public_key();
    }
    REQUIRE(is_valid_key(a_key));
    REQUIRE(is_valid_key(b_key));
    write_allowlist(lists / "a.allow", {b_key});
    write_allowlist(lists / "b.allow", {a_key});

    const auto bytes = random_bytes(3u << 20, 21);
    write_file(a_dir / "secret.bin", bytes);
    peer a(ctx, secure_options(a_dir.path(), lists / "a.allow"));
    peer b(ctx, secure_options(b_dir.path(), lists / "b.allow"));
    // The same key from the folder, so the same id as before: an id is its key's.
    CHECK(a.public_key() == a_key);
    CHECK(a.id() == peer_id_for_key(a_key));
    CHECK(b.id() == peer_id_for_key(b_key));

    auto c = b.connect(keyed(a));
    INFO(c.error);
    REQUIRE(c.ok);
    CHECK(c.id == a.id());
    REQUIRE(eventually(a, [&] { return a.peers().size() == 1; }));
    CHECK(a.peers()[0].id == b.id());
    auto done = b.download({"secret.bin", "", {}, {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(read_file(b_dir / "secret.bin") == bytes);
}

TEST_CASE("secure peer refuses a key that is not on its allowlist", "[secure][net]") {
    zmq::context_t ctx;
    temp_dir a_dir, b_dir, stranger_dir, lists;
    std::string b_key;
    {
        peer b(ctx, secure_options(b_dir.path()));
        b_key = b.public_key();
    }
    write_allowlist(lists / "a.allow", {b_key});
    peer a(ctx, secure_options(a_dir.path(), lists / "a.allow"));
    peer stranger(ctx, secure_options(stranger_dir.path()));

    const auto started = std::chrono::steady_clock::now();
    auto c = stranger.connect(keyed(a));
    CHECK_FALSE(c.ok);
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    CHECK(a.peers().empty());
    CHECK(stranger.peers().empty());
    // The allowed one still gets in.
    peer b(ctx, secure_options(b_dir.path()));
    const auto allowed = b.connect(keyed(a));
    INFO(allowed.error);
    REQUIRE(allowed.ok);
}

TEST_CASE("plain and secure peers cannot talk to each other", "[secure][net]") {
    zmq::context_t ctx;
    temp_dir s_dir, p_dir;
    peer secure_peer(ctx, secure_options(s_dir.path()));
    peer plain(ctx, options_in<tcp>(p_dir.path()));

    SECTION("plain connects to secure") {
        auto c = plain.connect(secure_peer.endpoint());
        CHECK_FALSE(c.ok);
        CHECK(secure_peer.peers().empty());
    }
    SECTION("plain given a key is told it is not secure") {
        auto c = plain.connect(keyed(secure_peer));
        CHECK_FALSE(c.ok);
        CHECK_THAT(c.error, Catch::Contains("not in secure mode"));
    }
    SECTION("secure connects to plain") {
        auto c = secure_peer.connect(secure_peer.public_key() + "@" + plain.endpoint());
        CHECK_FALSE(c.ok);
        CHECK(plain.peers().empty());
    }
    SECTION("secure without the other's key is told how to connect") {
        auto c = secure_peer.connect(plain.endpoint());
        CHECK_FALSE(c.ok);
        CHECK_THAT(c.error, Catch::Contains("KEY@host:port"));
    }
}

TEST_CASE("defect: a peer of the other mode that closes during the greeting is reported as a wrong key or no peer",
          "[secure][net]") {
    // libzmq's race (zmtp_greeting.hpp), forced on every connection: the failed handshake has no detail, and the
    // message must still say which side is secure, not blame the key or call the other side "not a p2p peer".
    zmq::context_t ctx;
    temp_dir dir;
    SECTION("secure connects to plain") {
        racing_greeter plain("NULL");
        peer secure_peer(ctx, secure_options(dir.path()));
        const auto c = secure_peer.connect(secure_peer.public_key() + "@" + plain.endpoint());
        CHECK_FALSE(c.ok);
        CHECK_THAT(c.error, Catch::Contains("is not in secure mode, and this one is"));
    }
    SECTION("plain connects to secure") {
        racing_greeter secure("CURVE");
        peer plain(ctx, options_in<tcp>(dir.path()));
        const auto c = plain.connect(secure.endpoint());
        CHECK_FALSE(c.ok);
        CHECK_THAT(c.error, Catch::Contains("is in secure mode (--secure)"));
    }
}

TEST_CASE("secure peer rejects a server whose id is not its key's", "[secure][net]") {
    // Connecting with the right endpoint but somebody else's key: CURVE fails the handshake, nothing joins.
    zmq::context_t ctx;
    temp_dir a_dir, b_dir, c_dir;
    peer a(ctx, secure_options(a_dir.path()));
    peer b(ctx, secure_options(b_dir.path()));
    peer c(ctx, secure_options(c_dir.path()));
    auto r = b.connect(c.public_key() + "@" + a.endpoint());
    CHECK_FALSE(r.ok);
    CHECK(a.peers().empty());
    CHECK(b.peers().empty());
}

TEST_CASE("secure keys are private and never listed or served", "[secure][net]") {
    zmq::context_t ctx;
    temp_dir a_dir, b_dir;
    write_file(a_dir / "shared.txt", "hello");
    peer a(ctx, secure_options(a_dir.path()));
    peer b(ctx, secure_options(b_dir.path()));

    struct ::stat st {};
    REQUIRE(::stat((a_dir / ".p2p").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat((a_dir / ".p2p" / "curve.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(read_file(a_dir / ".p2p" / "curve.key").find(a.public_key()) == 0);

    REQUIRE(b.connect(keyed(a)).ok);
    REQUIRE(eventually(b, [&] { return b.peers().size() == 1 && !b.peers()[0].files.empty(); }));
    std::vector<std::string> listed;
    const auto peers = b.peers();
    for (const auto& f : peers[0].files) {
        listed.push_back(f.name);
    }
    CHECK(listed == std::vector<std::string>{"shared.txt"});
    for (const auto& name : {".p2p", ".p2p/curve.key", "curve.key"}) {
        auto done = b.download({name, a.id().hex(), {}, {}});
        INFO(name);
        CHECK_FALSE(done.ok);
    }
    CHECK_FALSE(fs::exists(b_dir / "curve.key"));
}

TEST_CASE("secure key files and allowlists that are wrong give a clear error", "[secure]") {
    zmq::context_t ctx;
    temp_dir dir, lists;
    SECTION("a key readable by others is refused, as ssh does") {
        { peer once(ctx, secure_options(dir.path())); }
        fs::permissions(dir / ".p2p" / "curve.key", fs::perms::group_read, fs::perm_options::add);
        CHECK_THROWS_WITH(peer(ctx, secure_options(dir.path())), Catch::Contains("chmod 600"));
    }
    SECTION("an allowlist line that is not a key names its line") {
        write_file(lists / "bad.allow", "# ok\n\nnot-a-key\n");
        CHECK_THROWS_WITH(peer(ctx, secure_options(dir.path(), lists / "bad.allow")), Catch::Contains("bad.allow:3"));
    }
    SECTION("a missing allowlist") {
        CHECK_THROWS_WITH(peer(ctx, secure_options(dir.path(), lists / "missing.allow")),
                          Catch::Contains("cannot read"));
    }
}

TEST_CASE("secure peer refuses a client whose routing id is not its key's id", "[secure][net]") {
    // A client with a valid key of its own (no allowlist: any key gets in) claims the id of another secure peer.
    zmq::context_t ctx;
    temp_dir a_dir, c_dir;
    peer a(ctx, secure_options(a_dir.path()));
    peer c(ctx, secure_options(c_dir.path())); // whose id is claimed; never connects

    char public_key[41] = {}, secret_key[41] = {};
    REQUIRE(zmq_curve_keypair(public_key, secret_key) == 0);
    zmq::socket_t liar(ctx, zmq::socket_type::dealer);
    liar.set(zmq::sockopt::linger, 0);
    liar.set(zmq::sockopt::routing_id, c.id().hex());
    liar.set(zmq::sockopt::curve_serverkey, a.public_key());
    liar.set(zmq::sockopt::curve_publickey, std::string(public_key));
    liar.set(zmq::sockopt::curve_secretkey, std::string(secret_key));
    liar.connect(a.endpoint());
    const auto errors_before = a.stats().protocol_errors;
    send_raw(liar, hello{c.id(), "tcp://127.0.0.1:1", 0});
    send_raw(liar, file_list{0, 0, 1, {{"bait.txt", 4}}});
    // Both frames arrive (the handshake succeeds: the key itself is fine) and both are refused.
    REQUIRE(eventually(a, [&] { return a.stats().protocol_errors >= errors_before + 2; }));
    CHECK(a.peers().empty());
    CHECK_FALSE(recv_raw(liar, 200ms)); // no HELLO back
}

TEST_CASE("secure peer does not take a reconnect under a departed peer's id for that peer", "[secure][net]") {
    // B (a raw CURVE client with its own key) joins A, then its connection drops without GOODBYE. Before A evicts
    // B, someone with another key connects under B's routing id and says GOODBYE in B's name: A must refuse it,
    // because every ROUTER message must come over a connection authenticated with the key of its routing id.
    zmq::context_t ctx;
    temp_dir a_dir;
    auto options = secure_options(a_dir.path());
    options.peer_timeout = 10000ms;
    peer a(ctx, options);
    const auto curve_dealer = [&](const std::string& routing_id) {
        char public_key[41] = {}, secret_key[41] = {};
        REQUIRE(zmq_curve_keypair(public_key, secret_key) == 0);
        zmq::socket_t s(ctx, zmq::socket_type::dealer);
        s.set(zmq::sockopt::linger, 0);
        s.set(zmq::sockopt::routing_id, routing_id.empty() ? peer_id_for_key(public_key).hex() : routing_id);
        s.set(zmq::sockopt::curve_serverkey, a.public_key());
        s.set(zmq::sockopt::curve_publickey, std::string(public_key));
        s.set(zmq::sockopt::curve_secretkey, std::string(secret_key));
        s.connect(a.endpoint());
        return std::pair{std::move(s), peer_id_for_key(public_key)};
    };
    auto [b, b_id] = curve_dealer("");
    send_raw(b, hello{b_id, "tcp://127.0.0.1:1", 0});
    send_raw(b, file_list{0, 0, 1, {{"b.txt", 1}}});
    REQUIRE(eventually(a, [&] { return a.peers().size() == 1; }));
    b.close();

    const auto errors_before = a.stats().protocol_errors;
    const auto b_listed = [&] {
        const auto peers = a.peers();
        return peers.size() == 1 && peers[0].id == b_id;
    };
    // Until A's ROUTER has noticed that B's connection is gone, libzmq keeps a second connection under B's id from
    // delivering anything (ROUTER_HANDOVER 0). So the liar tries again on a fresh connection every half second.
    bool got_through = false;
    for (int attempt = 0; attempt < 16 && !got_through; ++attempt) {
        auto [liar, liar_id] = curve_dealer(b_id.hex());
        got_through = eventually(
            a,
            [&] {
                (void)liar.send(encode(goodbye{}).body, zmq::send_flags::dontwait); // never blocks
                return a.stats().protocol_errors > errors_before || !b_listed();
            },
            500ms);
    }
    REQUIRE(got_through);
    CHECK(b_listed());
}

TEST_CASE("secure keys are shown in hex and taken in hex or Z85", "[secure][net]") {
    zmq::context_t ctx;
    temp_dir a_dir, b_dir, lists;
    peer a(ctx, secure_options(a_dir.path()));
    const auto hex = key_text(a.public_key());
    CHECK(hex.size() == 64);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    // Both forms name the same key, in either case for hex; anything else is no key.
    CHECK(parse_key(hex) == a.public_key());
    std::string upper = hex;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    CHECK(parse_key(upper) == a.public_key());
    CHECK(parse_key(a.public_key()) == a.public_key());
    CHECK_FALSE(parse_key(hex.substr(1)));
    CHECK_FALSE(parse_key(hex.substr(1) + "g"));
    const auto split = split_keyed_address(hex + "@127.0.0.1:5000");
    CHECK(split.server_key == a.public_key());
    CHECK(split.address == "127.0.0.1:5000");

    // An allowlist in hex lets that key in; connecting with the hex key works.
    peer b_once(ctx, secure_options(b_dir.path()));
    const auto b_key = b_once.public_key();
    b_once.stop();
    write_file(lists / "hex.allow", key_text(b_key) + " b\n");
    CHECK(read_allowlist(lists / "hex.allow") == std::set<std::string>{b_key});
    temp_dir c_dir;
    peer c(ctx, secure_options(c_dir.path(), lists / "hex.allow"));
    peer b(ctx, secure_options(b_dir.path()));
    const auto done = b.connect(key_text(c.public_key()) + "@" + display_address(c.endpoint()));
    INFO(done.error);
    CHECK(done.ok);
}
