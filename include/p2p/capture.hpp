// SPDX-License-Identifier: MIT
// capture.hpp - the capture file: a record of every message a peer (or the p2p-tap relay) sent and received.
//
// docs/capture.md has the byte layout and the reasons behind it. In short: a 16-byte file header, then records of
// [magic, length, time, direction, flags, ids, body bytes, payload length (and payload bytes only if asked)],
// each written with one writev() on an O_APPEND descriptor so that a killed recorder leaves at most one partial
// record, at the end, which the reader reports instead of failing on.
#pragma once

#include "p2p/codec.hpp"
#include "p2p/peer_id.hpp"
#include "p2p/unique_fd.hpp"

#include <zmq.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p {

/// Which way a recorded message went, seen from the local peer.
enum class capture_direction : std::uint8_t { received = 0, sent = 1 };

/// "received" / "sent".
std::string_view to_string(capture_direction direction);

/// What a capture keeps of a CHUNK's payload frame.
enum class capture_payload : std::uint8_t {
    length_only, ///< Its length: a 1 GiB transfer costs a few kilobytes of capture. Enough to dump and replay
                 ///< downloads.
    bytes,       ///< Its bytes too: needed only to replay the side that uploads (sends CHUNKs).
};

/// Capture format constants (docs/capture.md).
namespace capture_format {
/// Bumped when a reader of the previous version could misread a file; readers refuse versions they don't know.
inline constexpr std::uint16_t version = 1;
/// File header: magic (8), version (2), header length (2), reserved (4).
inline constexpr std::size_t file_header_bytes = 16;
/// Fixed part of a record before the body: magic (4), length (4), then 40 bytes of fields.
inline constexpr std::size_t record_header_bytes = 48;
/// Record flag: the message had a payload frame (CHUNK); its length is in the record.
inline constexpr std::uint8_t flag_payload = 0x01;
/// Record flag: the payload bytes follow the body.
inline constexpr std::uint8_t flag_payload_stored = 0x02;
/// Record flag: the relay dropped this message on purpose (--drop); it was never delivered.
inline constexpr std::uint8_t flag_dropped = 0x04;
} // namespace capture_format

/// Appends records to a capture file. One instance per file; record() may be called from any thread.
class capture_writer {
public:
    /// Creates (or truncates) the file and writes its header.
    /// Throws std::runtime_error with a one-line reason ("cannot create capture x.cap: Permission denied").
    explicit capture_writer(const std::filesystem::path& file, capture_payload payload = capture_payload::length_only);

    /// Appends one record, stamped with the system clock. `remote` may be peer_id{} while it is not known yet;
    /// `payload` is the CHUNK payload frame or nullptr; `dropped` marks a message the relay did not deliver.
    /// Never throws: a write error (disk full...) is counted and stops the writer, so the file keeps only whole
    /// records followed by at most one partial one.
    void record(capture_direction direction, peer_id local, peer_id remote, const zmq::message_t& body,
                const zmq::message_t* payload, bool dropped = false) noexcept;

    /// Records that could not be written; 0 while all is well.
    std::uint64_t failed_records() const noexcept { return failed_.load(std::memory_order_relaxed); }
    /// The file being written.
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
    unique_fd fd_;
    capture_payload payload_;
    /// Serialises record() calls so that a record finished after a short write is never interleaved with another.
    std::mutex mutex_;
    /// Set after the first failed write: later records would follow a partial one, where no reader finds them.
    std::atomic<bool> broken_{false};
    std::atomic<std::uint64_t> failed_{0};
};

/// One message as recorded.
struct capture_record {
    std::uint64_t offset = 0; ///< Byte offset of the record in the file (to cut or point at it).
    std::int64_t time_us = 0; ///< System clock, microseconds since the Unix epoch.
    capture_direction direction = capture_direction::received;
    bool dropped = false;           ///< The relay did not deliver it (--drop).
    peer_id local;                  ///< The recording peer; for the relay, the target once its HELLO was seen.
    peer_id remote;                 ///< The other peer, or peer_id{} when not known yet.
    std::vector<std::byte> body;    ///< The msgpack body frame, as it was on the wire.
    bool has_payload = false;       ///< A payload frame came with the body.
    std::uint64_t payload_size = 0; ///< Its length in bytes.
    std::vector<std::byte> payload; ///< Its bytes, when the writer stored them (payload_stored).
    bool payload_stored = false;
};

/// Where and why reading stopped before the end of the file.
struct capture_tail {
    std::uint64_t offset = 0; ///< Byte offset of the first byte not read as part of a whole record.
    std::string reason;       ///< One line: "record cut short (30 of 52 bytes)", "bad record magic"...
};

/// Reads a capture file record by record, in file order.
class capture_reader {
public:
    /// Opens the file and checks its header.
    /// Throws std::runtime_error with a one-line reason when it cannot be opened, is not a capture, or has a version
    /// this reader does not know. A file cut inside its header reads as an empty capture with a tail.
    explicit capture_reader(const std::filesystem::path& file);

    /// Format version in the file header.
    std::uint16_t version() const noexcept { return version_; }
    /// The next whole record; nullopt at the end of the file, or at a record that is cut short or damaged, in which
    /// case tail() says where and why. Never throws for anything in the file's contents.
    std::optional<capture_record> next();
    /// Set once next() stopped before the end of the file.
    const std::optional<capture_tail>& tail() const noexcept { return tail_; }

private:
    std::optional<capture_record> stop(std::string reason);

    std::ifstream in_;
    std::uint64_t offset_ = 0;
    std::uint16_t version_ = 0;
    std::optional<capture_tail> tail_;
};

/// Decodes a recorded message with the project codec (p2p::decode). When only the payload length was stored, a
/// CHUNK gets a zero-filled payload of that length, shared and never allocated, so its data.size() is right.
decode_result decode_record(const capture_record& record) noexcept;

} // namespace p2p
