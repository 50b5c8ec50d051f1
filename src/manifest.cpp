// SPDX-License-Identifier: MIT
// manifest.cpp - piece size rule, file root, building a manifest from a file, and its on-disk form.
#include "p2p/manifest.hpp"

#include "p2p/blake3.hpp"
#include "p2p/little_endian.hpp"
#include "p2p/merkle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace p2p {

namespace {

constexpr std::string_view magic_line = "p2p-manifest 1";
constexpr std::size_t page_size = 4096;

bool is_valid_piece_size(std::uint64_t piece_size) {
    return std::has_single_bit(piece_size) && piece_size >= min_piece_size && piece_size <= max_piece_size;
}

/// A page-aligned buffer (the kernel copies into it a little faster), freed with free().
struct free_deleter {
    void operator()(std::uint8_t* p) const { std::free(p); }
};
using aligned_buffer = std::unique_ptr<std::uint8_t[], free_deleter>;

aligned_buffer allocate_aligned(std::size_t size) {
    // aligned_alloc needs a multiple of the alignment.
    const std::size_t rounded = (size + page_size - 1) / page_size * page_size;
    auto* p = static_cast<std::uint8_t*>(std::aligned_alloc(page_size, rounded));
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return aligned_buffer(p);
}

/// Reads exactly size bytes at offset, retrying short reads and EINTR.
void read_exactly(const read_at_function& read_at, std::uint8_t* into, std::size_t size, std::uint64_t offset) {
    while (size > 0) {
        const ssize_t n = read_at(into, size, offset);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::runtime_error("read failed at byte " + std::to_string(offset) + ": " +
                                     std::generic_category().message(errno));
        }
        if (n == 0) {
            throw std::runtime_error("the file ended at byte " + std::to_string(offset) +
                                     ", before its size: it changed while being hashed");
        }
        into += n;
        size -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
}

/// Reads the line that starts at pos (without its '\n') and moves pos past it; nullopt when there is no '\n'.
std::optional<std::string_view> take_line(std::string_view bytes, std::size_t& pos) {
    const auto end = bytes.find('\n', pos);
    if (end == std::string_view::npos) {
        return std::nullopt;
    }
    const auto line = bytes.substr(pos, end - pos);
    pos = end + 1;
    return line;
}

/// The value of "<name> <decimal>", in canonical form only: digits, no sign, no leading zero, no overflow.
std::optional<std::uint64_t> number_field(std::optional<std::string_view> line, std::string_view name) {
    if (!line || !line->starts_with(name) || line->size() <= name.size() + 1 || (*line)[name.size()] != ' ') {
        return std::nullopt;
    }
    const auto digits = line->substr(name.size() + 1);
    if (digits.size() > 1 && digits[0] == '0') {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return value;
}

/// Where a file's holes are (lseek SEEK_DATA / SEEK_HOLE): ranges that read as zeros, so they need not be read. A
/// 100 GiB sparse VM image then costs its data, not 100 GiB of zero pages made and copied by the kernel. Filesystems
/// without holes report the whole file as data, and any lseek error turns the finder off: everything is read.
class hole_finder {
public:
    hole_finder(int fd, std::uint64_t size) : fd_(fd), size_(size), saved_offset_(::lseek(fd, 0, SEEK_CUR)) {}
    /// lseek moves the descriptor's offset: put it back for whoever else reads with read(2).
    ~hole_finder() {
        if (saved_offset_ >= 0) {
            ::lseek(fd_, saved_offset_, SEEK_SET);
        }
    }
    hole_finder(const hole_finder&) = delete;
    hole_finder& operator=(const hole_finder&) = delete;

    /// The end of the hole that holds byte `offset` (bytes [offset, end) read as zeros; end <= size), or offset
    /// itself when that byte is data or unknown.
    std::uint64_t zeros_until(std::uint64_t offset) {
        if (!works_) {
            return offset;
        }
        if (offset < from_ || offset >= to_) {
            probe(offset);
        }
        return works_ && hole_ ? to_ : offset;
    }

private:
    /// Finds the extent (hole or data) that starts at or covers offset: two lseeks per extent, so a dense file
    /// costs two system calls in all.
    void probe(std::uint64_t offset) {
        from_ = offset;
        const off_t data = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
        if (data < 0) {
            const off_t end = errno == ENXIO ? ::lseek(fd_, 0, SEEK_END) : -1;
            // ENXIO: no data from offset to the end of the file, one hole. Past the end (the file shrank), read, so
            // that pread finds the end and the build fails as it must.
            works_ = end >= 0;
            hole_ = static_cast<std::uint64_t>(end) > offset;
            to_ = hole_ ? std::min(size_, static_cast<std::uint64_t>(end)) : UINT64_MAX;
            return;
        }
        if (static_cast<std::uint64_t>(data) > offset) {
            hole_ = true;
            to_ = std::min(size_, static_cast<std::uint64_t>(data));
            return;
        }
        const off_t hole = ::lseek(fd_, static_cast<off_t>(offset), SEEK_HOLE);
        works_ = hole > data;
        hole_ = false;
        to_ = static_cast<std::uint64_t>(hole);
    }

    int fd_;
    std::uint64_t size_; ///< The size being hashed: no hole reaches past it.
    off_t saved_offset_; ///< The descriptor's offset before, restored after.
    bool works_ = true;  ///< False after an lseek error: read everything.
    std::uint64_t from_ = 0;
    std::uint64_t to_ = 0; ///< [from_, to_) is one extent, a hole when hole_...
    bool hole_ = false;    ///< ...data otherwise.
};

std::optional<manifest> build(const read_at_function& read_at, hole_finder* holes, std::uint64_t size,
                              const manifest_build_options& options) {
    if (size > max_file_size) {
        throw std::length_error("file of " + std::to_string(size) + " bytes: over the 64 TiB a manifest covers");
    }
    const std::uint32_t piece_size = options.piece_size == 0 ? piece_size_for(size) : options.piece_size;
    if (!is_valid_piece_size(piece_size)) {
        throw std::invalid_argument("piece size " + std::to_string(piece_size) +
                                    " is not a power of two from 1 KiB to 2 GiB");
    }
    if (!std::has_single_bit(options.block_size) || options.block_size < page_size) {
        throw std::invalid_argument("block size " + std::to_string(options.block_size) +
                                    " is not a power of two of at least 4 KiB");
    }
    const std::uint64_t pieces = piece_count_for(size, piece_size);
    if (pieces > max_piece_count) {
        throw std::length_error(std::to_string(pieces) + " pieces of " + std::to_string(piece_size) +
                                " bytes: over the 32768 a manifest may have");
    }

    manifest m;
    m.size = size;
    m.piece_size = piece_size;
    m.leaves.reserve(pieces); // the only allocation that grows with the file: no allocation per piece
    // A small file gets a buffer of its own size (rounded to a page), not a whole block.
    const std::size_t buffer_size = static_cast<std::size_t>(std::min<std::uint64_t>(options.block_size, size));
    const auto buffer = allocate_aligned(std::max<std::size_t>(buffer_size, 1));
    bool buffer_is_zeros = false;
    const auto zero_buffer = [&] {
        if (!buffer_is_zeros) {
            std::memset(buffer.get(), 0, buffer_size);
            buffer_is_zeros = true;
        }
    };
    std::optional<digest> zero_piece_leaf; // leaf() of a whole piece of zeros, once a hole holds one

    leaf_hasher leaf;
    std::uint64_t in_piece = 0; // bytes of the current piece hashed so far
    for (std::uint64_t offset = 0; offset < size;) {
        if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) {
            return std::nullopt;
        }
        const std::uint64_t zeros_end = holes != nullptr ? holes->zeros_until(offset) : offset;
        if (in_piece == 0 && zeros_end - offset >= piece_size) {
            // A whole piece inside a hole: its leaf is the leaf of zeros, hashed once.
            if (!zero_piece_leaf) {
                zero_buffer();
                leaf_hasher zeros;
                for (std::uint64_t done = 0; done < piece_size; done += buffer_size) {
                    zeros.update(buffer.get(),
                                 static_cast<std::size_t>(std::min<std::uint64_t>(buffer_size, piece_size - done)));
                }
                zero_piece_leaf = zeros.final();
            }
            m.leaves.push_back(*zero_piece_leaf);
            offset += piece_size;
            if (options.progress) {
                options.progress(offset);
            }
            continue;
        }
        const auto block = static_cast<std::size_t>(std::min<std::uint64_t>(buffer_size, size - offset));
        if (zeros_end - offset >= block) {
            zero_buffer(); // a block of a hole that is not a whole piece: hashed, but not read
        } else {
            read_exactly(read_at, buffer.get(), block, offset);
            buffer_is_zeros = false;
        }
        // Both sizes are powers of two and blocks start at multiples of the block size, so a block holds whole
        // pieces, or lies within one piece; the loop handles any split anyway.
        for (std::size_t used = 0; used < block;) {
            const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(block - used, piece_size - in_piece));
            leaf.update(buffer.get() + used, take);
            used += take;
            in_piece += take;
            if (in_piece == piece_size) {
                m.leaves.push_back(leaf.final());
                leaf.reset();
                in_piece = 0;
            }
        }
        offset += block;
        if (options.progress) {
            options.progress(offset);
        }
    }
    if (in_piece > 0 || m.leaves.empty()) {
        // The short last piece, or the one empty piece of an empty file.
        m.leaves.push_back(leaf.final());
    }
    if (size == 0 && options.progress) {
        options.progress(0);
    }
    m.root = file_root(size, piece_size, merkle_root(m.leaves));
    return m;
}

} // namespace

