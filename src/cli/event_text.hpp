// SPDX-License-Identifier: MIT
// event_text.hpp - the lines users read about events and results, in the original peer's words where it had some.
//
// Everything that came from another peer (names, addresses, error reasons) goes through escape_for_terminal, so a
// hostile name cannot move the cursor, clear the screen or hide earlier lines.
#pragma once

#include "p2p/event.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::cli {

/// "New peer <id> joined with <n> files", "Peer <id> is not reachable, removing"...; nullopt for events that are
/// not worth a line of their own (download_progress).
std::optional<std::string> describe(const event& e);

/// "Connected to peer <id> at <host>:<port> (<n> files available)" or "Connection error: <reason>".
std::string describe_connect(const connect_finished& done);

/// "Got file <name> from peer <id> (<size> bytes in <s> s, <rate>)", or the one-line reason it failed
/// ("No peer has <name>", "Peer error: File not found"...).
std::string describe_download(const download_finished& done);

/// "Limited by the round trip: 50.2 ms with a window of 1.0 MiB; ..." (what bounded a download's rate, with its
/// evidence), or "Limit: too short to tell".
std::string describe_limit(const download_finished& done);

/// `get --explain`: the figures stage by stage, one line each, after a header line.
std::vector<std::string> explain_lines(const download_finished& done);
/// "Cancelled <name> at <held> of <size>; <to_resume>" for a download the user cancelled (its partial file stays).
/// `size` is the file's size when known (done.size is 0 when the cancel came before the other peer's offer).
std::string describe_cancelled(const download_finished& done, std::uint64_t size, std::string_view to_resume);
/// "Finishing 1 upload: big.bin to peer 1a2b3c4d (17.4 MiB of 30 MiB); press Ctrl-C again to stop now".
std::string describe_stop_pending(const stop_pending& pending);

/// "Web interface: http://127.0.0.1:8080/?token=...": the line scripts and people read the page's address from.
std::string web_line(const std::string& url);

/// Bytes per second of a finished download (over the network: a resumed prefix is not counted).
double download_rate(const download_finished& done);

} // namespace p2p::cli
