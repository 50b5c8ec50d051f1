// SPDX-License-Identifier: MIT
#include "p2p/core/download.hpp"

#include "p2p/core/check.hpp"
#include "p2p/core/rate_limit.hpp"

#include <algorithm>

namespace p2p::core {

namespace {
/// Hand written data to the kernel for write-back every this many bytes of a lane, so the final sync has little
/// left.
constexpr std::uint64_t writeback_step = 16u << 20;
} // namespace

download::download(operation_id op, std::uint32_t id, std::string name, std::string local_name, bool replace,
                   window_setting window, std::uint32_t chunk_size, steady_time now)
    : started(now), last_progress_event(), op_(op), id_(id), name_(std::move(name)), local_name_(std::move(local_name)),
      replace_(replace), window_setting_(window), chunk_size_(chunk_size) {}

void download::begin_preparing() {
    P2P_ASSERT(phase_ == phase::requesting && !offered_);
    phase_ = phase::preparing;
}

void download::resume_from(const partial_download& partial, const job_result& result, steady_time now) {
    P2P_ASSERT(phase_ == phase::preparing);
    if (result.ok) {
        // These pieces are taken as received, unchecked: each is checked against its leaf once the manifest is
        // in, and a bad one is fetched again.
        resumed_leaves_ = result.leaves;
        resume_tail_ = result.tail;
        resume_next_ = partial.length;
        resumed_from = partial.length;
        rechecked = result.bytes_read;
        journaled_ = result.journaled; // kept only when the OFFER is of the same version (accept_offer)
        durable_ = result.journal_durable;
        expected_size = partial.size;
        expected_root = partial.hash;
    } else {
        resumed_from = 0; // an unreadable partial: start from zero, it will be replaced
    }
    phase_ = phase::requesting;
    for (auto& [transfer, l] : lanes_) {
        l.last_progress = now;
    }
}

// ---- lanes

download_lane& download::add_lane(peer_id holder, std::uint32_t transfer, std::uint64_t join_order, steady_time now) {
    auto [it, inserted] = lanes_.try_emplace(transfer, holder, transfer, window_setting_, chunk_size_, join_order, now);
    P2P_ASSERT(inserted);
    kept_by_.try_emplace(holder, join_order, 0);
    return it->second;
}

download_lane* download::lane(std::uint32_t transfer) {
    auto it = lanes_.find(transfer);
    return it == lanes_.end() ? nullptr : &it->second;
}

download_lane* download::lane_of(peer_id holder) {
    for (auto& [transfer, l] : lanes_) {
        if (l.holder == holder) {
            return &l;
        }
    }
    return nullptr;
}

void download::remove_lane(std::uint32_t transfer) {
    auto it = lanes_.find(transfer);
    if (it == lanes_.end()) {
        return;
    }
    auto& l = it->second;
    if (offered_ && l.end && l.next < *l.end) {
        // The piece it was in the middle of is dropped with it.
        pool_.add(byte_range{drop_partial_piece(l), *l.end});
    }
    gone_figures_[l.holder] = l.window.figures();
    if (manifest_lane_ == transfer) {
        manifest_lane_ = 0;
    }
    lanes_.erase(it);
}

bool download::assign(download_lane& l, steady_time now) {
    l.offered = false;
    l.ack_held = false;
    if (!offered_) {
        // Nothing is known of the file yet: the first lane asks for everything after the resumed bytes.
        l.begin = l.next = resume_next_;
        l.end.reset();
        if (resume_tail_) {
            l.hasher = *resume_tail_;
        } else {
            l.hasher.reset();
        }
        l.written_back = l.next;
        return true;
    }
    std::optional<byte_range> range = pool_.take();
    if (!range) {
        // The lane with the most work left that others may take gives its far end.
        const double rate = l.recent_rate(now);
        download_lane* victim = nullptr;
        double longest = 0;
        for (auto& [transfer, other] : lanes_) {
            if (&other == &l || !other.end) {
                continue;
            }
            const lane_position at{other.next, other.granted, *other.end, other.recent_rate(now)};
            if (const auto seconds = stealable_seconds(at, rate); seconds > longest) {
                longest = seconds;
                victim = &other;
            }
        }
        if (victim != nullptr) {
            const auto taken =
                steal_range(lane_position{victim->next, victim->granted, *victim->end, victim->recent_rate(now)}, rate,
                            piece_size_);
            if (!taken.empty()) {
                victim->end = taken.begin;
                range = taken;
            }
        }
    }
    if (!range) {
        return false;
    }
    l.begin = l.next = l.written_back = range->begin;
    l.end = range->end;
    l.granted = l.begin;
    l.hasher.reset();
    return true;
}

std::optional<std::uint32_t> download::take_tail(download_lane& l, steady_time now) {
    const double rate = l.recent_rate(now);
    if (!offered_ || rate <= 0) {
        return std::nullopt; // nothing measured of this lane yet: no ground to judge it faster
    }
    const double round_trip = l.window.figures().min_rtt;
    download_lane* victim = nullptr;
    double longest = 0;
    for (auto& [transfer, other] : lanes_) {
        const double other_rate = other.recent_rate(now);
        if (&other == &l || !other.offered || !other.end || other.next >= *other.end || other_rate <= 0) {
            continue;
        }
        if (awaits_leaves_on(other)) {
            // The leaves are asked on its transfer: cut short it would hold them with nothing left to bring, where
            // no stall is ever noticed; left as it is, a stall moves the leaves to another lane.
            continue;
        }
        const double its_seconds = static_cast<double>(*other.end - other.next) / other_rate;
        const auto piece_start = other.next / piece_size_ * piece_size_;
        const double our_seconds = round_trip + static_cast<double>(*other.end - piece_start) / rate;
        // Twice as fast at least: moving a range throws away what its holder has on the way, so it is done only
        // when the gain is sure, never between holders of about the same speed.
        if (2 * our_seconds < its_seconds && its_seconds > longest) {
            longest = its_seconds;
            victim = &other;
        }
    }
    if (victim == nullptr) {
        return std::nullopt;
    }
    const auto cut_at = drop_partial_piece(*victim);
    l.begin = l.next = l.written_back = l.granted = cut_at;
    l.end = *victim->end;
    l.hasher.reset();
    l.offered = false;
    l.ack_held = false;
    victim->end = victim->begin = victim->next = cut_at;
    victim->written_back = std::min(victim->written_back, cut_at);
    victim->hasher.reset();
    return victim->transfer;
}

request download::ask(download_lane& l, steady_time now) {
    P2P_ASSERT(phase_ == phase::requesting || phase_ == phase::receiving);
    l.last_request = l.last_progress = now;
    l.asked();
    l.offered = false;
    // A REQUEST starts the holder from l.next again: credit given before is void, and so is an ACK held back.
    l.ack_held = false;
    l.window.restart(l.next);
    const auto credit = grant_credit(l, l.next);
    l.granted = std::max(l.granted, l.next + std::uint64_t{credit} * l.chunk_size);
    l.window.granted(l.next + std::uint64_t{credit} * l.chunk_size, now);
    return request{l.transfer, name_, l.next, chunk_size_, credit};
}

std::uint32_t download::grant_credit(const download_lane& l, std::uint64_t at) const {
    auto credit = l.window.credit();
    if (max_rate_ != 0) {
        // Under a rate limit every byte in flight is paid for before the next ACK goes: credit beyond what the rate
        // moves in a round trip (plus one chunk's time at the rate) would only arrive as a burst that holds the ACK
        // back longer than the holder's retransmission timeout, and it would send the burst again.
        const double seconds = l.window.figures().min_rtt + std::chrono::duration<double>(rate_chunk_time).count();
        const double chunks = static_cast<double>(max_rate_) * seconds / static_cast<double>(l.chunk_size);
        credit = static_cast<std::uint32_t>(std::clamp<double>(chunks, 1, credit));
    }
    if (l.end && *l.end > at) {
        // Nothing past the range: those bytes are another lane's.
        const auto left = (*l.end - at + l.chunk_size - 1) / l.chunk_size;
        credit = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(left, 1, credit));
    }
    return credit;
}

