// SPDX-License-Identifier: MIT
#include "p2p/core/piece_journal.hpp"

#include "p2p/blake2b.hpp"
#include "p2p/little_endian.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace p2p::core {

namespace {

constexpr std::array<char, 16> magic = {'p', '2', 'p', '-', 'j', 'o', 'u', 'r', 'n', 'a', 'l', ' ', '2', 0, 0, 0};
constexpr std::uint64_t key_bytes = 64;    ///< The header proper: magic, size, piece size, root.
constexpr std::uint64_t block_offset = 64; ///< The durability block.
constexpr std::uint64_t block_bytes = 64;
constexpr std::size_t block_check_offset = 24; ///< After the boot id and the durable count.

std::array<std::uint8_t, key_bytes> header_of(const journal_key& key) {
    std::array<std::uint8_t, key_bytes> out{};
    std::memcpy(out.data(), magic.data(), magic.size());
    store_le<std::uint64_t>(out.data() + 16, key.size);
    store_le<std::uint32_t>(out.data() + 24, key.piece_size);
    std::memcpy(out.data() + 32, key.root.data(), key.root.size());
    return out;
}

std::array<std::uint8_t, block_bytes> block_of(const journal_key& key, const boot_id& boot, std::uint64_t durable) {
    std::array<std::uint8_t, block_bytes> out{};
    std::memcpy(out.data(), boot.data(), boot.size());
    store_le<std::uint64_t>(out.data() + boot.size(), durable);
    blake2b check;
    check.update(key.root.data(), key.root.size());
    check.update(out.data(), block_check_offset);
    const auto sum = check.final();
    std::memcpy(out.data() + block_check_offset, sum.data(), 8);
    return out;
}

std::array<std::uint8_t, journal_record_bytes> record_of(const journal_key& key, std::uint64_t index,
                                                         const digest& leaf) {
    std::array<std::uint8_t, journal_record_bytes> out{};
    std::memcpy(out.data(), leaf.data(), leaf.size());
    std::array<std::uint8_t, 8> at{};
    store_le<std::uint64_t>(at.data(), index);
    blake2b check;
    check.update(key.root.data(), key.root.size());
    check.update(at.data(), at.size());
    check.update(leaf.data(), leaf.size());
    const auto sum = check.final();
    std::memcpy(out.data() + leaf.size(), sum.data(), journal_record_bytes - leaf.size());
    return out;
}

} // namespace

journal_contents read_journal(file_handle& journal, const journal_key& key, std::uint64_t max_pieces) {
    journal_contents out;
    const auto stat = journal.stat();
    if (!stat || stat->size < journal_header_bytes) {
        return out;
    }
    std::array<std::uint8_t, journal_header_bytes> header{};
    if (journal.read_at(reinterpret_cast<std::byte*>(header.data()), header.size(), 0)) {
        return out;
    }
    const auto key_header = header_of(key);
    if (!std::equal(key_header.begin(), key_header.end(), header.begin())) {
        return out;
    }
    // A torn block counts as "nothing durable, boot unknown": only a whole one vouches for anything.
    boot_id written_on{};
    std::memcpy(written_on.data(), header.data() + block_offset, written_on.size());
    const auto durable = load_le<std::uint64_t>(header.data() + block_offset + written_on.size());
    const auto block = block_of(key, written_on, durable);
    const bool block_ok = std::equal(block.begin(), block.end(), header.begin() + block_offset);
    const bool same_boot = block_ok && written_on != boot_id{} && written_on == key.boot;
    out.durable = block_ok ? durable : 0;
    // A torn last record (the file ends inside it) is simply not counted.
    auto records = std::min<std::uint64_t>((stat->size - journal_header_bytes) / journal_record_bytes, max_pieces);
    if (!same_boot) {
        records = std::min(records, out.durable);
    }
    if (records == 0) {
        out.durable = 0;
        return out;
    }
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(records * journal_record_bytes));
    if (journal.read_at(reinterpret_cast<std::byte*>(bytes.data()), bytes.size(), journal_header_bytes)) {
        out.durable = 0;
        return out;
    }
    out.leaves.reserve(static_cast<std::size_t>(records));
    for (std::uint64_t i = 0; i < records; ++i) {
        const auto* record = bytes.data() + i * journal_record_bytes;
        digest leaf{};
        std::memcpy(leaf.data(), record, leaf.size());
        if (std::memcmp(record_of(key, i, leaf).data(), record, journal_record_bytes) != 0) {
            break; // torn or damaged: the journal ends here
        }
        out.leaves.push_back(leaf);
    }
    out.durable = std::min<std::uint64_t>(out.durable, out.leaves.size());
    return out;
}

std::optional<std::string> trim_journal(file_handle& journal, std::uint64_t records) {
    const auto stat = journal.stat();
    const auto keep = journal_header_bytes + records * journal_record_bytes;
    if (!stat || stat->size <= keep) {
        return std::nullopt;
    }
    if (auto problem = journal.truncate(keep)) {
        return problem;
    }
    return journal.sync();
}

std::optional<std::string> write_journal(file_handle& journal, const journal_key& key, std::uint64_t first,
                                         const digest* leaves, std::size_t count) {
    std::vector<std::uint8_t> bytes;
    bytes.reserve(static_cast<std::size_t>(journal_header_bytes + count * journal_record_bytes));
    if (first == 0) {
        const auto header = header_of(key);
        const auto block = block_of(key, key.boot, 0);
        bytes.insert(bytes.end(), header.begin(), header.end());
        bytes.insert(bytes.end(), block.begin(), block.end());
    }
    for (std::size_t i = 0; i < count; ++i) {
        const auto record = record_of(key, first + i, leaves[i]);
        bytes.insert(bytes.end(), record.begin(), record.end());
    }
    const auto offset = first == 0 ? 0 : journal_header_bytes + first * journal_record_bytes;
    if (auto problem = journal.write_at(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), offset)) {
        return problem;
    }
    if (first == 0) {
        // Records of an earlier version of the download, past these, must not survive.
        return journal.truncate(journal_header_bytes + count * journal_record_bytes);
    }
    return std::nullopt;
}

std::optional<std::string> mark_durable(file_handle& journal, const journal_key& key, std::uint64_t durable) {
    const auto block = block_of(key, key.boot, durable);
    return journal.write_at(reinterpret_cast<const std::byte*>(block.data()), block.size(), block_offset);
}

} // namespace p2p::core
