// SPDX-License-Identifier: MIT
// session_input.hpp - how fuzz_session reads its input as a sequence of multipart messages, and how fuzz_corpus
// writes seeds in that form.
//
// input   = *record                  ; at most max_records are read, the rest is ignored
// record  = control *frame           ; the control byte says who sends it and how many frames follow
// control = OCTET                    ; bits 0-1: sender 0..3; bits 2-3: frames (0->1, 1->2, 2->0, 3->3);
//                                    ; bit 4: the routing id is not a peer id at all
// frame   = length data              ; length: 2 bytes little-endian; a short input gives a short last frame
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace p2p::fuzz {

/// Senders 0..2 are DEALERs connected to the node; sender 3 is a well-formed id with no connection behind it.
inline constexpr std::uint64_t sender_ids[4] = {0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
                                                0x4444444444444444};
/// Records read from one input; keeps each run short and well below the pipe and socket HWMs.
inline constexpr std::size_t max_records = 200;
/// Files in the node's shared folder, so a REQUEST can find something.
inline constexpr const char* shared_names[2] = {"a.txt", "b.bin"};
inline constexpr std::size_t shared_sizes[2] = {100, 70000};

struct record {
    unsigned sender = 0;
    bool garbage_routing_id = false;
    std::vector<std::string> frames;
};

/// Splits an input into records; never fails.
inline std::vector<record> parse_input(std::span<const std::uint8_t> in) {
    static constexpr unsigned frame_counts[4] = {1, 2, 0, 3};
    std::vector<record> out;
    std::size_t at = 0;
    while (at < in.size() && out.size() < max_records) {
        const std::uint8_t control = in[at++];
        record r;
        r.sender = control & 3u;
        r.garbage_routing_id = (control & 0x10u) != 0;
        const unsigned frames = frame_counts[(control >> 2) & 3u];
        for (unsigned i = 0; i < frames; ++i) {
            std::size_t length = 0;
            if (at < in.size()) {
                length = in[at++];
            }
            if (at < in.size()) {
                length |= static_cast<std::size_t>(in[at++]) << 8;
            }
            length = std::min(length, in.size() - at);
            r.frames.emplace_back(reinterpret_cast<const char*>(in.data() + at), length);
            at += length;
        }
        out.push_back(std::move(r));
    }
    return out;
}

/// Appends one record (the inverse of parse_input, for writing seeds).
inline void append_record(std::string& out, unsigned sender, const std::vector<std::string>& frames) {
    static constexpr unsigned code_of_count[4] = {2, 0, 1, 3}; // 0 frames -> 2, 1 -> 0, 2 -> 1, 3 -> 3
    out.push_back(static_cast<char>((sender & 3u) | (code_of_count[frames.size() & 3u] << 2)));
    for (const auto& f : frames) {
        out.push_back(static_cast<char>(f.size() & 0xff));
        out.push_back(static_cast<char>((f.size() >> 8) & 0xff));
        out += f;
    }
}

} // namespace p2p::fuzz
