// SPDX-License-Identifier: MIT
#include "p2p/download.hpp"

#include "p2p/log.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace p2p {

namespace {

/// Hand written data to the kernel for write-back every this many bytes, so the final fsync has little left.
constexpr std::uint64_t writeback_step = 16u << 20;
constexpr std::string_view meta_magic = "p2p-partial 1";

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

std::string name_digest(std::string_view name) {
    blake2b h;
    h.update(name.data(), name.size());
    return to_hex(h.final()).substr(0, 32);
}

std::optional<digest> parse_hex_digest(std::string_view hex) {
    digest d{};
    if (hex.size() != d.size() * 2) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < d.size(); ++i) {
        unsigned value = 0;
        for (int k = 0; k < 2; ++k) {
            char c = hex[i * 2 + static_cast<std::size_t>(k)];
            unsigned v = c >= '0' && c <= '9'   ? static_cast<unsigned>(c - '0')
                         : c >= 'a' && c <= 'f' ? static_cast<unsigned>(c - 'a' + 10)
                                                : 16u;
            if (v > 15) {
                return std::nullopt;
            }
            value = value * 16 + v;
        }
        d[i] = static_cast<std::uint8_t>(value);
    }
    return d;
}

} // namespace

std::string partial_file_name(std::string_view name) {
    return ".p2p-part-" + name_digest(name);
}
std::string partial_meta_name(std::string_view name) {
    return partial_file_name(name) + ".meta";
}

