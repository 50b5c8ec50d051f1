// SPDX-License-Identifier: MIT
// sendfile_xfer.cpp - the plain-TCP anchor of the benchmarks: the practical limit of one TCP stream on this host.
//
//   p2p-bench-sendfile recv <port> <out> [--fsync]   listens on 127.0.0.1 (port 0 = any), prints "listening PORT",
//                                                    writes what one connection sends to <out> (1 MiB recv + write)
//   p2p-bench-sendfile send <host> <port> <file>     connects and sends <file> with sendfile(2)
//
// No framing, no acknowledgements, no hashing: whatever the peer does beyond this costs time against it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "p2p-bench-sendfile: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

int receive(int port, const char* out, bool do_fsync) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        die("socket");
    }
    const int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 1) != 0) {
        die("bind");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("listening %d\n", ntohs(addr.sin_port));
    std::fflush(stdout);

    const int conn = ::accept(listener, nullptr, nullptr);
    if (conn < 0) {
        die("accept");
    }
    const int fd = ::open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        die("open");
    }
    std::vector<char> buffer(1u << 20);
    for (;;) {
        const auto n = ::recv(conn, buffer.data(), buffer.size(), 0);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("recv");
        }
        for (ssize_t done = 0; done < n;) {
            const auto w = ::write(fd, buffer.data() + done, static_cast<std::size_t>(n - done));
            if (w < 0) {
                die("write");
            }
            done += w;
        }
    }
    if (do_fsync && ::fsync(fd) != 0) {
        die("fsync");
    }
    ::close(fd);
    ::close(conn);
    ::close(listener);
    return 0;
}

int send_file(const char* host, int port, const char* path) {
    const int fd = ::open(path, O_RDONLY);
    if (fd < 0) {
        die("open");
    }
    struct stat st {};
    ::fstat(fd, &st);
    const int conn = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        std::fprintf(stderr, "p2p-bench-sendfile: bad IPv4 address %s\n", host);
        return 2;
    }
    if (::connect(conn, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        die("connect");
    }
    off_t offset = 0;
    while (offset < st.st_size) {
        const auto n = ::sendfile(conn, fd, &offset, static_cast<std::size_t>(st.st_size - offset));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("sendfile");
        }
    }
    ::shutdown(conn, SHUT_WR);
    char byte = 0;
    (void)::recv(conn, &byte, 1, 0); // wait for the receiver to close: the transfer is over when it has it all
    ::close(conn);
    ::close(fd);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "recv" && (argc == 4 || argc == 5)) {
        return receive(std::atoi(argv[2]), argv[3], argc == 5 && std::string(argv[4]) == "--fsync");
    }
    if (mode == "send" && argc == 5) {
        return send_file(argv[2], std::atoi(argv[3]), argv[4]);
    }
    std::fprintf(stderr, "usage: p2p-bench-sendfile recv <port> <out> [--fsync] | send <host> <port> <file>\n");
    return 2;
}
