// SPDX-License-Identifier: MIT
// core/download.hpp - the receiving side of one file: its phases, the hidden partial file, its pieces (each checked
// against its leaf of the file's manifest, whichever holder brought it), the lanes that bring them from one or more
// holders at once, the journal of checked pieces, and the atomic finish.
#pragma once

#include "p2p/core/download_lane.hpp"
#include "p2p/core/jobs.hpp"
#include "p2p/core/piece_schedule.hpp"
#include "p2p/core/storage.hpp"
#include "p2p/core/time.hpp"
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
        requesting, ///< No OFFER yet: the size, root and pieces are not known.
        receiving,  ///< Lanes bring pieces (and the manifest's leaves come until every one is in).
        finishing,  ///< Every piece is in and checked; the sync job runs, then the rename.
    };

    /// `id` names the download in jobs and events (its first lane's transfer number); `name` is what holders list
    /// and are asked for; `local_name` what it is saved as here (its partial file too); `replace` lets finish()
    /// rename over an existing file of that name.
    download(operation_id op, std::uint32_t id, std::string name, std::string local_name, bool replace,
             window_setting window, std::uint32_t chunk_size, steady_time now);

    operation_id op() const { return op_; }
    std::uint32_t id() const { return id_; }
    const std::string& name() const { return name_; }
    const std::string& local_name() const { return local_name_; }
    phase current_phase() const { return phase_; }

    /// From requesting (before any OFFER): hash the partial file of an earlier run first.
    void begin_preparing();
    /// The resume hash is done: the partial file already holds `partial.length` bytes whose pieces hashed to
    /// `result` (checked against the manifest once it is known, like received pieces), or, when the job failed,
    /// could not be read: start from zero. Moves on to requesting.
    void resume_from(const partial_download& partial, const job_result& result, steady_time now);

    // ---- lanes
    /// A lane for `holder` with transfer number `transfer`, with no range yet (assign() gives it one).
    download_lane& add_lane(peer_id holder, std::uint32_t transfer, std::uint64_t join_order, steady_time now);
    download_lane* lane(std::uint32_t transfer);
    download_lane* lane_of(peer_id holder);
    std::map<std::uint32_t, download_lane>& lanes() { return lanes_; }
    const std::map<std::uint32_t, download_lane>& lanes() const { return lanes_; }
    /// Removes a lane; what it had not brought of its range goes back to the pool (its partial piece is dropped).
    void remove_lane(std::uint32_t transfer);
    /// Gives `l` its next range: before the size is known, everything from where the resume ends; then the lowest
    /// range of the pool, else the far end of the lane with the most work left (steal_range). False when there is
    /// nothing left to give it.
    bool assign(download_lane& l, steady_time now);
    /// The endgame, for a lane that assign() found nothing for: the rest of the range of a lane that would need
    /// more than twice as long for it, at its recent pace, as `l` would (its own pace, plus a round trip to ask),
    /// from the first byte of the piece that lane is in. That lane's range ends there: what it had written of the
    /// piece is dropped, and what it still sends is thrown away. No piece is ever written by two lanes, so no
    /// piece can mix bytes of two holders. Returns the transfer of the lane cut short (its range is done: it needs
    /// a new one or a CANCEL), or nullopt when no lane is worth it.
    std::optional<std::uint32_t> take_tail(download_lane& l, steady_time now);
    /// The REQUEST that asks `l`'s holder for its range, from its next byte (also sent again while unanswered).
    request ask(download_lane& l, steady_time now);
    /// Bytes nobody fetches now (the pool).
    bool pool_empty() const { return pool_.empty(); }
    /// The transfer the manifest's leaves are asked on (a lane that has an OFFER); 0 when none is asked.
    std::uint32_t manifest_lane() const { return manifest_lane_; }
    void set_manifest_lane(std::uint32_t transfer) { manifest_lane_ = transfer; }
    /// The manifest's leaves are still to come on lane `l`'s transfer: it stays, whatever its range.
    bool awaits_leaves_on(const download_lane& l) const { return l.transfer == manifest_lane_ && needs_manifest(); }

    /// Why an OFFER could not be taken: the source's fault (drop that holder) or ours (the download fails).
    struct offer_problem {
        enum class kind { source, local } whose;
        std::string text; ///< For the source: "it offered ..."; for us: what failed.
    };
    /// An OFFER for lane `l`'s REQUEST. The first of the download opens the partial file and moves it to receiving;
    /// later ones must offer the very same file (size, root and piece size). Returns a problem when it cannot be
    /// taken: chunks larger than asked, another version (the source's); no disk space, no partial file (ours).
    /// Sets `restarted` when the partial file we resumed from belongs to another version: `l` asks again from 0.
    std::optional<offer_problem> accept_offer(download_lane& l, const offer& o, folder_io& disk, bool& restarted);
    bool offered() const { return offered_; }

    enum class chunk_result { accepted, duplicate, out_of_order, rejected };
    /// Checks a chunk of lane `l` without touching the file. `accepted`: the next one of its range; a chunk below
    /// its next byte is a duplicate, above it one was lost: both are answered by re-sending the ACK. `rejected`
    /// (error set) ends the download: bytes past the announced size, a wrong `last` flag, a chunk larger than
    /// agreed.
    chunk_result check(const download_lane& l, const chunk& c, std::string& error) const;
    /// Writes the part of an accepted chunk that is in `l`'s range and hashes it into the leaf of its piece;
    /// returns false with error set when the write fails (disk full...). check_pieces() then checks the pieces it
    /// completed.
    bool store(download_lane& l, const chunk& c, std::string& error);

    /// A piece whose bytes do not hash to its leaf; it is missing again.
    struct bad_piece {
        std::uint64_t index = 0;
        peer_id from; ///< The holder that sent it; peer_id{} for a piece of the partial file we resumed from.
    };
    /// Checks every piece brought whose leaf is known and not yet checked. A bad piece is discarded: when its lane
    /// brought it in its current range, that lane goes back to it (and asks again: `again` holds its transfer),
    /// else it goes to the pool. With every piece in and good, moves to finishing. A file of one piece needs no
    /// MANIFEST: its leaf is checked against the root itself.
    std::vector<bad_piece> check_pieces(std::vector<std::uint32_t>& again);
    /// The file has more than one piece and not all of its leaves are in and checked against the root yet.
    bool needs_manifest() const;
    /// Once every piece is checked: the file's manifest (so the folder need not hash what it just received), else
    /// nullptr.
    std::shared_ptr<const manifest> checked_manifest() const;
    /// The GET_MANIFEST for the next page of leaves, on the manifest lane.
    get_manifest next_manifest_request() const;
    enum class page_result { more, complete, ignored, bad };
    /// A MANIFEST page: kept when it is the next one; `complete` once every leaf is in and they hash to the root,
    /// `bad` (with error set, the leaves dropped) when they do not or the page runs past the last piece.
    page_result add_manifest_page(const manifest_page& page, std::string& error);

    /// The ACK for an accepted chunk of `l`, sent before it is stored: its credit is what the window allows now
    /// and no more than the rest of the lane's range (the chunk counts as delivered for the window).
    ack make_ack_after(download_lane& l, const chunk& c, steady_time now);
    /// The ACK that says again where `l` is (a duplicate or out-of-order chunk), or that goes once held back.
    ack make_ack(download_lane& l, steady_time now);
    /// An accepted chunk whose ACK is held back by the rate limit (--max-rate): it counts as delivered at `now` for
    /// the window's measurements; its ACK is made at make_ack(), when it really goes. Call before store().
    void hold_ack_after(download_lane& l, const chunk& c, steady_time now);
    /// Under a rate limit of `bytes_per_second` (--max-rate) the credit granted is at most what that rate moves in
    /// a round trip and rate_chunk_time, at least one chunk; 0: no limit.
    void limit_rate(std::uint64_t bytes_per_second) { max_rate_ = bytes_per_second; }
    std::uint64_t size() const { return size_; }
    const digest& root() const { return root_; }
    std::uint32_t piece_size() const { return piece_size_; }
    /// The chunk of `l` that came counts as delivered for its window, with no ACK (it ended the lane's range: what
    /// goes next is a REQUEST for another range, or a CANCEL).
    void delivered_without_ack(download_lane& l, const chunk& c, steady_time now) {
        l.window.delivered(c.offset + c.data.size(), c.data.size(), c.holder_busy_us, now);
    }
    /// Bytes of the file held (brought or resumed and not found bad).
    std::uint64_t held() const { return held_; }
    /// Pieces [0, contiguous_checked()) are all checked.
    std::uint64_t contiguous_checked() const { return checked_prefix_; }

    /// Writes the records of the complete pieces checked since the last call into the journal, at once (a small
    /// write; their bytes were written before). Only the pieces from the first one on without a gap: a resume
    /// reads the partial file past them again. Returns why not; the journal is then given up.
    std::optional<std::string> record_checked_pieces();
    /// While receiving, with no sync of this download in flight: the job that makes the recorded pieces durable,
    /// when at least `min_pieces` of them are not yet.
    std::optional<journal_job> next_journal_write(std::uint64_t min_pieces);
    /// A sync is back: on success pieces [0, durable) are durable and marked so.
    void journal_written(std::uint64_t durable, bool ok);

    /// The partial file, for the sync job of the finishing phase.
    const std::shared_ptr<file_handle>& file() const { return file_; }
    /// In finishing, after the sync: renames into place (every piece is checked by now), replacing nothing unless asked
    /// to (then atomically, by the rename itself). Returns a reason on failure (the partial file is then removed, so
    /// nothing wrong is ever left under the final name or resumed from).
    std::optional<std::string> finish(folder_io& disk, download_errc& code);
    /// Removes the partial file and its description (on integrity or write errors).
    void remove_partial(folder_io& disk);

    /// Each holder that kept bytes here, in the order its lane joined (lanes gone included).
    std::vector<holder_share> shares() const;
    /// The figures of the lane that brought the most (the rate report names what limited that one).
    rate_figures figures() const;

    // Sources and timing, managed by the download table.
    std::string from;        ///< Id or prefix asked for; empty means every peer that lists the file.
    std::set<peer_id> tried; ///< Holders that failed us: not asked again for this file.
    /// Holders taken for stalled while other lanes went on: not asked again until then (they may be slow a while).
    std::map<peer_id, steady_time> resting;
    std::map<peer_id, unsigned> bad_pieces; ///< Pieces each holder sent that did not match their leaves.
    peer_id last_from;                      ///< The holder of the last piece brought.
    steady_time started;
    steady_time last_progress_event;
    std::uint64_t bytes_received = 0; ///< Chunk bytes that came, kept or not.
    std::uint64_t wasted = 0;         ///< Chunk bytes that came and were not kept.
    std::uint64_t resumed_from = 0;
    std::uint64_t rechecked = 0;                ///< Bytes of the partial file the resume hash read.
    std::optional<std::uint64_t> expected_size; ///< From the first holder's FILE_LIST, for resume matching.
    std::optional<digest> expected_root;        ///< From the holders' FILE_LISTs: lanes join only holders of it.

