// SPDX-License-Identifier: MIT
// core/download.hpp - the receiving side of one transfer: its phases, the hidden partial file, in-order writes
// with each piece checked against its leaf of the file's manifest, acknowledgements, and the atomic finish.
#pragma once

#include "p2p/core/jobs.hpp"
#include "p2p/core/storage.hpp"
#include "p2p/core/time.hpp"
#include "p2p/core/window_control.hpp"
#include "p2p/event.hpp"
#include "p2p/manifest.hpp"
#include "p2p/merkle.hpp"
#include "p2p/message.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace p2p::core {

class download {
public:
    /// Where a download is. Only the download moves itself from one to the next; each method says which it needs.
    enum class phase {
        preparing,  ///< Hashing the pieces of the partial file it resumes from (a job); asks no peer meanwhile.
        requesting, ///< REQUEST sent, waiting for OFFER, NOT_FOUND or ABORT.
        receiving,  ///< Writing chunks (and fetching the manifest's leaves until every one is in).
        finishing,  ///< Every byte written and every piece checked; the sync job runs, then the rename.
    };

    /// `name` is what the source lists and is asked for; `local_name` what it is saved as here (its partial file
    /// too); `replace` lets finish() rename over an existing file of that name.
    download(operation_id op, std::uint32_t transfer, std::string name, std::string local_name, bool replace,
             window_setting window, std::uint32_t chunk_size, steady_time now);

    operation_id op() const { return op_; }
    std::uint32_t transfer() const { return transfer_; }
    const std::string& name() const { return name_; }
    const std::string& local_name() const { return local_name_; }
    phase current_phase() const { return phase_; }

    /// From requesting (before any OFFER): hash the partial file of an earlier run first.
    void begin_preparing();
    /// The resume hash is done: the partial file already holds `partial.length` bytes whose pieces hashed to
    /// `result` (checked against the manifest once it is known, like received pieces), or, when the job failed,
    /// could not be read: start from zero. Moves on to requesting.
    void resume_from(const partial_download& partial, const job_result& result, steady_time now);
    /// A (new) source is asked: the REQUEST to send it, from the first byte we do not have. Not while preparing
    /// (the REQUEST goes when the hash is done) nor finishing (nothing is missing).
    request ask(steady_time now);
    /// Bytes we hold, and so where the next REQUEST starts.
    std::uint64_t next_offset() const { return next_; }

    /// Why an OFFER could not be taken: the source's fault (try another) or ours (the download fails).
    struct offer_problem {
        enum class kind { source, local } whose;
        std::string text; ///< For the source: "it offered ..."; for us: what failed.
    };
    /// In requesting: checks an OFFER and opens the partial file, then moves to receiving (check_pieces() then
    /// moves on to finishing an empty file or one whose bytes a resume already holds). Returns a problem when the
    /// offer cannot be taken: chunks larger than asked, a size or root different from what an earlier source
    /// offered (the source's); not enough disk space, the file cannot be created (ours). Sets `restarted` when the
    /// partial file we resumed from belongs to another version: the REQUEST must go again from offset 0.
    std::optional<offer_problem> accept_offer(const offer& o, folder_io& disk, bool& restarted);
    bool offered() const { return offered_; }

    enum class chunk_result { accepted, duplicate, out_of_order, rejected };
    /// Checks a chunk without touching the file. `accepted` means it is the next in-order chunk and fits: the
    /// caller ACKs it at once (so the sender reads and sends the next one while we write and hash this one) and
    /// then calls store(). A chunk below next_offset is a duplicate, above it means one was lost: both are answered
    /// by re-sending the ACK. `rejected` (with error set) ends the download: bytes past the announced size, a wrong
    /// `last` flag, a chunk larger than agreed.
    chunk_result check(const chunk& c, std::string& error) const;
    /// Writes an accepted chunk and hashes it into the leaf of its piece; returns false with error set when the
    /// write fails (disk full...). check_pieces() then checks the pieces it completed.
    bool store(const chunk& c, std::string& error);

