// SPDX-License-Identifier: MIT
// download_pipeline_test.cpp - how `get` of several files keeps a bounded number in flight and still reports them in
// request order.
#include "cli/download_pipeline.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <optional>
#include <random>
#include <vector>

using p2p::cli::download_pipeline;
using indexes = std::vector<std::size_t>;

namespace {

/// Starts files until the pipeline says no; returns them.
indexes start_all_allowed(download_pipeline& pipeline) {
    indexes started;
    while (const auto next = pipeline.start_next()) {
        started.push_back(*next);
    }
    return started;
}

} // namespace

TEST_CASE("download pipeline starts files in order up to the limit", "[download_pipeline]") {
    download_pipeline pipeline(10, 4);
    CHECK(start_all_allowed(pipeline) == indexes{0, 1, 2, 3});
    CHECK(pipeline.in_flight() == 4);
    pipeline.finish(2);
    CHECK(start_all_allowed(pipeline) == indexes{4});
    CHECK(pipeline.in_flight() == 4);
    CHECK_FALSE(pipeline.idle());
}

TEST_CASE("download pipeline never exceeds its limit, whatever order files finish in", "[download_pipeline]") {
    for (const std::size_t limit : {1U, 3U, 16U}) {
        std::mt19937 random(static_cast<std::mt19937::result_type>(limit));
        download_pipeline pipeline(200, limit);
        indexes running = start_all_allowed(pipeline);
        indexes reported;
        std::size_t most = running.size();
        while (!running.empty()) {
            // Any of those in flight finishes next.
            const auto pick = std::uniform_int_distribution<std::size_t>(0, running.size() - 1)(random);
            pipeline.finish(running[pick]);
            running.erase(running.begin() + static_cast<std::ptrdiff_t>(pick));
            for (const auto i : pipeline.take_ready()) {
                reported.push_back(i);
            }
            for (const auto i : start_all_allowed(pipeline)) {
                running.push_back(i);
            }
            most = std::max(most, running.size());
            CHECK(pipeline.in_flight() == running.size());
            CHECK(pipeline.in_flight() <= limit);
        }
        CHECK(most == limit);
        CHECK(pipeline.idle());
        CHECK(pipeline.finished() == 200);
        indexes in_order(200);
        for (std::size_t i = 0; i < in_order.size(); ++i) {
            in_order[i] = i;
        }
        CHECK(reported == in_order);
    }
}

TEST_CASE("download pipeline holds a result back until the files before it are reported", "[download_pipeline]") {
    download_pipeline pipeline(5, 16);
    CHECK(start_all_allowed(pipeline) == indexes{0, 1, 2, 3, 4});
    pipeline.finish(3);
    pipeline.finish(1);
    CHECK(pipeline.take_ready().empty()); // file 0 is still coming
    pipeline.finish(0);
    CHECK(pipeline.take_ready() == indexes{0, 1});
    CHECK(pipeline.take_ready().empty()); // each once
    pipeline.finish(2);
    CHECK(pipeline.take_ready() == indexes{2, 3});
    pipeline.finish(4);
    CHECK(pipeline.take_ready() == indexes{4});
    CHECK(pipeline.idle());
    CHECK(pipeline.first_not_taken() == 5);
}

TEST_CASE("download pipeline goes on past a file that failed", "[download_pipeline]") {
    // The pipeline does not know outcomes: a failed file finishes like any other and the rest still start.
    download_pipeline pipeline(4, 2);
    CHECK(start_all_allowed(pipeline) == indexes{0, 1});
    pipeline.finish(0); // say it failed: not found
    CHECK(pipeline.take_ready() == indexes{0});
    CHECK(start_all_allowed(pipeline) == indexes{2});
    pipeline.finish(1);
    pipeline.finish(2);
    CHECK(start_all_allowed(pipeline) == indexes{3});
    pipeline.finish(3);
    CHECK(pipeline.take_ready() == indexes{1, 2, 3});
    CHECK(pipeline.idle());
}

TEST_CASE("download pipeline starts nothing after a stop and hands over what finished", "[download_pipeline]") {
    download_pipeline pipeline(10, 3);
    CHECK(start_all_allowed(pipeline) == indexes{0, 1, 2});
    pipeline.finish(0);
    CHECK(pipeline.take_ready() == indexes{0});
    pipeline.stop();
    CHECK_FALSE(pipeline.start_next().has_value());
    CHECK_FALSE(pipeline.idle()); // 1 and 2 are still in flight: their cancels are confirmed later
    pipeline.finish(2);
    pipeline.finish(1);
    CHECK(pipeline.idle());
    CHECK(pipeline.first_not_taken() == 1);
    CHECK(pipeline.take_finished() == indexes{1, 2});
    CHECK(pipeline.first_not_taken() == 3); // never started
}

TEST_CASE("download pipeline's take_finished does not wait for a gap", "[download_pipeline]") {
    download_pipeline pipeline(4, 4);
    CHECK(start_all_allowed(pipeline) == indexes{0, 1, 2, 3});
    pipeline.finish(1);
    pipeline.finish(3);
    pipeline.stop();
    CHECK(pipeline.take_finished() == indexes{1, 3});
    CHECK(pipeline.first_not_taken() == 0);
    pipeline.finish(0);
    CHECK(pipeline.take_ready() == indexes{0}); // 1 was taken already
    pipeline.finish(2);
    CHECK(pipeline.take_ready() == indexes{2});
    CHECK(pipeline.first_not_taken() == 4);
}

TEST_CASE("download pipeline refuses to finish a file that is not in flight", "[download_pipeline]") {
    download_pipeline pipeline(2, 1);
    CHECK_THROWS_AS(pipeline.finish(0), std::logic_error);
    CHECK(start_all_allowed(pipeline) == indexes{0});
    pipeline.finish(0);
    CHECK_THROWS_AS(pipeline.finish(0), std::logic_error);
    CHECK_THROWS_AS(pipeline.finish(7), std::logic_error);
}

TEST_CASE("download pipeline of no files is idle at once", "[download_pipeline]") {
    download_pipeline pipeline(0, 16);
    CHECK(pipeline.idle());
    CHECK_FALSE(pipeline.start_next().has_value());
    CHECK(pipeline.take_ready().empty());
}

TEST_CASE("download pipeline keeps the bytes in flight under its budget, and always lets one file go",
          "[download_pipeline]") {
    const std::uint64_t mib = 1 << 20;
    // Small files fill the count; large ones the budget; one larger than the budget goes alone.
    download_pipeline pipeline({mib, mib, 30 * mib, 40 * mib, 200 * mib, mib}, 16, 64 * mib);
    CHECK(start_all_allowed(pipeline) == indexes{0, 1, 2}); // 32 MiB; the 40 MiB file would pass 64
    pipeline.finish(2);
    CHECK(start_all_allowed(pipeline) == indexes{3}); // 42 MiB
    pipeline.finish(0);
    pipeline.finish(1);
    CHECK(start_all_allowed(pipeline).empty()); // 40 + 200 > 64
    pipeline.finish(3);
    CHECK(start_all_allowed(pipeline) == indexes{4}); // alone, past the budget
    CHECK(start_all_allowed(pipeline).empty());
    pipeline.finish(4);
    CHECK(start_all_allowed(pipeline) == indexes{5});
    pipeline.finish(5);
    CHECK(pipeline.idle());
}