ack download::make_ack_after(download_lane& l, const chunk& c, steady_time now) {
    const auto end = c.offset + c.data.size();
    l.window.delivered(end, c.data.size(), c.holder_busy_us, now);
    l.ack_held = false; // this one says more than a held one would
    const auto credit = grant_credit(l, end);
    l.granted = std::max(l.granted, end + std::uint64_t{credit} * l.chunk_size);
    l.window.granted(end + std::uint64_t{credit} * l.chunk_size, now);
    return ack{l.transfer, end, credit};
}

ack download::make_ack(download_lane& l, steady_time now) {
    l.ack_held = false;
    const auto credit = grant_credit(l, l.next);
    l.granted = std::max(l.granted, l.next + std::uint64_t{credit} * l.chunk_size);
    l.window.granted(l.next + std::uint64_t{credit} * l.chunk_size, now);
    return ack{l.transfer, l.next, credit};
}

void download::hold_ack_after(download_lane& l, const chunk& c, steady_time now) {
    l.window.delivered(c.offset + c.data.size(), c.data.size(), c.holder_busy_us, now);
    l.ack_held = true;
}

// ---- the OFFER

std::optional<download::offer_problem> download::accept_offer(download_lane& l, const offer& o, folder_io& disk,
                                                              bool& restarted) {
    P2P_ASSERT(phase_ == phase::requesting || phase_ == phase::receiving);
    restarted = false;
    if (o.chunk_size > chunk_size_) {
        // We size our memory by what we asked for; a holder may send smaller chunks, never larger ones.
        return offer_problem{offer_problem::kind::source, "it offered chunks of " + std::to_string(o.chunk_size) +
                                                              " bytes, more than the " + std::to_string(chunk_size_) +
                                                              " asked for"};
    }
    if (offered_) {
        // Every holder must have the very same file, or the bytes would not fit together.
        if (o.size != size_ || o.root != root_ || o.piece_size != piece_size_) {
            return offer_problem{offer_problem::kind::source, "it has a different version of the file"};
        }
        l.chunk_size = o.chunk_size;
        l.window.set_chunk_size(l.chunk_size);
        l.offered = true;
        if (!l.end) {
            l.end = size_; // the first lane of a new holder after every other left: the rest, from where it asks
        }
        return std::nullopt;
    }
    // The resume hash cut the partial file by the piece size rule; an OFFER with other pieces starts over.
    if (resume_next_ > 0 && (expected_size != o.size || expected_root != o.root ||
                             o.piece_size != piece_size_for(expected_size.value_or(0)))) {
        if (auto problem = discard_partial(disk)) {
            return offer_problem{offer_problem::kind::local, *problem};
        }
        restarted = true;
    }
    if (auto available = disk.free_space()) {
        const std::uint64_t needed = o.size > resume_next_ ? o.size - resume_next_ : 0;
        if (needed > *available) {
            return offer_problem{offer_problem::kind::local, "not enough disk space (" + std::to_string(needed) +
                                                                 " bytes needed, " + std::to_string(*available) +
                                                                 " free)"};
        }
    }
    auto opened = disk.open_partial(local_name_, resume_next_ > 0);
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
    if (resume_next_ == 0) {
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
    lay_out_pieces();
    l.chunk_size = o.chunk_size;
    l.window.set_chunk_size(l.chunk_size);
    l.offered = true;
    l.end = size_;
    if (restarted) {
        l.begin = l.next = l.written_back = l.granted = 0;
        l.hasher.reset();
    }
    phase_ = phase::receiving;
    // An empty file, or a resume that holds every byte: the last piece is complete now.
    if (l.next == size_ && pieces_[piece_count() - 1] == piece_state::missing) {
        close_piece(l, piece_count() - 1);
    }
    return std::nullopt;
}

void download::lay_out_pieces() {
    const auto count = piece_count();
    pieces_.assign(count, piece_state::missing);
    computed_.assign(count, digest{});
    sender_.assign(count, peer_id{});
    to_check_.clear();
    const auto resumed = std::min<std::uint64_t>(resumed_leaves_.size(), count);
    for (std::uint64_t i = 0; i < resumed; ++i) {
        computed_[i] = resumed_leaves_[i];
        pieces_[i] = piece_state::hashed;
        to_check_.push_back(i);
    }
    resumed_leaves_.clear();
    held_ = std::min(resume_next_, size_);
}

std::uint64_t download::piece_bytes(std::uint64_t index) const {
    const auto begin = index * piece_size_;
    return std::min<std::uint64_t>(size_ - std::min(size_, begin), piece_size_);
}

void download::close_piece(download_lane& l, std::uint64_t index) {
    computed_[index] = l.hasher.final();
    pieces_[index] = piece_state::hashed;
    sender_[index] = l.holder;
    to_check_.push_back(index);
    l.hasher.reset();
    last_from = l.holder;
}

void download::forget_piece(std::uint64_t index) {
    if (pieces_[index] == piece_state::checked) {
        --checked_count_;
    }
    pieces_[index] = piece_state::missing;
    held_ -= piece_bytes(index);
    unkeep(sender_[index], piece_bytes(index));
    resume_next_ = std::min(resume_next_, index * piece_size_); // what comes again is no longer resumed
    checked_prefix_ = std::min(checked_prefix_, index);
    if (index < journaled_) {
        // (Only a journal that vouched for bytes that are not there: records must never outlive their piece.)
        journaled_ = index;
        durable_ = std::min(durable_, index);
        if (journal_ && journal_->truncate(journal_header_bytes + index * journal_record_bytes)) {
            journal_.reset();
        }
    }
}

void download::go_back(download_lane& l, std::uint64_t index) {
    const auto first = index * piece_size_;
    const auto partial_begin = l.next / piece_size_ * piece_size_;
    // The piece it is in the middle of, then every complete one from `index` on.
    if (l.next > partial_begin && l.next < size_ && pieces_[partial_begin / piece_size_] == piece_state::missing) {
        held_ -= l.next - partial_begin; // (resumed bytes of it too: the whole piece comes again)
        unkeep(l.holder, l.next - std::max(partial_begin, l.begin));
    }
    for (auto i = index; i * piece_size_ < l.next && i < piece_count(); ++i) {
        if (pieces_[i] != piece_state::missing) {
            forget_piece(i);
        }
    }
    l.next = first;
    l.begin = first;
    l.written_back = std::min(l.written_back, first);
    l.hasher.reset();
}

std::optional<std::string> download::discard_partial(folder_io& disk) {
    resume_next_ = 0;
    resume_tail_.reset();
    resumed_leaves_.clear();
    journaled_ = 0;
    resumed_from = 0;
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

// ---- chunks and pieces

download::chunk_result download::check(const download_lane& l, const chunk& c, std::string& error) const {
    if (!offered_ || !l.offered) {
        error = "CHUNK before OFFER";
        return chunk_result::rejected;
    }
    if (c.offset < l.next) {
        return chunk_result::duplicate;
    }
    if (c.offset > l.next) {
        return chunk_result::out_of_order;
    }
    const std::uint64_t length = c.data.size();
    if (length > l.chunk_size || (length == 0 && size_ > 0)) {
        error = "chunk of " + std::to_string(length) + " bytes (chunk size is " + std::to_string(l.chunk_size) + ")";
        return chunk_result::rejected;
    }
    if (length > size_ - l.next) {
        error = "peer sent bytes past the announced size";
        return chunk_result::rejected;
    }
    if (c.last != (l.next + length == size_)) {
        error = "wrong 'last' flag on the chunk at offset " + std::to_string(c.offset);
        return chunk_result::rejected;
    }
    return chunk_result::accepted;
}

bool download::store(download_lane& l, const chunk& c, std::string& error) {
    P2P_ASSERT(phase_ == phase::receiving && l.end);
    // Only what is in its range: a last chunk may run into the next range, which is another lane's.
    const std::uint64_t length = std::min<std::uint64_t>(c.data.size(), *l.end - l.next);
    bytes_received += c.data.size();
    wasted += c.data.size() - length;
    // Written straight from the received frame: no copy.
    if (auto problem = file_->write_at(c.data.data(), length, l.next)) {
        error = "cannot write " + local_name_ + ": " + *problem;
        return false;
    }
    // Each byte is hashed once, into the leaf of its piece; a piece's leaf is taken at its last byte.
    const auto* bytes = c.data.data();
    for (std::uint64_t left = length; left > 0;) {
        const auto index = l.next / piece_size_;
        const std::uint64_t piece_end = std::min<std::uint64_t>((index + 1) * piece_size_, size_);
        const auto take = static_cast<std::size_t>(std::min(left, piece_end - l.next));
        l.hasher.update(bytes, take);
        bytes += take;
        left -= take;
        l.next += take;
        if (l.next == piece_end) {
            close_piece(l, index);
        }
    }
    held_ += length;
    l.kept += length;
    kept_by_[l.holder].second += length;
    if (l.next - l.written_back >= writeback_step) {
        // Start write-back of what is complete now, without waiting, so the final sync is short.
        file_->start_writeback(l.written_back, l.next - l.written_back);
        l.written_back = l.next;
    }
    return true;
}

void download::discard_bad_piece(std::uint64_t index, std::vector<std::uint32_t>& again, std::vector<bad_piece>& bad) {
    const auto sender = sender_[index];
    const auto first = index * piece_size_;
    // A piece that holds bytes of the partial file we resumed from is nobody's fault.
    bad.push_back(bad_piece{index, first < resume_next_ ? peer_id{} : sender});
    auto* l = sender == peer_id{} ? nullptr : lane_of(sender);
    if (l != nullptr && l->end && first < l->next && first + piece_bytes(index) > l->begin) {
        // Its lane brought it in the range it is on: it goes back there, as one transfer always did.
        go_back(*l, index);
        if (std::find(again.begin(), again.end(), l->transfer) == again.end()) {
            again.push_back(l->transfer);
        }
    } else {
        forget_piece(index);
        pool_.add(byte_range{first, first + piece_bytes(index)});
    }
}

std::vector<download::bad_piece> download::check_pieces(std::vector<std::uint32_t>& again) {
    P2P_ASSERT(offered_);
    std::vector<bad_piece> bad;
    if (piece_count() == 1 && !manifest_checked_ && pieces_[0] == piece_state::hashed) {
        // One piece: its leaf is the tree's root, so the file root alone checks it.
        to_check_.clear();
        if (file_root(size_, piece_size_, computed_.front()) != root_) {
            discard_bad_piece(0, again, bad);
            return bad;
        }
        leaves_ = {computed_.front()};
        manifest_checked_ = true;
        to_check_.push_back(0);
    }
    if (!manifest_checked_) {
        return bad;
    }
    std::vector<std::uint64_t> pending;
    pending.swap(to_check_);
    std::sort(pending.begin(), pending.end());
    for (const auto index : pending) {
        if (pieces_[index] != piece_state::hashed) {
            continue; // forgotten meanwhile (a lane went back over it)
        }
        if (computed_[index] == leaves_[index]) {
            pieces_[index] = piece_state::checked;
            ++checked_count_;
        } else {
            discard_bad_piece(index, again, bad);
        }
    }
    while (checked_prefix_ < piece_count() && pieces_[checked_prefix_] == piece_state::checked) {
        ++checked_prefix_;
    }
    if (checked_count_ == piece_count()) {
        phase_ = phase::finishing;
    }
    return bad;
}

std::shared_ptr<const manifest> download::checked_manifest() const {
    if (!offered_ || checked_count_ < piece_count()) {
        return nullptr;
    }
    return std::make_shared<const manifest>(manifest{size_, piece_size_, computed_, root_});
}

bool download::needs_manifest() const {
    return offered_ && piece_count() > 1 && !manifest_checked_;
}

get_manifest download::next_manifest_request() const {
    return get_manifest{manifest_lane_, root_, leaves_.size()};
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

// ---- the journal

std::optional<std::string> download::record_checked_pieces() {
    // Only complete pieces: a resume cuts the partial file by whole pieces, and a short last one ends the download.
    const auto recordable = std::min<std::uint64_t>(checked_prefix_, size_ / std::max<std::uint32_t>(piece_size_, 1));
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
    // Synced pieces stay synced (a bad piece found later truncates the journal first).
    durable_ = std::max(durable_, std::min(durable, journaled_));
}

// ---- the end

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

std::uint64_t download::drop_partial_piece(download_lane& l) {
    const auto piece_begin = l.next / piece_size_ * piece_size_;
    held_ -= l.next - piece_begin;
    unkeep(l.holder, l.next - std::max(piece_begin, l.begin));
    resume_next_ = std::min(resume_next_, piece_begin); // what comes again is no longer resumed
    return piece_begin;
}

void download::unkeep(peer_id holder, std::uint64_t bytes) {
    if (auto it = kept_by_.find(holder); it != kept_by_.end()) {
        bytes = std::min(bytes, it->second.second);
        it->second.second -= bytes;
        wasted += bytes;
    }
    if (auto* l = lane_of(holder)) {
        l->kept -= std::min(bytes, l->kept);
    }
}

std::vector<holder_share> download::shares() const {
    std::vector<std::pair<std::uint64_t, holder_share>> ordered;
    for (const auto& [holder, kept] : kept_by_) {
        if (kept.second > 0) {
            ordered.push_back({kept.first, holder_share{holder, kept.second}});
        }
    }
    std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<holder_share> out;
    for (auto& [order, share] : ordered) {
        out.push_back(share);
    }
    return out;
}

rate_figures download::figures() const {
    // The lane that brought the most speaks for the download; lanes gone keep their last figures.
    std::optional<rate_figures> best;
    std::uint64_t most = 0;
    for (const auto& [transfer, l] : lanes_) {
        if (!best || l.kept > most) {
            best = l.window.figures();
            most = l.kept;
        }
    }
    for (const auto& [holder, figures] : gone_figures_) {
        const auto kept = kept_by_.contains(holder) ? kept_by_.at(holder).second : 0;
        if (!best || kept > most) {
            best = figures;
            most = kept;
        }
    }
    return best.value_or(rate_figures{});
}

} // namespace p2p::core
