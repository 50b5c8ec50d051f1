// SPDX-License-Identifier: MIT
// address_operands_test.cpp - `get ADDR [ADDR...] NAME [NAME...]`: where get's addresses end and its names begin.
#include "cli/address_operands.hpp"
#include "cli/exit_code.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using p2p::cli::address_problem;
using p2p::cli::split_address_operands;
using p2p::cli::usage_error;
using words = std::vector<std::string>;

TEST_CASE("get's words: one address, then names", "[address_operands]") {
    const auto split = split_address_operands({"127.0.0.1:5000", "a.txt", "photos/2024"});
    CHECK(split.addresses == words{"127.0.0.1:5000"});
    CHECK(split.names == words{"a.txt", "photos/2024"});
}

TEST_CASE("get's words: every leading address, in order", "[address_operands]") {
    const auto split =
        split_address_operands({"127.0.0.1:5000", "[::1]:5001", "localhost:5002", "big.iso", "notes.txt"});
    CHECK(split.addresses == words{"127.0.0.1:5000", "[::1]:5001", "localhost:5002"});
    CHECK(split.names == words{"big.iso", "notes.txt"});
}

TEST_CASE("get's words: the first word that is not an address starts the names", "[address_operands]") {
    // A later word that looks like an address is a name: the list of addresses has ended.
    const auto split = split_address_operands({"10.0.0.7:5000", "a.txt", "10.0.0.8:5000"});
    CHECK(split.addresses == words{"10.0.0.7:5000"});
    CHECK(split.names == words{"a.txt", "10.0.0.8:5000"});
}

TEST_CASE("get's words: no address, no name or a URL is a usage error", "[address_operands]") {
    CHECK_THROWS_AS(split_address_operands({}), usage_error);
    CHECK_THROWS_WITH(split_address_operands({"a.txt"}),
                      Catch::Contains("needs a peer address") && Catch::Contains("'a.txt' is not one"));
    CHECK_THROWS_WITH(split_address_operands({"127.0.0.1:5000"}), Catch::Contains("needs a file name"));
    CHECK_THROWS_WITH(split_address_operands({"127.0.0.1:5000", "127.0.0.1:5001"}),
                      Catch::Contains("file name after the peer addresses"));
    CHECK_THROWS_WITH(split_address_operands({"http://127.0.0.1:5000/x", "f"}),
                      Catch::Contains("expected HOST:PORT, not a URL"));
    CHECK_THROWS_WITH(split_address_operands({"127.0.0.1:5000", "tcp://127.0.0.1:5001", "f"}),
                      Catch::Contains("expected HOST:PORT, not a URL"));
}

TEST_CASE("address_problem takes what ls and get took before", "[address_operands]") {
    CHECK(address_problem("127.0.0.1:5000").empty());
    CHECK(address_problem("[::1]:5000").empty());
    CHECK(address_problem("example.org:80").empty());
    CHECK_FALSE(address_problem("localhost").empty());       // no port
    CHECK_FALSE(address_problem("localhost:0").empty());     // not a real port
    CHECK_FALSE(address_problem("localhost:99999").empty()); // out of range
    CHECK_FALSE(address_problem("notes.txt").empty());
    CHECK_FALSE(address_problem("inproc://x").empty());
}