std::optional<partial_download> find_partial(int dir_fd, std::string_view name) {
    unique_fd meta(::openat(dir_fd, partial_meta_name(name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!meta) {
        return std::nullopt;
    }
    char buffer[256];
    auto n = ::read(meta.get(), buffer, sizeof buffer - 1);
    if (n <= 0) {
        return std::nullopt;
    }
    buffer[n] = '\0';
    char magic[32] = {};
    unsigned long long size = 0;
    char hex[80] = {};
    if (std::sscanf(buffer, "%31[^\n]\n%llu\n%79s", magic, &size, hex) != 3 || meta_magic != magic) {
        return std::nullopt;
    }
    auto hash = parse_hex_digest(hex);
    struct ::stat st {};
    if (!hash || ::fstatat(dir_fd, partial_file_name(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) || static_cast<unsigned long long>(st.st_size) > size) {
        return std::nullopt;
    }
    return partial_download{size, *hash, static_cast<std::uint64_t>(st.st_size)};
}

download::download(operation_id op, std::uint32_t transfer, std::string name, std::uint32_t window,
                   std::uint32_t chunk_size, steady_time now)
    : started(now), last_progress(now), last_request(now), last_progress_event(), op_(op), transfer_(transfer),
      name_(std::move(name)), window_(window), chunk_size_(chunk_size) {}

void download::resume_from(const partial_download& partial, const blake2b& state) {
    partial_ = partial;
    hasher_ = state;
    next_ = partial.length;
    resumed_from = partial.length;
}

request download::make_request() const {
    return request{transfer_, name_, next_, chunk_size_, window_};
}

std::optional<download::offer_problem> download::accept_offer(const offer& o, int dir_fd, bool& restarted) {
    restarted = false;
    if (o.chunk_size > chunk_size_) {
        // We size our memory by what we asked for; a holder may send smaller chunks, never larger ones.
        return offer_problem{offer_problem::kind::source, "it offered chunks of " + std::to_string(o.chunk_size) +
                                                              " bytes, more than the " + std::to_string(chunk_size_) +
                                                              " asked for"};
    }
    if (offered_) {
        // A new source after failover must have the very same file, or the bytes would not fit together.
        if (o.size != size_ || o.hash != hash_) {
            return offer_problem{offer_problem::kind::source, "it has a different version of the file"};
        }
        chunk_size_ = o.chunk_size;
        return std::nullopt;
    }
    if (partial_ && (partial_->size != o.size || partial_->hash != o.hash)) {
        if (auto problem = discard_partial(dir_fd)) {
            return offer_problem{offer_problem::kind::local, *problem};
        }
        restarted = true;
    }
    struct ::statvfs fs {};
    if (::fstatvfs(dir_fd, &fs) == 0) {
        const std::uint64_t available = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
        const std::uint64_t needed = o.size > next_ ? o.size - next_ : 0;
        if (needed > available) {
            return offer_problem{offer_problem::kind::local, "not enough disk space (" + std::to_string(needed) +
                                                                 " bytes needed, " + std::to_string(available) +
                                                                 " free)"};
        }
    }
    const auto part = partial_file_name(name_);
    if (partial_ && next_ > 0) {
        file_.reset(::openat(dir_fd, part.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    } else {
        // A leftover partial file with no usable description is ours (reserved name) and worthless: replace it.
        ::unlinkat(dir_fd, part.c_str(), 0);
        file_.reset(::openat(dir_fd, part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    }
    if (!file_) {
        return offer_problem{offer_problem::kind::local, "cannot create the partial file: " + errno_text(errno)};
    }
    // The description lets a restarted peer resume: same name, size and hash means the bytes we have still fit.
    const auto meta_text = std::string(meta_magic) + "\n" + std::to_string(o.size) + "\n" + to_hex(o.hash) + "\n";
    unique_fd meta(::openat(dir_fd, partial_meta_name(name_).c_str(),
                            O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!meta || ::write(meta.get(), meta_text.data(), meta_text.size()) != static_cast<ssize_t>(meta_text.size())) {
        return offer_problem{offer_problem::kind::local,
                             "cannot write the partial file's description: " + errno_text(errno)};
    }
    offered_ = true;
    size_ = o.size;
    hash_ = o.hash;
    chunk_size_ = o.chunk_size;
    return std::nullopt;
}

std::optional<std::string> download::discard_partial(int dir_fd) {
    partial_.reset();
    hasher_ = blake2b();
    next_ = 0;
    resumed_from = 0;
    synced_ = 0;
    if (file_) {
        // Old bytes past the new file's end would survive the restart and end up in the final file: a failed
        // truncation fails the download.
        if (::ftruncate(file_.get(), 0) != 0) {
            return "cannot empty the partial file: " + errno_text(errno);
        }
    } else {
        ::unlinkat(dir_fd, partial_file_name(name_).c_str(), 0);
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
    const std::uint64_t length = c.data.size();
    // Written straight from the received frame: no copy.
    const auto* data = static_cast<const char*>(c.data.data());
    std::size_t done = 0;
    while (done < length) {
        auto n = ::pwrite(file_.get(), data + done, length - done, static_cast<off_t>(next_ + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error = "cannot write " + name_ + ": " + errno_text(errno);
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    hasher_.update(data, length);
    next_ += length;
    bytes_received += length;
    if (next_ - synced_ >= writeback_step) {
        // Start write-back of what is complete now, without waiting, so the final fsync is short.
        ::sync_file_range(file_.get(), static_cast<off_t>(synced_), static_cast<off_t>(next_ - synced_),
                          SYNC_FILE_RANGE_WRITE);
        synced_ = next_;
    }
    return true;
}

unique_fd download::dup_fd() const {
    return unique_fd(::fcntl(file_.get(), F_DUPFD_CLOEXEC, 0));
}

std::optional<std::string> download::finish(int dir_fd, download_errc& code) {
    file_.reset();
    const digest got = hasher_.final();
    if (got != hash_) {
        remove_partial(dir_fd);
        code = download_errc::integrity;
        return "integrity check failed: BLAKE2b " + to_hex(got).substr(0, 16) + "... instead of " +
               to_hex(hash_).substr(0, 16) + "...; the partial file was deleted";
    }
    const auto part = partial_file_name(name_);
    if (::renameat2(dir_fd, part.c_str(), dir_fd, name_.c_str(), RENAME_NOREPLACE) != 0) {
        int err = errno;
        remove_partial(dir_fd);
        if (err == EEXIST) {
            code = download_errc::exists;
            return "a file named " + name_ + " appeared in the folder meanwhile; it was not overwritten";
        }
        code = download_errc::io;
        return "cannot rename into place: " + errno_text(err);
    }
    ::unlinkat(dir_fd, partial_meta_name(name_).c_str(), 0);
    // The rename is durable only once the directory is. The file is complete and verified by now, so a failure
    // here is said, not turned into a failed download.
    if (::fsync(dir_fd) != 0) {
        log(log_level::warn, "got ", name_, ", but flushing its folder failed: ", errno_text(errno),
            "; a crash now could lose the rename");
    }
    return std::nullopt;
}

void download::remove_partial(int dir_fd) {
    file_.reset();
    ::unlinkat(dir_fd, partial_file_name(name_).c_str(), 0);
    ::unlinkat(dir_fd, partial_meta_name(name_).c_str(), 0);
}

} // namespace p2p