    /// A piece whose bytes do not hash to its leaf.
    struct bad_piece {
        std::uint64_t index = 0;
        bool from_source = true; ///< False for a piece of the partial file we resumed from (no source's fault).
    };
    /// Checks every complete piece whose leaf is known and not yet checked. A bad piece is discarded: next_offset
    /// goes back to its first byte (the caller asks for it again) and it is returned. With every byte in and
    /// every piece good, moves to finishing. A file of one piece needs no MANIFEST: its leaf is checked against
    /// the root itself.
    std::optional<bad_piece> check_pieces();
    /// The file has more than one piece and not all of its leaves are in and checked against the root yet.
    bool needs_manifest() const;
    /// Once every piece is checked: the file's manifest (so the folder need not hash what it just received), else
    /// nullptr.
    std::shared_ptr<const manifest> checked_manifest() const;
    /// The GET_MANIFEST for the next page of leaves.
    get_manifest next_manifest_request() const;
    enum class page_result { more, complete, ignored, bad };
    /// A MANIFEST page: kept when it is the next one; `complete` once every leaf is in and they hash to the root,
    /// `bad` (with error set, the leaves dropped) when they do not or the page runs past the last piece.
    page_result add_manifest_page(const manifest_page& page, std::string& error);
    /// The ACK for an accepted chunk, sent before it is stored: its credit is what the window allows now (the chunk
    /// counts as delivered for the window's measurements).
    ack make_ack_after(const chunk& c, steady_time now);
    /// The ACK that says again where we are (a duplicate or out-of-order chunk), or that goes once held back.
    ack make_ack(steady_time now);
    /// An accepted chunk whose ACK is held back by the rate limit (--max-rate): it counts as delivered at `now` for
    /// the window's measurements; its ACK is made at release_ack(), when it really goes. Call before store().
    void hold_ack_after(const chunk& c, steady_time now);
    /// An ACK that says again where we are, held back by the rate limit.
    void hold_ack() { ack_held_ = true; }
    /// An ACK waits for the rate limit. One at most: a later one replaces it, and a REQUEST (ask()) voids it.
    bool holds_ack() const { return ack_held_; }
    /// The held ACK, made now (where we are and the credit the window allows now); it is no longer held.
    ack release_ack(steady_time now);
    /// Under a rate limit of `bytes_per_second` (--max-rate) the credit granted is at most what that rate moves in
    /// a round trip and rate_chunk_time, at least one chunk; 0: no limit.
    void limit_rate(std::uint64_t bytes_per_second) { max_rate_ = bytes_per_second; }
    /// The credit window and its measurements.
    window_control& window() { return window_; }
    const window_control& window() const { return window_; }
    bool all_written() const { return offered_ && next_ == size_; }
    std::uint64_t size() const { return size_; }
    std::uint32_t piece_size() const { return piece_size_; }

    /// Writes the records of the complete pieces checked since the last call into the journal, at once (a small
    /// write; their bytes were written before). Returns why not; the journal is then given up.
    std::optional<std::string> record_checked_pieces();
    /// While receiving, with no sync of this download in flight: the job that makes the recorded pieces durable,
    /// when at least `min_pieces` of them are not yet.
    std::optional<journal_job> next_journal_write(std::uint64_t min_pieces);
    /// A sync is back: on success pieces [0, durable) are durable and marked so.
    void journal_written(std::uint64_t durable, bool ok);
    /// Pieces [0, journaled()) are in the journal; [0, durable()) are durable too.
    std::uint64_t journaled() const { return journaled_; }
    std::uint64_t durable() const { return durable_; }