std::uint32_t piece_size_for(std::uint64_t file_size) {
    if (file_size > max_file_size) {
        throw std::length_error("file of " + std::to_string(file_size) + " bytes: over the 64 TiB a manifest covers");
    }
    std::uint64_t piece_size = default_piece_size;
    while (piece_count_for(file_size, static_cast<std::uint32_t>(piece_size)) > max_piece_count) {
        piece_size *= 2;
    }
    return static_cast<std::uint32_t>(piece_size);
}

std::uint64_t piece_count_for(std::uint64_t file_size, std::uint32_t piece_size) noexcept {
    if (file_size == 0) {
        return 1;
    }
    // Written so that sizes near 2^64 do not overflow.
    return file_size / piece_size + (file_size % piece_size != 0 ? 1 : 0);
}

digest file_root(std::uint64_t file_size, std::uint32_t piece_size, const digest& tree_root) noexcept {
    std::array<std::uint8_t, 1 + 8 + 4 + std::tuple_size_v<digest>> input{};
    auto* out = input.data();
    *out++ = static_cast<std::uint8_t>(merkle_domain::file);
    store_le(out, file_size);
    out += sizeof file_size;
    store_le(out, piece_size);
    out += sizeof piece_size;
    std::copy(tree_root.begin(), tree_root.end(), out);
    return blake3(input.data(), input.size());
}

