// SPDX-License-Identifier: MIT
// core/piece_journal.hpp - the journal beside a partial download: the leaves of its first pieces, each checked
// against the manifest, so that a resume re-reads only the pieces after them.
//
// Layout (little-endian): a 64-byte header, "p2p-journal 2\0\0\0" (16 bytes), u64 file size, u32 piece size,
// u32 zero, the file's root (32 bytes); a 64-byte durability block: the boot id of the system that wrote the
// records (16 bytes, /proc/sys/kernel/random/boot_id), u64 durable (the first `durable` pieces' bytes were synced to
// disk before this was written), the first 8 bytes of BLAKE2b(root || boot id || u64 durable), 32 zero bytes; then
// one 40-byte record per piece from piece 0 on: its leaf (32 bytes) and the first 8 bytes of
// BLAKE2b(root || u64 index || leaf).
//
// A record is written as soon as its piece is checked, before that piece's bytes are durable: a process killed
// with -9 leaves its written bytes in the page cache, so on the same boot every record that checks is true, and a
// resume re-reads at most the piece that was being received. After a reboot (another boot id) only the first
// `durable` records count: the bytes of later ones may not have reached the disk. The checks make a record or block
// torn by a crash end the journal (or count as durable 0) instead of vouching for a wrong leaf; a header of another
// file makes the journal empty.
#pragma once

#include "p2p/core/storage.hpp"
#include "p2p/digest.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace p2p::core {

/// The download a journal belongs to: its records count only when its header names the same. `boot` is this
/// system's boot now.
struct journal_key {
    std::uint64_t size = 0;
    digest root{};
    std::uint32_t piece_size = 0;
    boot_id boot{};
};

constexpr std::uint64_t journal_header_bytes = 128; ///< The header and the durability block.
constexpr std::uint64_t journal_record_bytes = 40;

/// What a journal vouches for.
struct journal_contents {
    std::vector<digest> leaves; ///< The leaves of pieces [0, leaves.size()) that may be trusted.
    std::uint64_t durable = 0;  ///< Of those, the first `durable` have their bytes synced to disk.
};

/// What the journal holds for `key`, at most `max_pieces` leaves (the complete pieces the partial file holds):
/// nothing when its header names another download or cannot be read; only the records before the first one that
/// is torn or does not check; and when the records were written on another boot than key.boot (or either is
/// unknown), only the durable ones.
journal_contents read_journal(file_handle& journal, const journal_key& key, std::uint64_t max_pieces);

/// Cuts off every record after the first `records` and makes that durable, when there are more: records of pieces
/// a resume does not trust (past the end of a shorter partial file) must not count once those pieces are rewritten.
/// Returns why not.
std::optional<std::string> trim_journal(file_handle& journal, std::uint64_t records);

/// Writes the leaves of pieces [first, first + count) (no sync: see the layout). With first == 0 it starts the
/// journal afresh: the header, a durability block of key.boot and 0, and nothing after the records. Returns why
/// not.
std::optional<std::string> write_journal(file_handle& journal, const journal_key& key, std::uint64_t first,
                                         const digest* leaves, std::size_t count);

/// Writes the durability block: the first `durable` pieces' bytes are on disk (the caller synced them first), and
/// the records are of boot key.boot. Returns why not.
std::optional<std::string> mark_durable(file_handle& journal, const journal_key& key, std::uint64_t durable);

} // namespace p2p::core
