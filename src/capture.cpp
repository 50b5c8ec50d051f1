// SPDX-License-Identifier: MIT
// capture.cpp - capture file writer and reader; the byte layout is docs/capture.md.
#include "p2p/capture.hpp"

#include "p2p/little_endian.hpp"

#include "p2p/protocol.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace p2p {

namespace {

/// File magic: "P2PCAP" then CR LF, so a file mangled by a text-mode copy fails loudly (as PNG's signature does).
constexpr std::array<unsigned char, 8> file_magic = {'P', '2', 'P', 'C', 'A', 'P', '\r', '\n'};
/// Record magic: lets the reader tell a record boundary from garbage (a zero-filled tail after a crash).
constexpr std::array<unsigned char, 4> record_magic = {'P', '2', 'P', 'R'};
/// Bytes of a record counted by its length field but not part of body or payload: the header after magic+length.
constexpr std::uint32_t record_fields_bytes = capture_format::record_header_bytes - 8;
/// No frame a peer or the relay accepts is larger (ZMQ_MAXMSGSIZE); anything bigger in a file is damage.
constexpr std::uint64_t max_recorded_frame = protocol::max_frame_bytes;

std::string errno_text() {
    return std::strerror(errno);
}

/// Writes all of iov with writev, continuing after short writes and EINTR. Returns false on any other error.
bool write_all(int fd, iovec* iov, int count) {
    while (count > 0) {
        ssize_t n = ::writev(fd, iov, count);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        auto left = static_cast<std::size_t>(n);
        while (count > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            ++iov;
            --count;
        }
        if (count > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
    return true;
}

} // namespace

std::string_view to_string(capture_direction direction) {
    return direction == capture_direction::sent ? "sent" : "received";
}

// ---------------------------------------------------------------------------------------------------------------
// Writer

capture_writer::capture_writer(const std::filesystem::path& file, capture_payload payload)
    : path_(file), payload_(payload) {
    // O_APPEND: each writev lands at the end in one piece even if another process appends too.
    fd_.reset(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
    if (!fd_) {
        throw std::runtime_error("cannot create capture " + file.string() + ": " + errno_text());
    }
    std::array<unsigned char, capture_format::file_header_bytes> header{};
    std::memcpy(header.data(), file_magic.data(), file_magic.size());
    store_le<std::uint16_t>(header.data() + 8, capture_format::version);
    store_le<std::uint16_t>(header.data() + 10, static_cast<std::uint16_t>(capture_format::file_header_bytes));
    iovec iov{header.data(), header.size()};
    if (!write_all(fd_.get(), &iov, 1)) {
        throw std::runtime_error("cannot write capture " + file.string() + ": " + errno_text());
    }
}

void capture_writer::record(capture_direction direction, peer_id local, peer_id remote, const zmq::message_t& body,
                            const zmq::message_t* payload, bool dropped) noexcept {
    if (broken_.load(std::memory_order_relaxed)) {
        failed_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const bool store = payload != nullptr && payload_ == capture_payload::bytes;
    const std::uint64_t payload_size = payload != nullptr ? payload->size() : 0;
    const std::uint64_t length = record_fields_bytes + body.size() + (store ? payload_size : 0);
    if (body.size() > max_recorded_frame || payload_size > max_recorded_frame) {
        // Cannot come from a socket with ZMQ_MAXMSGSIZE; refuse rather than write what no reader accepts.
        failed_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto time_us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();

    std::uint8_t flags = dropped ? capture_format::flag_dropped : 0;
    if (payload != nullptr) {
        flags |= capture_format::flag_payload;
        if (store) {
            flags |= capture_format::flag_payload_stored;
        }
    }
    std::array<unsigned char, capture_format::record_header_bytes> header{};
    std::memcpy(header.data(), record_magic.data(), record_magic.size());
    store_le<std::uint32_t>(header.data() + 4, static_cast<std::uint32_t>(length));
    store_le<std::int64_t>(header.data() + 8, time_us);
    header[16] = static_cast<unsigned char>(direction);
    header[17] = flags;
    store_le<std::uint32_t>(header.data() + 20, static_cast<std::uint32_t>(body.size()));
    store_le<std::uint64_t>(header.data() + 24, local.value());
    store_le<std::uint64_t>(header.data() + 32, remote.value());
    store_le<std::uint64_t>(header.data() + 40, payload_size);

    // One writev of header, body and payload straight from the frames: no copy, and one system call per record so a
    // crash leaves at most the record being written incomplete.
    std::array<iovec, 3> iov{};
    int count = 0;
    iov[count++] = iovec{header.data(), header.size()};
    if (body.size() > 0) {
        iov[count++] = iovec{const_cast<void*>(body.data()), body.size()};
    }
    if (store && payload_size > 0) {
        iov[count++] = iovec{const_cast<void*>(payload->data()), payload->size()};
    }
    bool ok = false;
    try {
        std::lock_guard lock(mutex_);
        ok = write_all(fd_.get(), iov.data(), count);
    } catch (const std::system_error&) {
        ok = false;
    }
    if (!ok) {
        broken_.store(true, std::memory_order_relaxed);
        failed_.fetch_add(1, std::memory_order_relaxed);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

capture_reader::capture_reader(const std::filesystem::path& file) {
    in_.open(file, std::ios::binary);
    if (!in_) {
        throw std::runtime_error("cannot open capture " + file.string() + ": " + errno_text());
    }
    std::array<unsigned char, capture_format::file_header_bytes> header{};
    in_.read(reinterpret_cast<char*>(header.data()), header.size());
    const auto got = static_cast<std::size_t>(in_.gcount());
    const auto magic_bytes = std::min(got, file_magic.size());
    if (std::memcmp(header.data(), file_magic.data(), magic_bytes) != 0) {
        throw std::runtime_error(file.string() + " is not a p2p capture (bad magic)");
    }
    if (got < header.size()) {
        // The recorder died before its header was out: an empty capture, cut short.
        version_ = capture_format::version;
        tail_ = capture_tail{0, "file header cut short (" + std::to_string(got) + " of 16 bytes)"};
        return;
    }
    version_ = load_le<std::uint16_t>(header.data() + 8);
    if (version_ != capture_format::version) {
        throw std::runtime_error(file.string() + ": capture format version " + std::to_string(version_) +
                                 " is not supported (this build reads version " +
                                 std::to_string(capture_format::version) + ")");
    }
    const auto header_bytes = load_le<std::uint16_t>(header.data() + 10);
    if (header_bytes < capture_format::file_header_bytes) {
        throw std::runtime_error(file.string() + ": capture header length " + std::to_string(header_bytes) +
                                 " is too small");
    }
    // A longer header is allowed so that later writers can add fields old readers skip.
    in_.seekg(header_bytes);
    offset_ = header_bytes;
}

std::optional<capture_record> capture_reader::stop(std::string reason) {
    tail_ = capture_tail{offset_, std::move(reason)};
    return std::nullopt;
}

std::optional<capture_record> capture_reader::next() {
    if (tail_ || !in_) {
        return std::nullopt;
    }
    std::array<unsigned char, capture_format::record_header_bytes> header{};
    in_.read(reinterpret_cast<char*>(header.data()), header.size());
    const auto got = static_cast<std::size_t>(in_.gcount());
    if (got == 0) {
        return std::nullopt; // clean end of file
    }
    if (got >= record_magic.size() && std::memcmp(header.data(), record_magic.data(), record_magic.size()) != 0) {
        return stop("bad record magic: damaged or not a record boundary");
    }
    if (got < header.size()) {
        return stop("record header cut short (" + std::to_string(got) + " of " + std::to_string(header.size()) +
                    " bytes)");
    }

    capture_record rec;
    rec.offset = offset_;
    const auto length = load_le<std::uint32_t>(header.data() + 4);
    rec.time_us = load_le<std::int64_t>(header.data() + 8);
    const auto direction = header[16];
    const auto flags = header[17];
    const auto body_size = load_le<std::uint32_t>(header.data() + 20);
    rec.local = peer_id(load_le<std::uint64_t>(header.data() + 24));
    rec.remote = peer_id(load_le<std::uint64_t>(header.data() + 32));
    rec.payload_size = load_le<std::uint64_t>(header.data() + 40);

    constexpr std::uint8_t known_flags =
        capture_format::flag_payload | capture_format::flag_payload_stored | capture_format::flag_dropped;
    if (direction > 1 || (flags & ~known_flags) != 0) {
        return stop("bad record fields: direction " + std::to_string(direction) + ", flags " + std::to_string(flags));
    }
    rec.direction = static_cast<capture_direction>(direction);
    rec.dropped = (flags & capture_format::flag_dropped) != 0;
    rec.has_payload = (flags & capture_format::flag_payload) != 0;
    rec.payload_stored = (flags & capture_format::flag_payload_stored) != 0;
    if (rec.payload_stored && !rec.has_payload) {
        return stop("bad record fields: payload stored without a payload frame");
    }
    const std::uint64_t stored = rec.payload_stored ? rec.payload_size : 0;
    // Checked before allocating: a damaged length must not make the reader allocate gigabytes.
    if (body_size > max_recorded_frame || rec.payload_size > max_recorded_frame ||
        length != record_fields_bytes + body_size + stored) {
        return stop("bad record length");
    }

    rec.body.resize(body_size);
    rec.payload.resize(stored);
    in_.read(reinterpret_cast<char*>(rec.body.data()), static_cast<std::streamsize>(body_size));
    auto read = static_cast<std::uint64_t>(in_.gcount());
    if (read == body_size && stored > 0) {
        in_.read(reinterpret_cast<char*>(rec.payload.data()), static_cast<std::streamsize>(stored));
        read += static_cast<std::uint64_t>(in_.gcount());
    }
    const std::uint64_t whole = capture_format::record_header_bytes + body_size + stored;
    if (read != body_size + stored) {
        return stop("record cut short (" + std::to_string(capture_format::record_header_bytes + read) + " of " +
                    std::to_string(whole) + " bytes)");
    }
    offset_ += whole;
    return rec;
}

// ---------------------------------------------------------------------------------------------------------------

decode_result decode_record(const capture_record& record) noexcept {
    // Read-only zero bytes standing in for payloads whose bytes were not stored; zmq::message_t refers to them
    // without copying (no free function), so a 4 MiB CHUNK costs nothing to decode.
    static std::array<std::byte, protocol::max_chunk_size> zeros{};
    const std::span<const std::byte> body(record.body);
    try {
        if (!record.has_payload) {
            return decode(body, nullptr);
        }
        if (record.payload_stored) {
            zmq::message_t payload(record.payload.data(), record.payload.size());
            return decode(body, &payload);
        }
        if (record.payload_size > zeros.size()) {
            return decode_error{decode_errc::frame_too_large,
                                "CHUNK payload of " + std::to_string(record.payload_size) + " bytes"};
        }
        zmq::message_t payload(zeros.data(), static_cast<std::size_t>(record.payload_size), nullptr, nullptr);
        return decode(body, &payload);
    } catch (const std::exception& e) {
        return decode_error{decode_errc::malformed, e.what()};
    }
}

} // namespace p2p
