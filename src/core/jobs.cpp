// SPDX-License-Identifier: MIT
#include "p2p/core/jobs.hpp"

#include "p2p/manifest_store.hpp"

#include <vector>

namespace p2p::core {

namespace {

constexpr std::size_t read_block = 1u << 20;

/// The holder's manifest from the store, when it has the one of this very file version.
bool from_store(hash_job& work, job_result& out) {
    if (!work.store) {
        return false;
    }
    auto stored = work.store->lookup(work.name, work.stat, work.piece_size);
    if (!stored || stored->size != work.length) {
        return false;
    }
    out.leaves = std::move(stored->leaves);
    out.ok = true;
    return true;
}

/// Keeps a freshly built manifest, unless the file changed while it was read (then it is of no version on disk).
void keep(hash_job& work, const job_result& out) {
    const auto now = work.file->stat();
    if (!work.store || !now || !(*now == work.stat)) {
        return;
    }
    manifest m;
    m.size = work.length;
    m.piece_size = work.piece_size;
    m.leaves = out.leaves;
    if (m.leaves.size() < piece_count_for(m.size, m.piece_size)) {
        m.leaves.push_back(out.tail.final());
    }
    m.root = file_root(m.size, m.piece_size, merkle_root(m.leaves));
    try {
        work.store->store(work.name, work.stat, m);
    } catch (const std::exception&) {
        // Disk full or read-only: the manifest is only not kept, the file is served all the same.
    }
}

job_result run(job_id id, hash_job& work, const std::function<bool()>& should_stop) {
    job_result out{id, false, {}, {}, {}, 0, 0, 0};
    if (from_store(work, out)) {
        return out;
    }
    out.leaves.reserve(static_cast<std::size_t>(work.length / work.piece_size));
    if (work.journal && work.key.piece_size == work.piece_size) {
        // The journal's pieces were checked against the manifest and made durable before they were recorded.
        auto contents = read_journal(*work.journal, work.key, work.length / work.piece_size);
        out.leaves = std::move(contents.leaves);
        out.journaled = out.leaves.size();
        out.journal_durable = contents.durable;
        // Records past those trusted (a partial file shorter than its journal says) would vouch for the pieces
        // written there next before they are checked: they go, or the journal is not used.
        if (out.journaled > 0 && trim_journal(*work.journal, out.journaled)) {
            out.leaves.clear();
            out.journaled = 0;
            out.journal_durable = 0;
        }
    }
    const std::uint64_t start = out.journaled * work.piece_size;
    // No larger than what is read: hashing many small files must not zero a megabyte each time.
    std::vector<std::byte> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(read_block, work.length - start)));
    for (std::uint64_t offset = start; offset < work.length;) {
        if (should_stop()) {
            out.error = "cancelled";
            return out;
        }
        // A read never crosses a piece's end, so each piece's last byte ends a read and its leaf is taken there.
        const std::uint64_t piece_end = (offset / work.piece_size + 1) * work.piece_size;
        const auto want = static_cast<std::size_t>(
            std::min<std::uint64_t>({buffer.size(), work.length - offset, piece_end - offset}));
        if (auto problem = work.file->read_at(buffer.data(), want, offset)) {
            out.error = *problem;
            return out;
        }
        out.tail.update(buffer.data(), want);
        offset += want;
        out.bytes_read += want;
        if (offset == piece_end) {
            out.leaves.push_back(out.tail.final());
            out.tail.reset();
        }
    }
    out.ok = true;
    keep(work, out);
    return out;
}

job_result run(job_id id, sync_job& work, const std::function<bool()>&) {
    job_result out{id, false, {}, {}, {}, 0, 0, 0};
    if (work.files.size() > 1) {
        for (const auto& file : work.files) {
            file->start_writeback(0, 0); // to the end of the file
        }
    }
    for (const auto& file : work.files) {
        if (auto problem = file->sync()) {
            out.error = *problem;
            return out;
        }
    }
    out.ok = true;
    return out;
}

job_result run(job_id id, journal_job& work, const std::function<bool()>&) {
    job_result out{id, false, {}, {}, {}, 0, 0, 0};
    // Data first, then the mark: a crash between the two only leaves the older mark.
    if (auto problem = work.file->sync()) {
        out.error = *problem;
        return out;
    }
    if (auto problem = mark_durable(*work.journal, work.key, work.durable)) {
        out.error = "cannot write the journal: " + *problem;
        return out;
    }
    out.ok = true;
    return out;
}

} // namespace

job_result run_job(job_id id, job& work, const std::function<bool()>& should_stop) {
    return std::visit([&](auto& w) { return run(id, w, should_stop); }, work);
}

} // namespace p2p::core
