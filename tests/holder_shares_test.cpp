// SPDX-License-Identifier: MIT
// holder_shares_test.cpp - each holder's share of a download as the progress and the result lines show it.
#include "cli/holder_shares.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using p2p::holder_share;
using p2p::peer_id;
using p2p::cli::add_holder_shares;
using p2p::cli::from_holders_text;
using p2p::cli::holder_share_list;
using p2p::cli::subtract_holder_shares;
using shares = std::vector<holder_share>;

namespace {

const peer_id a{0x1a2b3c4d00000001};
const peer_id b{0x5e6f7a8b00000002};
const peer_id c{0x9c0d1e2f00000003};

} // namespace

TEST_CASE("one holder or none: no text, the lines stay as they were", "[holder_shares]") {
    CHECK(holder_share_list({}, 80).empty());
    CHECK(holder_share_list({{a, 100}}, 80).empty());
    CHECK(from_holders_text({}).empty());
    CHECK(from_holders_text({{a, 100}}).empty());
}

TEST_CASE("several holders: short ids and shares of the bytes they sent, in join order", "[holder_shares]") {
    const shares three{{a, 40}, {b, 35}, {c, 25}};
    CHECK(holder_share_list(three, 80) == "1a2b3c4d 40%, 5e6f7a8b 35%, 9c0d1e2f 25%");
    CHECK(from_holders_text(three) == "from 3 holders (1a2b3c4d 40%, 5e6f7a8b 35%, 9c0d1e2f 25%)");
    // Where room is short (a terminal's status line), the ids are cut shorter.
    CHECK(holder_share_list(three, 80, 4) == "1a2b 40%, 5e6f 35%, 9c0d 25%");
    // Nothing sent yet: no division by zero.
    CHECK(holder_share_list({{a, 0}, {b, 0}}, 80) == "1a2b3c4d 0%, 5e6f7a8b 0%");
}

TEST_CASE("shares that do not fit are counted, and the text keeps to its width", "[holder_shares]") {
    const shares three{{a, 40}, {b, 35}, {c, 25}};
    const auto two = holder_share_list(three, 35);
    CHECK(two == "1a2b3c4d 40%, 5e6f7a8b 35%, +1 more");
    CHECK(two.size() <= 35);
    CHECK(holder_share_list(three, 25) == "1a2b3c4d 40%, +2 more");
    // The first is always shown, however narrow.
    CHECK(holder_share_list(three, 5) == "1a2b3c4d 40%, +2 more");
    for (std::size_t width = 22; width < 60; ++width) {
        INFO("width " << width);
        CHECK(holder_share_list(three, width).size() <= width);
    }
}

TEST_CASE("shares of several files add up per holder, in the order first seen", "[holder_shares]") {
    shares total;
    add_holder_shares(total, {{a, 10}, {b, 5}});
    add_holder_shares(total, {{c, 7}, {a, 1}});
    CHECK(total == shares{{a, 11}, {b, 5}, {c, 7}});
}

TEST_CASE("a file's earlier shares come out of the sum when it reports new ones", "[holder_shares]") {
    shares total;
    add_holder_shares(total, {{a, 10}, {b, 5}});
    add_holder_shares(total, {{c, 7}});
    // The first file says more now: its old shares out, its new ones in.
    subtract_holder_shares(total, {{a, 10}, {b, 5}});
    add_holder_shares(total, {{a, 20}, {b, 5}});
    CHECK(total == shares{{c, 7}, {a, 20}, {b, 5}});
    // A holder with nothing left in the sum is gone from it.
    subtract_holder_shares(total, {{c, 7}});
    CHECK(total == shares{{a, 20}, {b, 5}});
}