private:
    enum class piece_state : std::uint8_t { missing, hashed, checked };
    /// The partial file we had is for a different version of the file: start from zero. Returns why not, if the
    /// old bytes could not be removed.
    std::optional<std::string> discard_partial(folder_io& disk);
    std::uint64_t piece_count() const { return piece_count_for(size_, piece_size_); }
    std::uint64_t piece_bytes(std::uint64_t index) const;
    /// Sets up the pieces once the first OFFER told their size: those the resume hashed wait for their check.
    void lay_out_pieces();
    /// Chunks of credit for `l`'s next REQUEST or ACK from byte `at`: the window's, held down under a rate limit and
    /// to what is left of the lane's range.
    std::uint32_t grant_credit(const download_lane& l, std::uint64_t at) const;
    /// Lane `l` stops at the first byte of the piece it is in: the bytes it brought of that piece are no longer
    /// held (resumed ones too: ranges always start at a piece's first byte). Returns that byte.
    std::uint64_t drop_partial_piece(download_lane& l);
    /// Bytes `holder` sent are thrown away after all (a bad piece, a piece left half done): not its share, waste.
    void unkeep(peer_id holder, std::uint64_t bytes);
    /// Piece `index` is missing again; its bytes are no longer held.
    void forget_piece(std::uint64_t index);
    /// The piece `l` is in is complete: its leaf is taken.
    void close_piece(download_lane& l, std::uint64_t index);
    /// A piece found bad: it is missing again, and its lane goes back to it or it goes to the pool.
    void discard_bad_piece(std::uint64_t index, std::vector<std::uint32_t>& again, std::vector<bad_piece>& bad);
    /// Lane `l` goes back to the first byte of piece `index` of its range: every piece after it is missing again.
    void go_back(download_lane& l, std::uint64_t index);

    operation_id op_;
    std::uint32_t id_;
    std::string name_;
    std::string local_name_;
    bool replace_;
    window_setting window_setting_;
    std::uint32_t chunk_size_;   ///< Asked for.
    std::uint64_t max_rate_ = 0; ///< Bytes per second; 0: no limit.
    phase phase_ = phase::requesting;
    bool offered_ = false;
    std::uint64_t size_ = 0;
    digest root_{};
    std::uint32_t piece_size_ = 0;
    std::map<std::uint32_t, download_lane> lanes_;
    std::map<peer_id, std::pair<std::uint64_t, std::uint64_t>> kept_by_; ///< Holder -> {join order, bytes kept}.
    std::map<peer_id, rate_figures> gone_figures_;                       ///< Of lanes removed, for figures().
    range_pool pool_;
    std::uint32_t manifest_lane_ = 0;
    std::uint64_t resume_next_ = 0;          ///< Where the resumed bytes end (the first lane starts there).
    std::vector<digest> resumed_leaves_;     ///< Leaves of the whole pieces the resume hashed.
    std::optional<leaf_hasher> resume_tail_; ///< The bytes of the piece the resume ends in.
    std::uint64_t held_ = 0;
    std::vector<digest> leaves_;          ///< The manifest's leaves received so far (pages in order).
    bool manifest_checked_ = false;       ///< leaves_ is complete and hashes to root_.
    std::vector<piece_state> pieces_;     ///< Each piece's state, once the OFFER told their count.
    std::vector<digest> computed_;        ///< The leaf of each piece hashed.
    std::vector<peer_id> sender_;         ///< Who brought each piece (peer_id{}: the resumed partial file).
    std::vector<std::uint64_t> to_check_; ///< Pieces hashed and not yet checked.
    std::uint64_t checked_prefix_ = 0;    ///< Pieces [0, checked_prefix_) are checked.
    std::uint64_t checked_count_ = 0;
    std::shared_ptr<file_handle> file_;
    std::shared_ptr<file_handle> journal_; ///< nullptr when it could not be opened: resume then re-reads all.
    std::uint64_t journaled_ = 0;          ///< Pieces [0, journaled_) are in the journal (all checked).
    std::uint64_t durable_ = 0;            ///< Pieces [0, durable_) are synced and marked so in the journal.
    bool journal_busy_ = false;            ///< A sync is in flight.
    boot_id boot_{};                       ///< This system's boot, written into the journal.
    journal_key key() const { return journal_key{size_, root_, piece_size_, boot_}; }
};

} // namespace p2p::core
