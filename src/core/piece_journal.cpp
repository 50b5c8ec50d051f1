// SPDX-License-Identifier: MIT
#include "p2p/core/piece_journal.hpp"

#include "p2p/blake2b.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace p2p::core {

namespace {

constexpr std::array<char, 16> magic = {'p', '2', 'p', '-', 'j', 'o', 'u', 'r', 'n', 'a', 'l', ' ', '1', 0, 0, 0};

void put_le(std::uint8_t* at, std::uint64_t value, std::size_t bytes) {
    for (std::size_t i = 0; i < bytes; ++i) {
        at[i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
}

std::array<std::uint8_t, journal_header_bytes> header_of(const journal_key& key) {
    std::array<std::uint8_t, journal_header_bytes> out{};
    std::memcpy(out.data(), magic.data(), magic.size());
    put_le(out.data() + 16, key.size, 8);
    put_le(out.data() + 24, key.piece_size, 4);
    std::memcpy(out.data() + 32, key.root.data(), key.root.size());
    return out;
}

std::array<std::uint8_t, journal_record_bytes> record_of(const journal_key& key, std::uint64_t index,
                                                         const digest& leaf) {
    std::array<std::uint8_t, journal_record_bytes> out{};
    std::memcpy(out.data(), leaf.data(), leaf.size());
    std::array<std::uint8_t, 8> at{};
    put_le(at.data(), index, 8);
    blake2b check;
    check.update(key.root.data(), key.root.size());
    check.update(at.data(), at.size());
    check.update(leaf.data(), leaf.size());
    const auto sum = check.final();
    std::memcpy(out.data() + leaf.size(), sum.data(), journal_record_bytes - leaf.size());
    return out;
}

} // namespace

std::vector<digest> read_journal(file_handle& journal, const journal_key& key, std::uint64_t max_pieces) {
    std::vector<digest> leaves;
    const auto stat = journal.stat();
    if (!stat || stat->size < journal_header_bytes) {
        return leaves;
    }
    std::array<std::uint8_t, journal_header_bytes> header{};
    if (journal.read_at(reinterpret_cast<std::byte*>(header.data()), header.size(), 0) || header != header_of(key)) {
        return leaves;
    }
    // A torn last record (the file ends inside it) is simply not counted.
    const auto records =
        std::min<std::uint64_t>((stat->size - journal_header_bytes) / journal_record_bytes, max_pieces);
    if (records == 0) {
        return leaves;
    }
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(records * journal_record_bytes));
    if (journal.read_at(reinterpret_cast<std::byte*>(bytes.data()), bytes.size(), journal_header_bytes)) {
        return leaves;
    }
    leaves.reserve(static_cast<std::size_t>(records));
    for (std::uint64_t i = 0; i < records; ++i) {
        const auto* record = bytes.data() + i * journal_record_bytes;
        digest leaf{};
        std::memcpy(leaf.data(), record, leaf.size());
        if (std::memcmp(record_of(key, i, leaf).data(), record, journal_record_bytes) != 0) {
            break; // torn or damaged: the journal ends here
        }
        leaves.push_back(leaf);
    }
    return leaves;
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
                                         const std::vector<digest>& leaves) {
    std::vector<std::uint8_t> bytes;
    bytes.reserve(static_cast<std::size_t>(journal_header_bytes + leaves.size() * journal_record_bytes));
    if (first == 0) {
        const auto header = header_of(key);
        bytes.insert(bytes.end(), header.begin(), header.end());
    }
    for (std::size_t i = 0; i < leaves.size(); ++i) {
        const auto record = record_of(key, first + i, leaves[i]);
        bytes.insert(bytes.end(), record.begin(), record.end());
    }
    const auto end = journal_header_bytes + (first + leaves.size()) * journal_record_bytes;
    const auto offset = first == 0 ? 0 : journal_header_bytes + first * journal_record_bytes;
    if (auto problem = journal.write_at(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), offset)) {
        return problem;
    }
    // Records after these (of pieces found bad and fetched again since) must not survive.
    return journal.truncate(end);
}

} // namespace p2p::core
