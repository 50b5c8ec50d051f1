// SPDX-License-Identifier: MIT
// event_text_test.cpp - the lines the menu and `get` print about a download.
#include "cli/event_text.hpp"

#include <catch2/catch.hpp>

using p2p::download_finished;
using p2p::cli::describe_cancelled;

TEST_CASE("defect: a cancelled download counted bytes it threw away as held", "[cli]") {
    // Under a rate limit with many files in flight, `get` printed "Cancelled many/f000.bin at 96.0 KiB of 64.0 KiB":
    // the bytes that came twice (a resent window) counted as held.
    download_finished done;
    done.name = "f000.bin";
    done.size = 64 * 1024;
    done.bytes_received = 96 * 1024;
    done.wasted = 48 * 1024;
    CHECK(describe_cancelled(done, done.size, "run it again") ==
          "Cancelled f000.bin at 48.0 KiB of 64.0 KiB; run it again");
    // Resumed bytes are held too.
    done.resumed_from = 8 * 1024;
    CHECK(describe_cancelled(done, done.size, "run it again") ==
          "Cancelled f000.bin at 56.0 KiB of 64.0 KiB; run it again");
    // Before the size is known.
    download_finished early;
    early.name = "f.bin";
    CHECK(describe_cancelled(early, 0, "run it again") == "Cancelled f.bin before it started; run it again");
}

TEST_CASE("defect: the menu calls a connect to a peer it lists already a connection error", "[cli]") {
    // docs/usage.md: "nothing is wrong, the peer is listed", yet choice 4 printed "Connection error: already connected
    // to peer 4b9b7aff (at 192.168.1.20:5000)" for a peer that discovery or exchange had connected first.
    using p2p::cli::describe_connect;
    p2p::connect_finished known{1,
                                "localhost:5000",
                                false,
                                true,
                                p2p::peer_id(0x4b9b7aff00000000),
                                1,
                                "already connected to peer 4b9b7aff (at 192.168.1.20:5000)"};
    CHECK(describe_connect(known) == "Already connected to peer 4b9b7aff (at 192.168.1.20:5000)");
    // A connect to this peer itself is refused as before, and so is any connect that failed.
    p2p::connect_finished self{2, "localhost:5000", false, true, p2p::peer_id{}, 0, "localhost:5000 is this peer"};
    CHECK(describe_connect(self) == "Connection error: localhost:5000 is this peer");
    p2p::connect_finished failed{3,
                                 "localhost:5001",
                                 false,
                                 false,
                                 p2p::peer_id{},
                                 0,
                                 "no answer from localhost:5001 within 2000 ms (is a peer running there?)"};
    CHECK(describe_connect(failed) ==
          "Connection error: no answer from localhost:5001 within 2000 ms (is a peer running there?)");
}
