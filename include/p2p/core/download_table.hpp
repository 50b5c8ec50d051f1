// SPDX-License-Identifier: MIT
// core/download_table.hpp - downloading: the holders each download takes pieces from (a lane each, all at once),
// resume, failover when a holder leaves, stalls or lies, and the atomic finish. Each download moves through its own
// phases (download.hpp); this table feeds it inputs and sends what it asks.
#pragma once

#include "p2p/core/commands.hpp"
#include "p2p/core/download.hpp"
#include "p2p/core/jobs.hpp"
#include "p2p/core/remote_peer.hpp"
#include "p2p/core/state.hpp"
#include "p2p/token_bucket.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace p2p::core {

class download_table {
public:
    download_table(core_state& state, steady_time now);

    void start(const command::download& cmd, steady_time now);
    void cancel(const command::cancel& cmd, steady_time now);

    void on_preparing(remote_peer& from, const preparing& p, steady_time now);
    void on_offer(remote_peer& from, const offer& o, steady_time now);
    void on_chunk(remote_peer& from, chunk& c, steady_time now);
    /// This peer spent `spent` writing and hashing a chunk of the lane with this transfer number.
    void charge(std::uint32_t transfer, std::chrono::nanoseconds spent);
    /// A page of the manifest's leaves from a holder.
    void on_manifest(remote_peer& from, const manifest_page& page, steady_time now);
    /// NOT_FOUND or ABORT from the holder of one of our lanes: the others (or another holder) go on.
    void on_refused(remote_peer& from, std::uint32_t transfer, std::string reason, download_errc code, steady_time now);
    void on_resume_hashed(std::uint32_t transfer, const partial_download& partial, const job_result& result,
                          steady_time now);
    /// The sync of a batch of finished downloads is back (those of them still here are renamed into place).
    void on_synced(const std::vector<std::uint32_t>& transfers, const job_result& result, steady_time now);
    /// A sync that makes pieces [0, durable) durable is back.
    void on_journaled(std::uint32_t transfer, std::uint64_t durable, const job_result& result);
    /// A peer's file list is complete (first or new): downloads of a file it holds take it on as one more holder.
    void on_file_list(remote_peer& from, steady_time now);

    /// Every checked piece is recorded in the journal at once (piece_journal.hpp): a process killed on this boot
    /// re-reads at most the pieces it was receiving. For a resume after a reboot, a sync marks pieces durable once
    /// recorded pieces of at least journal_batch(size) bytes (and at least one piece) are not; with one sync in
    /// flight at a time, a crash of the system leaves about two batches for a resume to re-read. A sync has a fixed
    /// cost (5-10 ms on this project's test machines) besides the bytes: batches of 2 MiB halved a loopback
    /// download's rate there, so a batch is a 32nd of the file, at least 2 MiB and at most 32 MiB.
    static constexpr std::uint64_t journal_min_batch = 2u << 20;
    static constexpr std::uint64_t journal_max_batch = 32u << 20;
    static constexpr std::uint64_t journal_batches_per_file = 32;
    static std::uint64_t journal_batch(std::uint64_t file_size) {
        return std::clamp(file_size / journal_batches_per_file, journal_min_batch, journal_max_batch);
    }
    /// Most holders one download takes pieces from at once.
    static constexpr std::size_t max_lanes = 8;
    /// A lane silent this long while other lanes of its download went on bringing bytes gives its range back (at
    /// least; four of its chunk times and round trips when those are longer), so a holder that stalls holds nobody
    /// up for long; it may join again after a transfer timeout. Without another lane's bytes meanwhile (one lane,
    /// or this peer stood still) a lane waits the transfer timeout, as one transfer always did.
    static constexpr milliseconds min_lane_silence{250};

    /// The peer left or was evicted: downloads from it go on with their other holders, or another one.
    void on_peer_gone(peer_id id, bool said_goodbye, steady_time now);
    /// We are leaving now: every download ends; partial files stay for a resume.
    void end_all(steady_time now);

    bool empty() const { return downloads_.empty(); }
    std::vector<pending_transfer> in_flight() const;

    std::optional<steady_time> next_deadline() const;
    void on_deadline(steady_time now);

private:
    /// Whether a lane's holder may still be sending: then leaving it takes a CANCEL.
    enum class source_state { serving, ended };

