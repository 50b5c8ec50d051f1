// SPDX-License-Identifier: MIT
// progress_meter_test.cpp - the progress of a download on a terminal: with several holders their shares, on one line.
#include "cli/console.hpp"
#include "cli/progress_meter.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

using p2p::download_progress;
using p2p::holder_share;
using p2p::peer_id;
using p2p::cli::console;
using p2p::cli::progress_meter;

namespace {

/// What the terminal shows after the last redraw: the text after the last "erase line".
std::string last_status(const std::ostringstream& out) {
    const auto text = out.str();
    const auto at = text.rfind("\r\033[K");
    return at == std::string::npos ? text : text.substr(at + 4);
}

download_progress progress_of(std::vector<holder_share> holders) {
    return download_progress{1, "a-rather-long-file-name.iso", peer_id{1}, 450 << 20, 1000 << 20, std::move(holders)};
}

} // namespace

TEST_CASE("progress with one holder or none is the bar as before", "[progress_meter]") {
    for (const auto& holders : {std::vector<holder_share>{}, std::vector<holder_share>{{peer_id{1}, 450 << 20}}}) {
        std::ostringstream out;
        console screen(out, true, false);
        progress_meter meter(screen, true);
        meter.update(progress_of(holders));
        const auto status = last_status(out);
        CHECK(status.find("[") != std::string::npos);
        CHECK(status.find("holders") == std::string::npos);
    }
}

TEST_CASE("progress with several holders shows their shares on one line of a terminal", "[progress_meter]") {
    std::vector<holder_share> holders;
    for (std::uint64_t i = 1; i <= 6; ++i) {
        holders.push_back({peer_id{0x1000000000000000 * i + i}, i << 20});
    }
    std::ostringstream out;
    console screen(out, true, false);
    progress_meter meter(screen, true);
    meter.update(progress_of({holders[0], holders[1], holders[2]}));
    auto status = last_status(out);
    INFO(status);
    CHECK(status.find("45%") != std::string::npos);
    CHECK(status.find("from 3 holders: 1000 17%, 2000 33%, 3000 50%") != std::string::npos);
    CHECK(status.size() <= 79);
    CHECK(status.find('\n') == std::string::npos);

    meter.update(progress_of(holders));
    status = last_status(out);
    INFO(status);
    CHECK(status.find("from 6 holders: 1000 5%, ") != std::string::npos);
    CHECK(status.find(" more") != std::string::npos);
    CHECK(status.size() <= 79);
}

TEST_CASE("progress into a pipe names the holders in its occasional line", "[progress_meter]") {
    std::ostringstream out;
    console screen(out, false, false);
    progress_meter meter(screen, true);
    meter.update(progress_of({{peer_id{0x1a2b3c4d00000000}, 3}, {peer_id{0x5e6f7a8b00000000}, 1}}));
    CHECK(out.str().find(") from 2 holders: 1a2b3c4d 75%, 5e6f7a8b 25%\n") != std::string::npos);
}

TEST_CASE("progress of get --continue hashing a file already here says it is checking, not downloading",
          "[progress_meter]") {
    std::ostringstream bar;
    console terminal(bar, true, false);
    progress_meter on_terminal(terminal, true);
    on_terminal.update_check("big.iso", 300 << 20, 1000 << 20);
    const auto status = last_status(bar);
    INFO(status);
    CHECK(status.rfind("Checking big.iso ", 0) == 0);
    CHECK(status.find("30%") != std::string::npos);

    std::ostringstream lines;
    console log(lines, false, false);
    progress_meter in_a_log(log, true);
    in_a_log.update_check("big.iso", 300 << 20, 1000 << 20);
    INFO(lines.str());
    CHECK(lines.str().rfind("Checking big.iso: 300.0 MiB / 1000.0 MiB (30%", 0) == 0);
}
