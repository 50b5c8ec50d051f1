// SPDX-License-Identifier: MIT
// download.hpp - the receiving side of one transfer: the hidden partial file, in-order writes with hashing,
// acknowledgements, and the atomic finish.
#pragma once

#include "p2p/blake2b.hpp"
#include "p2p/event.hpp"
#include "p2p/message.hpp"
#include "p2p/unique_fd.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <string>

namespace p2p {

using steady_time = std::chrono::steady_clock::time_point;

/// What is known of an earlier, interrupted download of the same name.
struct partial_download {
    std::uint64_t size = 0;   ///< Whole file, as offered then.
    digest hash{};            ///< Whole file hash, as offered then.
    std::uint64_t length = 0; ///< Bytes already in the partial file.
};

/// Names of our hidden files for a download of `name`: the partial data and its description. Derived from the name
/// so a restarted peer finds them again; never listed, served or accepted as a download name (".p2p" prefix).
std::string partial_file_name(std::string_view name);
std::string partial_meta_name(std::string_view name);

/// Reads the description of a partial download, if a usable one is there.
std::optional<partial_download> find_partial(int dir_fd, std::string_view name);

class download {
public:
    enum class phase {
        preparing,  ///< Hashing the partial file we resume from.
        requesting, ///< REQUEST sent, waiting for OFFER or NOT_FOUND.
        receiving,  ///< Writing chunks.
        finishing,  ///< All bytes written; fsync running, then verify and rename.
    };

    download(operation_id op, std::uint32_t transfer, std::string name, std::uint32_t window, std::uint32_t chunk_size,
             steady_time now);

    operation_id op() const { return op_; }
    std::uint32_t transfer() const { return transfer_; }
    const std::string& name() const { return name_; }
    phase current_phase() const { return phase_; }
    void set_phase(phase p) { phase_ = p; }

    /// Resume: the partial file already holds `length` bytes hashed into `state`.
    void resume_from(const partial_download& partial, const blake2b& state);
    /// The REQUEST to send to a (new) source, from the first byte we do not have.
    request make_request() const;
    /// Bytes we hold, and so where the next REQUEST starts.
    std::uint64_t next_offset() const { return next_; }

    /// Why an OFFER could not be taken: the source's fault (try another) or ours (the download fails).
    struct offer_problem {
        enum class kind { source, local } whose;
        std::string text; ///< For the source: "it offered ..."; for us: what failed.
    };
    /// Checks an OFFER and opens the partial file. Returns a problem when the offer cannot be taken: chunks larger
    /// than asked, a size or hash different from what an earlier source offered (the source's); not enough disk
    /// space, the file cannot be created (ours). Sets `restarted` when the partial file we resumed from belongs to
    /// another version: the REQUEST must go again from offset 0.
    std::optional<offer_problem> accept_offer(const offer& o, int dir_fd, bool& restarted);
    bool offered() const { return offered_; }
    /// The partial file we had is for a different version of the file: start from zero. Returns why not, if the
    /// old bytes could not be removed.
    std::optional<std::string> discard_partial(int dir_fd);

    enum class chunk_result { accepted, duplicate, out_of_order, rejected };
    /// Checks a chunk without touching the file. `accepted` means it is the next in-order chunk and fits: the
    /// caller ACKs it at once (so the sender reads and sends the next one while we write and hash this one) and
    /// then calls store(). A chunk below next_offset is a duplicate, above it means one was lost: both are answered
    /// by re-sending the ACK. `rejected` (with error set) ends the download: bytes past the announced size, a wrong
    /// `last` flag, a chunk larger than agreed.
    chunk_result check(const chunk& c, std::string& error) const;
    /// Writes an accepted chunk and hashes it; returns false with error set when the write fails (disk full...).
    bool store(const chunk& c, std::string& error);
    /// The ACK for an accepted chunk, sent before it is stored.
    ack make_ack_after(const chunk& c) const { return ack{transfer_, c.offset + c.data.size(), window_}; }
    ack make_ack() const { return ack{transfer_, next_, window_}; }
    bool all_written() const { return offered_ && next_ == size_; }
    std::uint64_t size() const { return size_; }

    /// A duplicate of the partial file's descriptor, for fsync in the worker.
    unique_fd dup_fd() const;
    /// After fsync: checks the hash and renames into place without replacing anything. Returns a reason on failure
    /// (the partial file is then removed, so nothing wrong is ever left under the final name or resumed from).
    std::optional<std::string> finish(int dir_fd, download_errc& code);
    /// Removes the partial file and its description (on integrity or write errors).
    void remove_partial(int dir_fd);

    // Sources and timing, managed by the node.
    peer_id source;          ///< Current source; peer_id{} when none.
    std::string from;        ///< Id or prefix asked for; empty means any peer that lists the file.
    std::set<peer_id> tried; ///< Sources that failed us.
    steady_time started;
    steady_time last_progress; ///< Last time a byte arrived or a source answered.
    steady_time last_request;  ///< Last REQUEST sent (resent while unanswered).
    steady_time last_progress_event;
    std::uint64_t bytes_received = 0;
    std::uint64_t resumed_from = 0;
    std::optional<std::uint64_t> expected_size; ///< From the source's FILE_LIST, for resume matching.

private:
    operation_id op_;
    std::uint32_t transfer_;
    std::string name_;
    std::uint32_t window_;
    std::uint32_t chunk_size_;
    phase phase_ = phase::requesting;
    bool offered_ = false;
    std::uint64_t size_ = 0;
    digest hash_{};
    std::uint64_t next_ = 0;
    std::optional<partial_download> partial_;
    blake2b hasher_;
    unique_fd file_;
    std::uint64_t synced_ = 0; ///< Bytes already handed to the kernel for write-back.
};

} // namespace p2p
