// SPDX-License-Identifier: MIT
// core/download_table.hpp - downloading: choosing a source, resume, in-order writes with ACKs, failover, the
// atomic finish. Each download moves through its own phases (download.hpp); this table feeds it inputs.
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
    /// This peer spent `spent` writing and hashing a chunk of this download.
    void charge(std::uint32_t transfer, std::chrono::nanoseconds spent);
    /// A page of the manifest's leaves from the source.
    void on_manifest(remote_peer& from, const manifest_page& page, steady_time now);
    /// NOT_FOUND or ABORT from the source of our transfer: try another source.
    void on_refused(remote_peer& from, std::uint32_t transfer, std::string reason, download_errc code, steady_time now);
    void on_resume_hashed(std::uint32_t transfer, const partial_download& partial, const job_result& result,
                          steady_time now);
    /// The sync of a batch of finished downloads is back (those of them still here are renamed into place).
    void on_synced(const std::vector<std::uint32_t>& transfers, const job_result& result, steady_time now);
    /// A sync that makes pieces [0, durable) durable is back.
    void on_journaled(std::uint32_t transfer, std::uint64_t durable, const job_result& result);

    /// Every checked piece is recorded in the journal at once (piece_journal.hpp): a process killed on this boot
    /// re-reads at most the piece it was receiving. For a resume after a reboot, a sync marks pieces durable once
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
    /// The peer left or was evicted: downloads from it go on with another source, if one has the file.
    void on_peer_gone(peer_id id, bool said_goodbye, steady_time now);
    /// We are leaving now: every download ends; partial files stay for a resume.
    void end_all(steady_time now);

    bool empty() const { return downloads_.empty(); }
    std::vector<pending_transfer> in_flight() const;

    std::optional<steady_time> next_deadline() const;
    void on_deadline(steady_time now);

private:
    /// Whether a download's source may still be sending: then leaving it takes a CANCEL.
    enum class source_state { serving, ended };

    download* find(std::uint32_t transfer);
    /// Connected peers that list the file (with the offered size, once there is an offer), by join order.
    std::vector<remote_peer*> sources_for(const download& d);
    /// Asks `source` (or, while preparing, makes it the one to ask when the hash is done).
    void request_from(download& d, remote_peer& source, steady_time now);
    void release_source(download& d, source_state state, const std::string& reason);
    void fail_over(download& d, std::string reason, download_errc code, source_state state, steady_time now);
    void fail(download& d, download_errc code, std::string error, source_state state, steady_time now);
    /// Checks the pieces whose leaves are known; asks a bad one again from `from` (its sender), drops a source
    /// after its second bad piece, and finishes once every piece is in and good. Dropping the source may end the
    /// download: `d` is then gone.
    void check_pieces(download& d, remote_peer& from, steady_time now);
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
    /// When the download next needs the loop (REQUEST repeat, stall check), or nullopt while it waits for a job.
    std::optional<steady_time> deadline(const download& d) const;
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
    std::map<std::uint32_t, download> downloads_;
    std::vector<std::uint32_t> sync_waiting_; ///< Finished downloads for the next sync.
    bool sync_running_ = false;
    std::uint32_t next_transfer_ = 1;
};

} // namespace p2p::core
