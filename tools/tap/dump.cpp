// SPDX-License-Identifier: MIT
// dump.cpp - `p2p-tap dump FILE [--json]`: one line per recorded message, decoded by the project's codec.
#include "message_fields.hpp"
#include "tap.hpp"

#include "p2p/capture.hpp"
#include "p2p/codec.hpp"
#include "p2p/file_name.hpp"

#include <ctime>
#include <iostream>
#include <memory>
#include <string>

namespace p2p::tap {

namespace {

struct dump_options {
    std::string file;
    bool json = false;
};

/// Bytes of an undecodable body shown in its line: enough to recognise it, bounded whatever its size.
constexpr std::size_t malformed_bytes_shown = 32;

/// "2024-05-01T12:00:00.123456Z": UTC, so captures from two machines line up.
std::string iso_time(std::int64_t time_us) {
    const std::time_t seconds = static_cast<std::time_t>(time_us / 1'000'000);
    const auto micros = static_cast<long>(time_us % 1'000'000);
    std::tm tm{};
    if (::gmtime_r(&seconds, &tm) == nullptr) {
        return std::to_string(time_us) + "us";
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, micros < 0 ? 0L : micros);
    return buf;
}

/// 8 hex digits, or dashes while the id was not known yet.
std::string short_id(peer_id id) {
    return id == peer_id{} ? "--------" : id.short_hex();
}

void print_text(const capture_record& rec, decode_result& decoded) {
    const bool sent = rec.direction == capture_direction::sent;
    std::string line = iso_time(rec.time_us) + (sent ? " sent " : " recv ") + short_id(rec.local) +
                       (sent ? " -> " : " <- ") + short_id(rec.remote) + " ";
    if (decoded) {
        const auto& msg = decoded.value();
        const auto fields = fields_text(fields_of(msg));
        line += std::string(to_string(type_of(msg))) + (fields.empty() ? "" : " " + fields);
    } else {
        line += "MALFORMED " + escape_for_terminal(decoded.error().what()) + " [" + std::to_string(rec.body.size()) +
                " bytes: " + hex_bytes(rec.body.data(), rec.body.size(), malformed_bytes_shown) + "]";
        if (rec.has_payload) {
            line += " + payload of " + std::to_string(rec.payload_size) + " bytes";
        }
    }
    if (rec.dropped) {
        line += " (dropped by relay)";
    }
    std::cout << line << "\n";
}

void print_json(const capture_record& rec, decode_result& decoded) {
    std::string line = "{\"offset\":" + std::to_string(rec.offset) + ",\"time_us\":" + std::to_string(rec.time_us) +
                       ",\"time\":" + json_string(iso_time(rec.time_us)) +
                       ",\"direction\":" + json_string(to_string(rec.direction)) +
                       ",\"local\":" + json_string(rec.local.hex()) + ",\"remote\":" + json_string(rec.remote.hex()) +
                       ",\"dropped\":" + (rec.dropped ? "true" : "false");
    if (rec.has_payload) {
        line += ",\"payload_bytes\":" + std::to_string(rec.payload_size);
    }
    if (decoded) {
        const auto& msg = decoded.value();
        line += ",\"type\":" + json_string(to_string(type_of(msg))) + ",\"fields\":" + fields_json(fields_of(msg));
    } else {
        line += ",\"type\":\"MALFORMED\",\"error\":" + json_string(decoded.error().what()) +
                ",\"body_bytes\":" + std::to_string(rec.body.size()) +
                ",\"body_hex\":" + json_string(hex_bytes(rec.body.data(), rec.body.size(), malformed_bytes_shown));
    }
    std::cout << line << "}\n";
}

int run_dump(const dump_options& opts) {
    capture_reader reader(opts.file);
    std::uint64_t records = 0;
    while (auto rec = reader.next()) {
        ++records;
        auto decoded = decode_record(*rec);
        if (opts.json) {
            print_json(*rec, decoded);
        } else {
            print_text(*rec, decoded);
        }
    }
    if (const auto& tail = reader.tail()) {
        if (opts.json) {
            std::cout << "{\"truncated\":true,\"offset\":" << tail->offset
                      << ",\"reason\":" << json_string(tail->reason) << ",\"records\":" << records << "}\n";
        } else {
            std::cout << "-- capture ends early at byte " << tail->offset << ": " << tail->reason << "; " << records
                      << " whole records shown\n";
        }
    }
    std::cout.flush();
    // A cut capture is still dumped in full and is not an error: it is what a killed recorder leaves.
    return std::cout ? exit_ok : exit_failure;
}

} // namespace

subcommand setup_dump(CLI::App& app) {
    auto opts = std::make_shared<dump_options>();
    auto* sub = app.add_subcommand("dump", "Print a capture, one decoded message per line");
    sub->add_option("file", opts->file, "Capture file")->required();
    sub->add_flag("--json", opts->json, "One JSON object per line instead of text");
    return {sub, [opts] {
                return run_dump(*opts);
            }};
}

} // namespace p2p::tap
