// SPDX-License-Identifier: MIT
// identity_test.cpp - a peer's id kept in its folder: the same after a restart, private, never shared, and a
// damaged id file refused rather than replaced.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace p2p;
using namespace p2p::test;

namespace {

peer_options keeping(const fs::path& folder) {
    auto o = options_in<tcp>(folder);
    o.keep_id = true;
    return o;
}

unsigned mode_of(const fs::path& path) {
    struct ::stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

} // namespace

TEST_CASE("identity a peer that keeps its id has the same id after a restart", "[identity][net]") {
    zmq::context_t ctx;
    temp_dir dir;
    write_file(dir / "a.txt", "a");
    peer_id first;
    {
        peer p(ctx, keeping(dir.path()));
        first = p.id();
        p.stop();
    }
    peer again(ctx, keeping(dir.path()));
    CHECK(again.id() == first);
    CHECK(mode_of(dir / ".p2p") == 0700);
    CHECK(mode_of(dir / ".p2p" / "id") == 0600);

    // The id file is never listed, and asking for it by name gets nothing.
    temp_dir other_dir;
    peer other(ctx, options_in<tcp>(other_dir.path()));
    REQUIRE(other.connect(again.endpoint()).ok);
    const auto peers = other.peers();
    REQUIRE(peers.size() == 1);
    CHECK(peers[0].id == first);
    REQUIRE(peers[0].files.size() == 1);
    CHECK(peers[0].files[0].name == "a.txt");
    for (const auto* name : {".p2p", ".p2p/id", "id"}) {
        INFO(name);
        CHECK_FALSE(other.download({name, first.hex(), {}, {}}).ok);
    }
    CHECK_FALSE(fs::exists(other_dir / "id"));
}

TEST_CASE("identity a peer without keep_id takes a new id each start and writes nothing", "[identity][net]") {
    zmq::context_t ctx;
    temp_dir dir;
    peer_id first;
    {
        peer p(ctx, options_in<tcp>(dir.path()));
        first = p.id();
    }
    peer again(ctx, options_in<tcp>(dir.path()));
    CHECK(again.id() != first);
    CHECK_FALSE(fs::exists(dir / ".p2p"));
}

TEST_CASE("identity a damaged id file is refused and left as it is", "[identity]") {
    zmq::context_t ctx;
    temp_dir dir;
    fs::create_directory(dir / ".p2p");
    const auto bad = GENERATE(as<std::string>{}, "", "not an id\n", "0123456789abcdeg\n", "0000000000000000\n",
                              "0123456789ABCDEF\n", "0123456789abcdef0\n");
    INFO(bad);
    write_file(dir / ".p2p" / "id", bad);
    CHECK_THROWS_WITH(peer(ctx, keeping(dir.path())), Catch::Contains(".p2p/id: is not a peer id"));
    CHECK(read_file(dir / ".p2p" / "id") == bad);
}
