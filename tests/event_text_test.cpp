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