    /// The partial file, for the sync job of the finishing phase.
    const std::shared_ptr<file_handle>& file() const { return file_; }
    /// In finishing, after the sync: renames into place (every piece is checked by now), replacing nothing unless asked
    /// to (then atomically, by the rename itself). Returns a reason on failure (the partial file is then removed, so
    /// nothing wrong is ever left under the final name or resumed from).
    std::optional<std::string> finish(folder_io& disk, download_errc& code);
    /// Removes the partial file and its description (on integrity or write errors).
    void remove_partial(folder_io& disk);

    // Sources and timing, managed by the download table.
    peer_id source;                         ///< Current source; peer_id{} when none.
    std::string from;                       ///< Id or prefix asked for; empty means any peer that lists the file.
    std::set<peer_id> tried;                ///< Sources that failed us.
    std::map<peer_id, unsigned> bad_pieces; ///< Pieces each source sent that did not match their leaves.
    steady_time started;
    steady_time last_progress; ///< Last time a byte arrived or a source answered.
    steady_time last_request;  ///< Last REQUEST sent (resent while unanswered).
    steady_time last_progress_event;
    std::uint64_t bytes_received = 0;
    std::uint64_t resumed_from = 0;
    std::uint64_t rechecked = 0;                ///< Bytes of the partial file the resume hash read.
    std::optional<std::uint64_t> expected_size; ///< From the source's FILE_LIST, for resume matching.

private:
    /// The partial file we had is for a different version of the file: start from zero. Returns why not, if the
    /// old bytes could not be removed.
    std::optional<std::string> discard_partial(folder_io& disk);
    std::uint64_t piece_count() const { return piece_count_for(size_, piece_size_); }
    /// Once every byte is in: the leaf of a short last piece (or the empty piece of an empty file) is taken.
    void close_last_piece();
    /// Chunks of credit for the next REQUEST or ACK: the window's, held down under a rate limit.
    std::uint32_t grant_credit() const;
    /// Forgets piece `index` and everything after it: the next byte wanted is its first.
    bad_piece go_back(std::uint64_t index);

    operation_id op_;
    std::uint32_t transfer_;
    std::string name_;
    std::string local_name_;
    bool replace_;
    window_control window_;
    std::uint32_t chunk_size_;
    bool ack_held_ = false;      ///< An ACK waits for the rate limit's tokens.
    std::uint64_t max_rate_ = 0; ///< Bytes per second; 0: no limit.
    phase phase_ = phase::requesting;
    bool offered_ = false;
    std::uint64_t size_ = 0;
    digest root_{};
    std::uint32_t piece_size_ = 0;
    std::uint64_t next_ = 0;
    std::optional<partial_download> partial_;
    std::vector<digest> leaves_;       ///< The manifest's leaves received so far (pages in order).
    bool manifest_checked_ = false;    ///< leaves_ is complete and hashes to root_.
    std::vector<digest> computed_;     ///< Leaves of the pieces [0, computed_.size()) we hold, hashed as they came.
    std::uint64_t checked_ = 0;        ///< Pieces [0, checked_) match the manifest.
    std::uint64_t resumed_pieces_ = 0; ///< Pieces [0, resumed_pieces_) came from the partial file, not a source.
    leaf_hasher piece_hasher_;         ///< The bytes of piece computed_.size() below next_.
    std::shared_ptr<file_handle> file_;
    std::uint64_t synced_ = 0;             ///< Bytes already handed to the kernel for write-back.
    std::shared_ptr<file_handle> journal_; ///< nullptr when it could not be opened: resume then re-reads all.
    std::uint64_t journaled_ = 0;          ///< Pieces [0, journaled_) are in the journal (all checked).
    std::uint64_t durable_ = 0;            ///< Pieces [0, durable_) are synced and marked so in the journal.
    bool journal_busy_ = false;            ///< A sync is in flight.
    boot_id boot_{};                       ///< This system's boot, written into the journal.
    journal_key key() const { return journal_key{size_, root_, piece_size_, boot_}; }
};

} // namespace p2p::core