    download* find(std::uint32_t id);
    /// The download and lane of a transfer number, when its holder is `from` (nullptrs otherwise).
    std::pair<download*, download_lane*> find_lane(std::uint32_t transfer, peer_id from);
    /// Connected peers that list the file (the same size and root, once there is an offer) and are neither lanes
    /// of it nor failed it, by join order.
    std::vector<remote_peer*> sources_for(download& d);
    /// A new lane of `d` for `holder`, asked for its range at once (or, while preparing, once the hash is done).
    /// False (and no lane) when there is nothing to give it.
    bool open_lane(download& d, remote_peer& holder, std::uint32_t transfer, steady_time now);
    /// Every other holder of the file joins the download (up to max_lanes), when it has more than one piece.
    void add_lanes(download& d, steady_time now);
    /// A lane brought the last byte of its range: it asks for another, or ends.
    void next_range(download& d, download_lane& l, steady_time now);
    /// The lane ends: a CANCEL when its holder may still send, and its range goes back to the pool.
    void close_lane(download& d, download_lane& l, source_state state, const std::string& reason);
    /// A lane's holder failed us (left, stalled, refused, lied): it is not asked again for this file, and the
    /// download goes on with the others, or another holder, or fails. `d` may be gone after.
    void drop_lane(download& d, download_lane& l, std::string reason, download_errc code, source_state state,
                   steady_time now);
    /// No lane is left: another holder, if one has the file, else the download fails (`d` is gone then).
    void fail_over(download& d, std::string reason, download_errc code, steady_time now);
    void fail(download& d, download_errc code, std::string error, source_state state, steady_time now);
    /// Asks a lane with an OFFER for the next page of the leaves, when they are needed and no lane is asked.
    void ask_manifest(download& d);
    /// Checks the pieces whose leaves are known; a bad one is asked for again, a holder is dropped after its
    /// second bad piece, and the download finishes once every piece is in and good. `d` may be gone after.
    void check_pieces(download& d, steady_time now);
    /// Starts the download's journal write when enough checked pieces wait for it.
    void journal_pieces(download& d);
    /// Every byte is in and checked: make them durable, then rename (on_synced). Downloads that finish while a sync
    /// runs wait for the next one, which syncs them all at once: with many small files in flight, one sync (and one
    /// folder sync) per batch, not per file.
    void begin_finishing(download& d);
    /// Starts the sync of the downloads waiting for one, unless one runs.
    void start_sync_batch();
    /// One download of a synced batch: renamed into place and listed; its download_finished, to emit once the folder
    /// is synced too. On failure the download fails (and is gone): nullopt.
    std::optional<download_finished> place(download& d, const job_result& result, steady_time now);
    /// The download is gone: so is the record of its closed lanes.
    void forget_closed_lanes(std::uint32_t id);
    download_finished outcome(const download& d, bool ok, download_errc code, std::string error, steady_time now) const;
    /// When a lane next needs the loop (REQUEST repeat, stall check), or nullopt while it waits for us.
    std::optional<steady_time> deadline(const download& d, const download_lane& l) const;
    /// How long lane `l` may be silent while other lanes bring bytes.
    milliseconds silence_limit(const download_lane& l) const;
    /// When lane `l` (with an OFFER) counts as stalled: after the silence limit once another lane brought bytes
    /// that long after it went silent, else after the transfer timeout.
    steady_time stalled_at(const download& d, const download_lane& l) const;
    /// An unanswered REQUEST goes again this often: often enough that a holder still hashing can answer PREPARING
    /// several times before the transfer timeout.
    milliseconds request_repeat_interval() const;

    /// --max-rate: the chunk bytes that came are paid for (charged, into debt if need be) before an ACK goes.
    /// Received bytes are never refused: holding the ACK back is how a receiver slows its holders down.
    /// Charges `bytes` just received; true when an ACK may go now, else release_at_ says when the debt is paid.
    bool may_ack(std::uint64_t bytes, steady_time now);
    /// The debt is paid: every held ACK goes now.
    void release_held(steady_time now);

    core_state& state_;
    /// The chunk payload all downloads receive together; unlimited without --max-rate.
    token_bucket limit_;
    /// When the limit's debt is paid and held ACKs go.
    std::optional<steady_time> release_at_;
    std::map<std::uint32_t, download> downloads_;       ///< By id: the first lane's transfer number.
    std::map<std::uint32_t, std::uint32_t> lane_owner_; ///< Transfer number of a lane -> its download's id.
    /// Lanes closed while their download goes on -> {download id, holder}: what they still had on the way when
    /// they were closed arrives, and counts as thrown away.
    std::map<std::uint32_t, std::pair<std::uint32_t, peer_id>> closed_lanes_;
    std::vector<std::uint32_t> sync_waiting_; ///< Finished downloads for the next sync.
    bool sync_running_ = false;
    std::uint32_t next_transfer_ = 1;
    std::uint64_t next_join_ = 0;
};

} // namespace p2p::core