byte_range manifest::piece_range(std::uint64_t index) const {
    if (index >= piece_count()) {
        throw std::out_of_range("piece " + std::to_string(index) + " of " + std::to_string(piece_count()));
    }
    const std::uint64_t offset = index * piece_size;
    return byte_range{offset, std::min<std::uint64_t>(piece_size, size - offset)};
}

bool manifest::is_consistent() const {
    return is_valid_piece_size(piece_size) && size <= max_file_size &&
           leaves.size() == piece_count_for(size, piece_size) && leaves.size() <= max_piece_count &&
           root == file_root(size, piece_size, merkle_root(leaves));
}

std::optional<manifest> build_manifest(int fd, std::uint64_t size, const manifest_build_options& options) {
    // Tells the kernel to read ahead further: the whole file is read once, in order. Only a hint.
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    hole_finder holes(fd, size);
    return build([fd](void* into, std::size_t n,
                      std::uint64_t offset) { return ::pread(fd, into, n, static_cast<off_t>(offset)); },
                 &holes, size, options);
}

std::optional<manifest> build_manifest(const read_at_function& read_at, std::uint64_t size,
                                       const manifest_build_options& options) {
    return build(read_at, nullptr, size, options);
}

std::string serialize_manifest(const manifest& m) {
    std::string out;
    out.reserve(256 + m.leaves.size() * sizeof(digest));
    out += magic_line;
    out += "\nsize " + std::to_string(m.size);
    out += "\npiece-size " + std::to_string(m.piece_size);
    out += "\npieces " + std::to_string(m.leaves.size());
    out += "\nroot " + to_hex(m.root) + "\n";
    for (const auto& leaf : m.leaves) {
        out.append(reinterpret_cast<const char*>(leaf.data()), leaf.size());
    }
    return out;
}

std::optional<manifest> parse_manifest(std::string_view bytes) {
    if (bytes.size() > max_serialized_manifest_size) {
        return std::nullopt;
    }
    std::size_t pos = 0;
    if (take_line(bytes, pos) != magic_line) {
        return std::nullopt;
    }
    const auto size = number_field(take_line(bytes, pos), "size");
    const auto piece_size = number_field(take_line(bytes, pos), "piece-size");
    const auto pieces = number_field(take_line(bytes, pos), "pieces");
    const auto root_line = take_line(bytes, pos);
    if (!size || !piece_size || !pieces || !root_line || !root_line->starts_with("root ") || *size > max_file_size ||
        !is_valid_piece_size(*piece_size) ||
        *pieces != piece_count_for(*size, static_cast<std::uint32_t>(*piece_size)) || *pieces > max_piece_count ||
        bytes.size() - pos != *pieces * sizeof(digest)) {
        return std::nullopt;
    }
    const auto root = digest_from_hex(root_line->substr(5));
    if (!root) {
        return std::nullopt;
    }
    manifest m;
    m.size = *size;
    m.piece_size = static_cast<std::uint32_t>(*piece_size);
    m.root = *root;
    m.leaves.resize(static_cast<std::size_t>(*pieces));
    std::memcpy(m.leaves.data(), bytes.data() + pos, m.leaves.size() * sizeof(digest));
    if (m.root != file_root(m.size, m.piece_size, merkle_root(m.leaves))) {
        return std::nullopt;
    }
    return m;
}

} // namespace p2p
