// SPDX-License-Identifier: MIT
// core/piece_journal.hpp - the journal beside a partial download: the leaves of its first pieces that were checked
// against the manifest and made durable, so that a resume re-reads only the pieces after them.
//
// Layout (little-endian): a 64-byte header, "p2p-journal 1\0\0\0" (16 bytes), u64 file size, u32 piece size,
// u32 zero, the file's root (32 bytes); then one 40-byte record per piece from piece 0 on: its leaf (32 bytes) and
// the first 8 bytes of BLAKE2b(root || u64 index || leaf). The check makes a record torn by a crash (zeros, half a
// leaf) end the journal there instead of naming a wrong leaf; a header of another file makes the journal empty.
#pragma once

#include "p2p/core/storage.hpp"
#include "p2p/digest.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace p2p::core {

/// The download a journal belongs to: its records count only when its header names the same.
struct journal_key {
    std::uint64_t size = 0;
    digest root{};
    std::uint32_t piece_size = 0;
};

constexpr std::uint64_t journal_header_bytes = 64;
constexpr std::uint64_t journal_record_bytes = 40;

/// The leaves the journal holds for `key`, at most `max_pieces` of them (the complete pieces the partial file
/// holds): none when its header names another download or cannot be read, and only those before the first record
/// that is torn or does not check.
std::vector<digest> read_journal(file_handle& journal, const journal_key& key, std::uint64_t max_pieces);

/// Cuts off every record after the first `records` and makes that durable, when there are more: records of pieces
/// a resume does not trust (past the end of a shorter partial file) must not count once those pieces are rewritten.
/// Returns why not.
std::optional<std::string> trim_journal(file_handle& journal, std::uint64_t records);

/// Writes the leaves of pieces [first, first + leaves.size()) and cuts off any record after them (with first == 0,
/// the header too). Returns why not.
std::optional<std::string> write_journal(file_handle& journal, const journal_key& key, std::uint64_t first,
                                         const std::vector<digest>& leaves);

} // namespace p2p::core
