// SPDX-License-Identifier: MIT
#include "p2p/curve_keys.hpp"

#include "p2p/blake2b.hpp"
#include "p2p/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace p2p {

namespace {

constexpr std::size_t z85_key_length = 40;
constexpr std::string_view key_dir = ".p2p";
constexpr std::string_view key_file = "curve.key";

std::runtime_error key_error(const std::filesystem::path& path, const std::string& what) {
    return std::runtime_error(path.string() + ": " + what);
}

std::string errno_text() {
    return std::generic_category().message(errno);
}

} // namespace

bool is_valid_key(std::string_view key_z85) {
    if (key_z85.size() != z85_key_length) {
        return false;
    }
    std::array<std::uint8_t, 32> raw{};
    const std::string text(key_z85);
    return zmq_z85_decode(raw.data(), text.c_str()) != nullptr;
}

peer_id peer_id_for_key(std::string_view public_key_z85) {
    blake2b h;
    h.update(public_key_z85.data(), public_key_z85.size());
    const auto d = h.final();
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) {
        value = value << 8 | d[static_cast<std::size_t>(i)];
    }
    // Routing ids must not begin with a zero byte (libzmq reserves those), as for random ids.
    if ((value >> 56) == 0) {
        value |= std::uint64_t{1} << 56;
    }
    return peer_id(value);
}

curve_keypair load_or_create_keypair(const std::filesystem::path& folder) {
    const auto dir = folder / key_dir;
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw key_error(dir, "cannot create: " + errno_text());
    }
    struct ::stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        throw key_error(dir, "is not a directory");
    }
    const auto path = dir / key_file;
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd) {
        if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
            throw key_error(path, "is not a regular file");
        }
        if ((st.st_mode & 077) != 0) {
            // ssh refuses such keys too: anyone who could read it could be us.
            throw key_error(path, "is readable by others; chmod 600 it");
        }
        char buffer[128] = {};
        const auto n = ::read(fd.get(), buffer, sizeof buffer - 1);
        std::string text(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
        curve_keypair keys;
        if (text.size() < 2 * z85_key_length + 1) {
            throw key_error(path, "is not a key file");
        }
        keys.public_key = text.substr(0, z85_key_length);
        keys.secret_key = text.substr(z85_key_length + 1, z85_key_length);
        if (!is_valid_key(keys.public_key) || !is_valid_key(keys.secret_key)) {
            throw key_error(path, "is not a key file");
        }
        return keys;
    }
    if (errno != ENOENT) {
        throw key_error(path, "cannot open: " + errno_text());
    }
    char public_key[z85_key_length + 1] = {};
    char secret_key[z85_key_length + 1] = {};
    if (zmq_curve_keypair(public_key, secret_key) != 0) {
        throw std::runtime_error("this libzmq cannot make CURVE keys (built without CURVE support)");
    }
    const std::string text = std::string(public_key) + "\n" + secret_key + "\n";
    const auto temporary = dir / (std::string(key_file) + ".tmp");
    ::unlink(temporary.c_str());
    unique_fd out(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out || ::write(out.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(out.get()) != 0) {
        throw key_error(temporary, "cannot write: " + errno_text());
    }
    out.reset();
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        throw key_error(path, "cannot create: " + errno_text());
    }
    return curve_keypair{public_key, secret_key};
}

std::set<std::string> read_allowlist(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        throw std::runtime_error(file.string() + ": cannot read the allowlist");
    }
    std::set<std::string> keys;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        // Z85 uses '#' and '@' too, so a comment is a whole line starting with '#'; after the key, anything
        // separated by white space is a label ("KEY laptop").
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        const auto end = line.find_first_of(" \t\r", first);
        auto key = line.substr(first, end == std::string::npos ? std::string::npos : end - first);
        if (!is_valid_key(key)) {
            throw std::runtime_error(file.string() + ":" + std::to_string(number) +
                                     ": not a public key (40 characters of Z85)");
        }
        keys.insert(std::move(key));
    }
    return keys;
}

keyed_address split_keyed_address(std::string_view text) {
    // Z85 itself may hold '@' or ':', so the key is recognised by its fixed length, not by searching.
    if (text.size() > z85_key_length + 1 && text[z85_key_length] == '@' &&
        is_valid_key(text.substr(0, z85_key_length))) {
        return keyed_address{std::string(text.substr(0, z85_key_length)), std::string(text.substr(z85_key_length + 1))};
    }
    return keyed_address{std::nullopt, std::string(text)};
}

} // namespace p2p
