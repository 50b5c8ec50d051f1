// SPDX-License-Identifier: MIT
// slow_io.cpp - an LD_PRELOAD interposer that makes a peer's disk slow, for the program tests that check what a
// download names as its limit (tests/cli/limit_test.py). Built as libp2p_slow_io.so, used only by tests.
//
//   P2P_SLOW_READ_US=N   sleep N µs before every pread, preadv or preadv2 (and their *64 names) of 64 KiB or more
//   P2P_SLOW_WRITE_US=N  the same before every pwrite, pwritev or pwritev2 (and their *64 names) of 64 KiB or more
//
// These are the calls src/posix_folder.cpp reads pieces for sending and writes received ones with (pread, pwrite),
// and src/manifest.cpp hashes with (pread); the vector forms are covered too, so a move to them keeps the test
// meaningful. The 64 KiB floor leaves small reads alone (the .p2p metadata, journals); a piece is 1 MiB by default.
// Sockets go through send/recv, not these calls, so the network is never slowed.
//
// The real function is the next one in the lookup order (dlsym RTLD_NEXT): libc's, or under ASan the sanitizer's
// interceptor, which then calls libc's. ASan insists its runtime comes first in the library list, so a preloaded
// sanitized program needs ASAN_OPTIONS=verify_asan_link_order=0; this library itself is built without the
// sanitizers (tests/cmake/limit_tests.cmake), so it adds no runtime of its own.
#include <dlfcn.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <ctime>

namespace {

constexpr std::size_t min_count = 64 * 1024;

long microseconds_from(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr) {
        return 0;
    }
    const long value = std::strtol(text, nullptr, 10);
    return value > 0 ? value : 0;
}

// Read once, on first use: the variables are set before the program starts and never change.
long read_delay_us() {
    static const long us = microseconds_from("P2P_SLOW_READ_US");
    return us;
}

long write_delay_us() {
    static const long us = microseconds_from("P2P_SLOW_WRITE_US");
    return us;
}

/// Sleeps us µs when count is large enough; a signal does not cut the sleep short (the peers handle SIGINT), and
/// errno is left as it was, since the real call sets it afterwards anyway.
void pause_for(long us, std::size_t count) {
    if (us <= 0 || count < min_count) {
        return;
    }
    const int saved = errno;
    timespec left{us / 1'000'000, (us % 1'000'000) * 1000};
    while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
    errno = saved;
}

std::size_t total(const iovec* iov, int count) {
    std::size_t sum = 0;
    for (int i = 0; i < count; ++i) {
        sum += iov[i].iov_len;
    }
    return sum;
}

/// The next definition of name after this library's, looked up once per function.
template <typename Function>
Function* next(const char* name) {
    return reinterpret_cast<Function*>(::dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
    static auto* real = next<decltype(pread)>("pread");
    pause_for(read_delay_us(), count);
    return real(fd, buf, count, offset);
}

ssize_t pread64(int fd, void* buf, size_t count, off64_t offset) {
    static auto* real = next<decltype(pread64)>("pread64");
    pause_for(read_delay_us(), count);
    return real(fd, buf, count, offset);
}

ssize_t preadv(int fd, const iovec* iov, int iovcnt, off_t offset) {
    static auto* real = next<decltype(preadv)>("preadv");
    pause_for(read_delay_us(), total(iov, iovcnt));
    return real(fd, iov, iovcnt, offset);
}

ssize_t preadv64(int fd, const iovec* iov, int iovcnt, off64_t offset) {
    static auto* real = next<decltype(preadv64)>("preadv64");
    pause_for(read_delay_us(), total(iov, iovcnt));
    return real(fd, iov, iovcnt, offset);
}

ssize_t preadv2(int fd, const iovec* iov, int iovcnt, off_t offset, int flags) {
    static auto* real = next<decltype(preadv2)>("preadv2");
    pause_for(read_delay_us(), total(iov, iovcnt));
    return real(fd, iov, iovcnt, offset, flags);
}

ssize_t preadv64v2(int fd, const iovec* iov, int iovcnt, off64_t offset, int flags) {
    static auto* real = next<decltype(preadv64v2)>("preadv64v2");
    pause_for(read_delay_us(), total(iov, iovcnt));
    return real(fd, iov, iovcnt, offset, flags);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
    static auto* real = next<decltype(pwrite)>("pwrite");
    pause_for(write_delay_us(), count);
    return real(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
    static auto* real = next<decltype(pwrite64)>("pwrite64");
    pause_for(write_delay_us(), count);
    return real(fd, buf, count, offset);
}

ssize_t pwritev(int fd, const iovec* iov, int iovcnt, off_t offset) {
    static auto* real = next<decltype(pwritev)>("pwritev");
    pause_for(write_delay_us(), total(iov, iovcnt));
    return real(fd, iov, iovcnt, offset);
}

ssize_t pwritev64(int fd, const iovec* iov, int iovcnt, off64_t offset) {
    static auto* real = next<decltype(pwritev64)>("pwritev64");
    pause_for(write_delay_us(), total(iov, iovcnt));
    return real(fd, iov, iovcnt, offset);
}

ssize_t pwritev2(int fd, const iovec* iov, int iovcnt, off_t offset, int flags) {
    static auto* real = next<decltype(pwritev2)>("pwritev2");
    pause_for(write_delay_us(), total(iov, iovcnt));
    return real(fd, iov, iovcnt, offset, flags);
}

ssize_t pwritev64v2(int fd, const iovec* iov, int iovcnt, off64_t offset, int flags) {
    static auto* real = next<decltype(pwritev64v2)>("pwritev64v2");
    pause_for(write_delay_us(), total(iov, iovcnt));
    return real(fd, iov, iovcnt, offset, flags);
}

} // extern "C"
