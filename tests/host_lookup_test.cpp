// SPDX-License-Identifier: MIT
// Host names resolved off the loop thread: what comes back, and that the loop learns of it through its fd.
#include "p2p/host_lookup.hpp"

#include <catch2/catch.hpp>

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <vector>

using namespace p2p;

namespace {

/// The answers of one host_lookup as they come. take() hands over every answer that is ready, so answers of other
/// tags read while waiting for one are kept for the next call (dropping them made a test wait for an answer it had
/// already read and thrown away).
struct answers {
    host_lookup& lookups;
    std::vector<host_lookup::answer> unclaimed;

    /// Waits (polling the notify fd, deadline 10 s) for the answer tagged `tag`.
    std::optional<host_lookup::answer> wait_for(std::uint64_t tag) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (true) {
            const auto found = std::find_if(unclaimed.begin(), unclaimed.end(),
                                            [&](const host_lookup::answer& got) { return got.tag == tag; });
            if (found != unclaimed.end()) {
                auto kept = *found;
                unclaimed.erase(found);
                return kept;
            }
            if (std::chrono::steady_clock::now() >= until) {
                return std::nullopt;
            }
            ::pollfd fd{lookups.notify_fd(), POLLIN, 0};
            if (::poll(&fd, 1, 100) > 0) {
                for (auto& taken : lookups.take()) {
                    unclaimed.push_back(std::move(taken));
                }
            }
        }
    }
};

/// The answer tagged `tag` of a lookup that has no other answer to wait for.
std::optional<host_lookup::answer> answer_for(host_lookup& lookups, std::uint64_t tag) {
    return answers{lookups, {}}.wait_for(tag);
}

} // namespace

TEST_CASE("host lookup: a known name comes back numeric, an unknown one with the resolver's words", "[lookup]") {
    host_lookup lookups;
    lookups.start(1, "localhost");
    lookups.start(2, "nosuch.invalid");
    answers both{lookups, {}};
    const auto known = both.wait_for(1);
    REQUIRE(known);
    CHECK(known->error.empty());
    CHECK(host_lookup::is_numeric(known->address));
    const auto unknown = both.wait_for(2);
    REQUIRE(unknown);
    CHECK(unknown->address.empty());
    CHECK_FALSE(unknown->error.empty());
}

TEST_CASE("defect: a host name that is also an IPv6 address sends the connect where no peer listens", "[lookup]") {
    // The peer's sockets speak IPv4 (no ZMQ_IPV6), as libzmq's own resolution for them did. Where /etc/hosts maps
    // "localhost" to ::1 as well, an answer of any family could be [::1] first, and the connect went there. Asked for a
    // name that has only an IPv6 address ("::1" itself, which the resolver answers without any hosts file), the lookup
    // must say it has no address to use, not hand back [::1].
    host_lookup lookups;
    lookups.start(1, "::1");
    const auto answer = answer_for(lookups, 1);
    REQUIRE(answer);
    CHECK(answer->address.empty());
    CHECK_FALSE(answer->error.empty());
}

TEST_CASE("host lookup: numeric hosts need none", "[lookup]") {
    CHECK(host_lookup::is_numeric("127.0.0.1"));
    CHECK(host_lookup::is_numeric("::1"));
    CHECK(host_lookup::is_numeric("[::1]"));
    CHECK(host_lookup::is_numeric("[2001:db8::1]"));
    // A link-local address with its interface, as discovery dials it: libzmq reads the scope, nothing to resolve.
    CHECK(host_lookup::is_numeric("[fe80::1%eth0]"));
    CHECK(host_lookup::is_numeric("fe80::1%3"));
    CHECK_FALSE(host_lookup::is_numeric("%eth0"));
    CHECK_FALSE(host_lookup::is_numeric("example.org%eth0"));
    CHECK_FALSE(host_lookup::is_numeric("localhost"));
    CHECK_FALSE(host_lookup::is_numeric("1.2.3"));
    CHECK_FALSE(host_lookup::is_numeric("[]"));
    CHECK_FALSE(host_lookup::is_numeric(""));
}

TEST_CASE("host lookup: answers nobody takes any more do no harm", "[lookup]") {
    // The object goes while its threads still resolve: they finish on their own.
    for (int i = 0; i < 20; ++i) {
        host_lookup lookups;
        lookups.start(1, "localhost");
    }
    host_lookup last;
    last.start(7, "localhost");
    CHECK(answer_for(last, 7));
}
