// SPDX-License-Identifier: MIT
#include "p2p/private_files.hpp"

#include "p2p/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace p2p {

namespace {

std::runtime_error file_error(const std::filesystem::path& path, const std::string& what) {
    return std::runtime_error(path.string() + ": " + what);
}

std::string errno_text() {
    return std::generic_category().message(errno);
}

} // namespace

std::filesystem::path private_dir(const std::filesystem::path& folder) {
    const auto dir = folder / ".p2p";
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw file_error(dir, "cannot create: " + errno_text());
    }
    struct ::stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        throw file_error(dir, "is not a directory");
    }
    return dir;
}

std::optional<std::string> read_private_file(const std::filesystem::path& path, std::size_t max_size, bool secret) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        throw file_error(path, "cannot open: " + errno_text());
    }
    struct ::stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        throw file_error(path, "is not a regular file");
    }
    if (secret && (st.st_mode & 077) != 0) {
        // ssh refuses such keys too: anyone who could read it could be us.
        throw file_error(path, "is readable by others; chmod 600 it");
    }
    if (static_cast<std::size_t>(st.st_size) > max_size) {
        throw file_error(path, "is larger than such a file can be (" + std::to_string(st.st_size) + " bytes)");
    }
    std::string text(max_size + 1, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        const auto n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw file_error(path, "cannot read: " + errno_text());
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    return text;
}

void write_private_file(const std::filesystem::path& path, std::string_view text) {
    auto temporary = path;
    temporary += ".tmp";
    ::unlink(temporary.c_str());
    unique_fd out(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out || ::write(out.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(out.get()) != 0) {
        throw file_error(temporary, "cannot write: " + errno_text());
    }
    out.reset();
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        throw file_error(path, "cannot create: " + errno_text());
    }
}

} // namespace p2p
