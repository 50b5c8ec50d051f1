// SPDX-License-Identifier: MIT
// json.hpp - the one JSON form of each thing p2p-peer prints or serves as JSON: files, peers, failures, events and the
// results of `get --json` and `hash --json`. `--json` and the web API (docs/api.md) both use these, so a script sees
// the same objects.
#pragma once

#include "p2p/event.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace p2p {
struct manifest;
} // namespace p2p

namespace p2p::cli {

/// Objects keep their keys in the order they are written (the documented order), not sorted.
using json = nlohmann::ordered_json;

/// Compact JSON on one line. Bytes that are not UTF-8 become U+FFFD (names from other peers are checked, but this
/// must hold for any input), so the output always parses.
std::string dump(const json& value);

/// {"name": string, "size": bytes}.
json file_json(const file_entry& file);
/// An array of file_json.
json files_json(const std::vector<file_entry>& files);
/// {"peer": 16 hex digits, "address": "host:port", "outbound": bool, "files": [file_json...]}.
json peer_json(const peer_info& info);
/// {"address", "count", "last_error", "last_time": ISO 8601 UTC}.
json failure_json(const failure_record& failure);
/// "none", "exists", "not_found"...: the download_errc as a word.
std::string_view download_code_name(download_errc code);

/// {"event": "<kind>", ...}: the JSON form of every event (docs/api.md lists each one). `serve --json` prints these
/// lines and the web API sends them as server-sent events.
json event_json(const event& e);

/// {"event": "started", "peer", "address", "addresses", "public_key" (null without --secure)}: the first line of
/// `serve --json`. `addresses` are those another machine can use, as the human "Reachable at" line lists them.
json started_json(peer_id id, const std::string& address, const std::vector<std::string>& addresses,
                  const std::string& public_key);
/// {"event": "stopping"}: the peer was asked to stop ("Shutting down peer...").
json stopping_json();
/// {"event": "stopped", "peer"}: the peer has left ("Peer <id> stopped"), the last line or event.
json stopped_json(peer_id id);

/// What `get --json` prints: {"name", "size", "seconds", "rate", "peer"} (docs/usage.md).
json download_result_json(const download_finished& done);

/// What `get --json` prints for each file that arrived: {"name", "saved_as", "ok": true, "size", "seconds", "rate",
/// "peer", "resumed_from", "rechecked", "holders": [{"peer", "bytes"}...], "wasted"} (docs/usage.md). `saved_as` is
/// the name in the download folder (`-o`, else `name`).
json get_file_json(const download_finished& done, const std::string& saved_as);
/// What `get --json-progress` prints for each download_progress: {"event": "progress", "name", "bytes", "size",
/// "holders": [{"peer", "bytes"}...]}.
json get_progress_json(const download_progress& progress);
/// ... and for each file that did not: {"name", "saved_as", "ok": false, "error", "code"}.
json get_failed_json(const std::string& name, const std::string& saved_as, std::string_view error,
                     std::string_view code);
/// The last line of `get --json` with several names: {"requested", "got", "failed": [names that did not arrive]}.
/// A file `get --continue` found already here with the listed content, and did not fetch.
json get_already_here_json(const std::string& name, const std::string& saved_as, std::uint64_t size);
json get_summary_json(std::size_t requested, std::size_t got, const std::vector<std::string>& failed);

/// {"error": one line, "code": a word ("not_found", "exists", "connect", "cancelled"...)}: a failed `get --json`.
json error_json(std::string_view error, std::string_view code);

/// What `hash --json` prints for one file: {"file", "root" (64 hex digits), "size", "piece_size", "pieces",
/// "seconds"} (docs/usage.md). `file` is the path as given.
json hash_result_json(const std::string& file, const manifest& m, double seconds);

} // namespace p2p::cli
