// SPDX-License-Identifier: MIT
// endpoint_test.cpp - what users type ("localhost:5001") turned into ZeroMQ endpoints, and back for display.
#include "p2p/endpoint.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using namespace p2p;

namespace {

/// The one-line reason to_endpoint gives for an address; fails the test when it is accepted.
std::string reason(const std::string& address) {
    INFO("address: " << address);
    try {
        auto endpoint = to_endpoint(address);
        FAIL("accepted as " << endpoint);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("endpoint host:port becomes a tcp endpoint", "[endpoint]") {
    CHECK(to_endpoint("localhost:5001") == "tcp://localhost:5001");
    CHECK(to_endpoint("127.0.0.1:1") == "tcp://127.0.0.1:1");
    CHECK(to_endpoint("peer.example.org:65535") == "tcp://peer.example.org:65535");
    CHECK(to_endpoint("0.0.0.0:5000") == "tcp://0.0.0.0:5000");
    // Any free port, for binding.
    CHECK(to_endpoint("127.0.0.1:*") == "tcp://127.0.0.1:*");
}

TEST_CASE("endpoint tcp and inproc endpoints pass through", "[endpoint]") {
    CHECK(to_endpoint("tcp://127.0.0.1:5000") == "tcp://127.0.0.1:5000");
    CHECK(to_endpoint("inproc://peer-a") == "inproc://peer-a");
    CHECK(to_endpoint("inproc://with:colon") == "inproc://with:colon");
    CHECK(reason("inproc://") == "inproc endpoint needs a name");
}

TEST_CASE("endpoint ipv6 addresses in brackets keep their brackets", "[endpoint]") {
    CHECK(to_endpoint("[::1]:5000") == "tcp://[::1]:5000");
    CHECK(to_endpoint("tcp://[fe80::1]:7") == "tcp://[fe80::1]:7");
    CHECK(to_endpoint("[::]:*") == "tcp://[::]:*");
}

TEST_CASE("endpoint a missing host or port is refused", "[endpoint]") {
    CHECK(reason("localhost") == "expected host:port");
    CHECK(reason("5000") == "expected host:port");
    CHECK(reason(":5000") == "expected host:port");
    CHECK(reason("") == "expected host:port");
    CHECK(reason("tcp://") == "expected host:port");
}

TEST_CASE("endpoint ports outside 1..65535 or not numbers are refused", "[endpoint]") {
    for (const std::string address : {"host:0", "host:65536", "host:99999999999", "host:", "host:abc", "host:50a",
                                      "host:-1", "host:+80", "host: 80", "tcp://host:0"}) {
        CHECK(reason(address) == "port must be a number from 1 to 65535");
    }
}

TEST_CASE("endpoint hosts with spaces or control characters are refused", "[endpoint]") {
    CHECK(reason("my host:5000") == "host contains a space or control character");
    CHECK(reason("host\n:5000") == "host contains a space or control character");
    CHECK(reason("h\xc3\xa9:5000") == "host contains a space or control character");
}

TEST_CASE("endpoint display drops the tcp scheme only", "[endpoint]") {
    CHECK(display_address("tcp://127.0.0.1:5000") == "127.0.0.1:5000");
    CHECK(display_address("tcp://[::1]:5000") == "[::1]:5000");
    CHECK(display_address("inproc://peer-a") == "inproc://peer-a");
    CHECK(display_address(to_endpoint("localhost:5001")) == "localhost:5001");
}

TEST_CASE("endpoint wildcard binds are recognised", "[endpoint]") {
    CHECK(is_wildcard_endpoint("tcp://0.0.0.0:5000"));
    CHECK(is_wildcard_endpoint("tcp://*:5000"));
    CHECK(is_wildcard_endpoint("tcp://[::]:5000"));
    CHECK_FALSE(is_wildcard_endpoint("tcp://127.0.0.1:5000"));
    CHECK_FALSE(is_wildcard_endpoint("tcp://[::1]:5000"));
    CHECK_FALSE(is_wildcard_endpoint("inproc://0.0.0.0:5000"));
}

TEST_CASE("endpoint port of a tcp endpoint", "[endpoint]") {
    CHECK(endpoint_port("tcp://127.0.0.1:5000") == "5000");
    CHECK(endpoint_port("tcp://[::1]:7") == "7");
    CHECK(endpoint_port("tcp://0.0.0.0:*") == "*");
    CHECK(endpoint_port("inproc://a:b") == "");
    CHECK(endpoint_port("tcp://no-port") == "");
}

TEST_CASE("endpoint host of a tcp endpoint, as written", "[endpoint]") {
    CHECK(endpoint_host("tcp://127.0.0.1:5000") == "127.0.0.1");
    CHECK(endpoint_host("tcp://example.org:5000") == "example.org");
    CHECK(endpoint_host("tcp://[::1]:7") == "[::1]");
    CHECK(endpoint_host("tcp://no-port") == "");
    CHECK(endpoint_host("inproc://a:b") == "");
}
