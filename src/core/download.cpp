// SPDX-License-Identifier: MIT
#include "p2p/core/download.hpp"

#include "p2p/core/check.hpp"
#include "p2p/core/rate_limit.hpp"

#include <algorithm>

namespace p2p::core {

namespace {
/// Hand written data to the kernel for write-back every this many bytes, so the final sync has little left.
constexpr std::uint64_t writeback_step = 16u << 20;
} // namespace

download::download(operation_id op, std::uint32_t transfer, std::string name, std::string local_name, bool replace,
                   window_setting window, std::uint32_t chunk_size, steady_time now)
    : started(now), last_progress(now), last_request(now), last_progress_event(), op_(op), transfer_(transfer),
      name_(std::move(name)), local_name_(std::move(local_name)), replace_(replace), window_(window, chunk_size),
      chunk_size_(chunk_size) {}

void download::begin_preparing() {
    P2P_ASSERT(phase_ == phase::requesting && !offered_);
    phase_ = phase::preparing;
}

void download::resume_from(const partial_download& partial, const job_result& result, steady_time now) {
    P2P_ASSERT(phase_ == phase::preparing);
    if (result.ok) {
        // These pieces are taken as received, unchecked: each is checked against its leaf once the manifest is
        // in, and a bad one is fetched again.
        partial_ = partial;
        computed_ = result.leaves;
        piece_hasher_ = result.tail;
        resumed_pieces_ = computed_.size();
        next_ = partial.length;
        resumed_from = partial.length;
        rechecked = result.bytes_read;
        journaled_ = result.journaled; // kept only when the OFFER is of the same version (accept_offer)
        durable_ = result.journal_durable;
    } else {
        resumed_from = 0; // an unreadable partial: start from zero, it will be replaced
    }
    phase_ = phase::requesting;
    last_progress = now;
}

request download::ask(steady_time now) {
    P2P_ASSERT(phase_ == phase::requesting || phase_ == phase::receiving);
    phase_ = phase::requesting;
    last_request = last_progress = now;
    // A REQUEST starts the holder from next_ again: credit given before is void, and so is an ACK held back.
    ack_held_ = false;
    window_.restart(next_);
    const auto credit = grant_credit();
    window_.granted(next_ + std::uint64_t{credit} * chunk_size_, now);
    return request{transfer_, name_, next_, chunk_size_, credit};
}

std::uint32_t download::grant_credit() const {
    const auto credit = window_.credit();
    if (max_rate_ == 0) {
        return credit;
    }
    // Under a rate limit every byte in flight is paid for before the next ACK goes: credit beyond what the rate
    // moves in a round trip (plus one chunk's time at the rate) would only arrive as a burst that holds the ACK back
    // longer than the holder's retransmission timeout, and it would send the burst again: more bytes, more debt.
    const double seconds = window_.figures().min_rtt + std::chrono::duration<double>(rate_chunk_time).count();
    const double chunks = static_cast<double>(max_rate_) * seconds / static_cast<double>(chunk_size_);
    return static_cast<std::uint32_t>(std::clamp<double>(chunks, 1, credit));
}

ack download::make_ack_after(const chunk& c, steady_time now) {
    const auto end = c.offset + c.data.size();
    window_.delivered(end, c.data.size(), c.holder_busy_us, now);
    ack_held_ = false; // this one says more than a held one would
    const auto credit = grant_credit();
    window_.granted(end + std::uint64_t{credit} * chunk_size_, now);
    return ack{transfer_, end, credit};
}

ack download::make_ack(steady_time now) {
    ack_held_ = false;
    const auto credit = grant_credit();
    window_.granted(next_ + std::uint64_t{credit} * chunk_size_, now);
    return ack{transfer_, next_, credit};
}

void download::hold_ack_after(const chunk& c, steady_time now) {
    window_.delivered(c.offset + c.data.size(), c.data.size(), c.holder_busy_us, now);
    ack_held_ = true;
}

ack download::release_ack(steady_time now) {
    P2P_ASSERT(ack_held_);
    // Every chunk held for is stored by now, so next_ is the end of the last one: the ACK says what it would have.
    return make_ack(now);
}

std::optional<download::offer_problem> download::accept_offer(const offer& o, folder_io& disk, bool& restarted) {
    P2P_ASSERT(phase_ == phase::requesting);
    restarted = false;
    if (o.chunk_size > chunk_size_) {
        // We size our memory by what we asked for; a holder may send smaller chunks, never larger ones.
        return offer_problem{offer_problem::kind::source, "it offered chunks of " + std::to_string(o.chunk_size) +
                                                              " bytes, more than the " + std::to_string(chunk_size_) +
                                                              " asked for"};
    }
    if (offered_) {
        // A new source after failover must have the very same file, or the bytes would not fit together.
        if (o.size != size_ || o.root != root_ || o.piece_size != piece_size_) {
            return offer_problem{offer_problem::kind::source, "it has a different version of the file"};
        }
        chunk_size_ = o.chunk_size;
        window_.set_chunk_size(chunk_size_);
        phase_ = phase::receiving;
        return std::nullopt;
    }
    // The resume hash cut the partial file by the piece size rule; an OFFER with other pieces starts over.
    if (partial_ &&
        (partial_->size != o.size || partial_->hash != o.root || o.piece_size != piece_size_for(partial_->size))) {
        if (auto problem = discard_partial(disk)) {
            return offer_problem{offer_problem::kind::local, *problem};
        }
        restarted = true;
    }
    if (auto available = disk.free_space()) {
        const std::uint64_t needed = o.size > next_ ? o.size - next_ : 0;
        if (needed > *available) {
            return offer_problem{offer_problem::kind::local, "not enough disk space (" + std::to_string(needed) +
                                                                 " bytes needed, " + std::to_string(*available) +
                                                                 " free)"};
        }
    }
    auto opened = disk.open_partial(local_name_, partial_ && next_ > 0);
    if (auto* error = std::get_if<std::string>(&opened)) {
        return offer_problem{offer_problem::kind::local, "cannot create the partial file: " + *error};
    }
    file_ = std::get<std::shared_ptr<file_handle>>(std::move(opened));
    // The description lets a restarted peer resume: same name, size and root means the bytes we have may still fit
    // (each piece is checked again all the same). A file of one piece gains nothing from it or from a journal (a
    // resume fetches its one piece again), and creating and removing them was most of the cost of a small file.
    const bool resumable = o.size > o.piece_size;
    if (auto problem = resumable ? disk.describe_partial(local_name_, o.size, o.root) : std::nullopt) {
        return offer_problem{offer_problem::kind::local, "cannot write the partial file's description: " + *problem};
    }
    // The journal's records stay only while the bytes they describe do.
    if (!(partial_ && next_ > 0)) {
        journaled_ = 0;
        durable_ = 0;
    }
    offered_ = true;
    size_ = o.size;
    root_ = o.root;
    piece_size_ = o.piece_size;
    boot_ = disk.boot();
    if (resumable) {
        if (auto journal = disk.open_journal(local_name_, journaled_ > 0);
            auto* opened_journal = std::get_if<std::shared_ptr<file_handle>>(&journal)) {
            journal_ = std::move(*opened_journal);
            // The records kept are this boot's from now on (those of another boot were cut to the durable ones).
            if (journaled_ > 0 && mark_durable(*journal_, key(), durable_)) {
                journal_.reset();
            }
        }
    }
    if (!journal_) {
        // Not fatal: without a journal a resume re-reads the whole partial file, as it did before journals.
        journaled_ = 0;
        durable_ = 0;
    }
    chunk_size_ = o.chunk_size;
    window_.set_chunk_size(chunk_size_);
    phase_ = phase::receiving;
    close_last_piece();
    return std::nullopt;
}

void download::close_last_piece() {
    if (next_ == size_ && computed_.size() < piece_count()) {
        computed_.push_back(piece_hasher_.final());
        piece_hasher_.reset();
    }
}

download::bad_piece download::go_back(std::uint64_t index) {
    const bad_piece bad{index, index >= resumed_pieces_};
    computed_.resize(static_cast<std::size_t>(index));
    checked_ = std::min(checked_, index);
    if (index < journaled_) {
        // (Only a journal that vouched for bytes that are not there: records must never outlive their piece.)
        journaled_ = index;
        durable_ = std::min(durable_, index);
        if (journal_ && journal_->truncate(journal_header_bytes + index * journal_record_bytes)) {
            journal_.reset();
        }
    }
    resumed_pieces_ = std::min(resumed_pieces_, index);
    piece_hasher_.reset();
    next_ = index * piece_size_;
    synced_ = std::min(synced_, next_);
    phase_ = phase::receiving;
    return bad;
}

std::optional<download::bad_piece> download::check_pieces() {
    P2P_ASSERT(offered_);
    if (piece_count() == 1 && !manifest_checked_ && computed_.size() == 1) {
        // One piece: its leaf is the tree's root, so the file root alone checks it.
        if (file_root(size_, piece_size_, computed_.front()) != root_) {
            return go_back(0);
        }
        leaves_ = computed_;
        manifest_checked_ = true;
    }
    if (!manifest_checked_) {
        return std::nullopt;
    }
    for (; checked_ < computed_.size(); ++checked_) {
        if (computed_[checked_] != leaves_[checked_]) {
            return go_back(checked_);
        }
    }
    if (next_ == size_ && checked_ == piece_count()) {
        phase_ = phase::finishing;
    }
    return std::nullopt;
}

std::shared_ptr<const manifest> download::checked_manifest() const {
    if (!offered_ || checked_ < piece_count() || computed_.size() != piece_count()) {
        return nullptr;
    }
    return std::make_shared<const manifest>(manifest{size_, piece_size_, computed_, root_});
}

bool download::needs_manifest() const {
    return offered_ && piece_count() > 1 && !manifest_checked_;
}

get_manifest download::next_manifest_request() const {
    return get_manifest{transfer_, root_, leaves_.size()};
}

download::page_result download::add_manifest_page(const manifest_page& page, std::string& error) {
    if (!needs_manifest() || page.first != leaves_.size()) {
        return page_result::ignored; // a page asked for twice (a REQUEST went again meanwhile)
    }
    if (page.leaves.size() > piece_count() - leaves_.size()) {
        leaves_.clear();
        error = "sent more leaves than the file has pieces";
        return page_result::bad;
    }
    leaves_.insert(leaves_.end(), page.leaves.begin(), page.leaves.end());
    if (leaves_.size() < piece_count()) {
        return page_result::more;
    }
    if (file_root(size_, piece_size_, merkle_root(leaves_)) != root_) {
        leaves_.clear();
        error = "sent a manifest that does not match the root it offered";
        return page_result::bad;
    }
    manifest_checked_ = true;
    return page_result::complete;
}

std::optional<std::string> download::discard_partial(folder_io& disk) {
    partial_.reset();
    journaled_ = 0;
    computed_.clear();
    checked_ = 0;
    resumed_pieces_ = 0;
    piece_hasher_.reset();
    next_ = 0;
    resumed_from = 0;
    synced_ = 0;
    if (file_) {
        // Old bytes past the new file's end would survive the restart and end up in the final file: a failed
        // truncation fails the download.
        if (auto problem = file_->truncate(0)) {
            return "cannot empty the partial file: " + *problem;
        }
    } else {
        disk.remove_partial(local_name_);
    }
    return std::nullopt;
}

download::chunk_result download::check(const chunk& c, std::string& error) const {
    if (!offered_) {
        error = "CHUNK before OFFER";
        return chunk_result::rejected;
    }
    if (c.offset < next_) {
        return chunk_result::duplicate;
    }
    if (c.offset > next_) {
        return chunk_result::out_of_order;
    }
    const std::uint64_t length = c.data.size();
    if (length > chunk_size_ || (length == 0 && size_ > 0)) {
        error = "chunk of " + std::to_string(length) + " bytes (chunk size is " + std::to_string(chunk_size_) + ")";
        return chunk_result::rejected;
    }
    if (length > size_ - next_) {
        error = "peer sent bytes past the announced size";
        return chunk_result::rejected;
    }
    if (c.last != (next_ + length == size_)) {
        error = "wrong 'last' flag on the chunk at offset " + std::to_string(c.offset);
        return chunk_result::rejected;
    }
    return chunk_result::accepted;
}

bool download::store(const chunk& c, std::string& error) {
    P2P_ASSERT(phase_ == phase::receiving);
    const std::uint64_t length = c.data.size();
    // Written straight from the received frame: no copy.
    if (auto problem = file_->write_at(c.data.data(), length, next_)) {
        error = "cannot write " + local_name_ + ": " + *problem;
        return false;
    }
    // Each byte is hashed once, into the leaf of its piece; a piece's leaf is taken at its last byte.
    const auto* bytes = c.data.data();
    for (std::uint64_t left = length; left > 0;) {
        const std::uint64_t piece_end = (computed_.size() + 1) * piece_size_;
        const auto take = static_cast<std::size_t>(std::min(left, piece_end - next_));
        piece_hasher_.update(bytes, take);
        bytes += take;
        left -= take;
        next_ += take;
        if (next_ == piece_end) {
            computed_.push_back(piece_hasher_.final());
            piece_hasher_.reset();
        }
    }
    close_last_piece();
    bytes_received += length;
    if (next_ - synced_ >= writeback_step) {
        // Start write-back of what is complete now, without waiting, so the final sync is short.
        file_->start_writeback(synced_, next_ - synced_);
        synced_ = next_;
    }
    return true;
}

std::optional<std::string> download::record_checked_pieces() {
    // Only complete pieces: a resume cuts the partial file by whole pieces, and a short last one ends the download.
    const auto recordable = std::min<std::uint64_t>(checked_, size_ / std::max<std::uint32_t>(piece_size_, 1));
    if (!journal_ || recordable <= journaled_) {
        return std::nullopt;
    }
    const auto* first = computed_.data() + journaled_;
    if (auto problem = write_journal(*journal_, key(), journaled_, first, recordable - journaled_)) {
        journal_.reset(); // a resume re-reads what the records written so far do not cover
        return problem;
    }
    journaled_ = recordable;
    return std::nullopt;
}

std::optional<journal_job> download::next_journal_write(std::uint64_t min_pieces) {
    if (phase_ != phase::receiving || !journal_ || journal_busy_ || journaled_ < durable_ + min_pieces) {
        return std::nullopt;
    }
    journal_busy_ = true;
    return journal_job{file_, journal_, key(), journaled_};
}

void download::journal_written(std::uint64_t durable, bool ok) {
    journal_busy_ = false;
    if (!ok) {
        // A failed sync may have dropped written bytes (the kernel marks pages clean after a write-back error), so
        // records past the durable ones are not true even on this boot: the block says so (boot unknown). A disk
        // that cannot sync now would most likely fail again: the journal is given up, and a resume re-reads.
        auto unknown_boot = key();
        unknown_boot.boot = boot_id{};
        [[maybe_unused]] auto marked = mark_durable(*journal_, unknown_boot, durable_);
        journal_.reset();
        return;
    }
    // Synced pieces stay synced (a bad piece is always one after the checked ones).
    durable_ = std::max(durable_, std::min(durable, journaled_));
}

std::optional<std::string> download::finish(folder_io& disk, download_errc& code) {
    P2P_ASSERT(phase_ == phase::finishing);
    file_.reset();
    journal_.reset();
    std::string error;
    switch (disk.place_partial(local_name_, replace_, error)) {
    case place_result::placed:
        return std::nullopt;
    case place_result::name_taken:
        remove_partial(disk);
        code = download_errc::exists;
        return "a file named " + local_name_ + " appeared in the folder meanwhile; it was not overwritten";
    case place_result::failed:
        break;
    }
    remove_partial(disk);
    code = download_errc::io;
    return "cannot rename into place: " + error;
}

void download::remove_partial(folder_io& disk) {
    file_.reset();
    journal_.reset();
    disk.remove_partial(local_name_);
}

} // namespace p2p::core
