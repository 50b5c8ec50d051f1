// SPDX-License-Identifier: MIT
// test_peer.cpp - a peer in its own process, so fault tests can kill -9 it mid-transfer (tests/fault_test.cpp).
//
//   p2p_test_peer <folder>                                  serve <folder>
//   p2p_test_peer <folder> <endpoint> <file> <chunk_size>   also download <file> from the peer at <endpoint>
//
// Prints `endpoint <ep>` and `id <hex>` first, then `progress <bytes>` lines while downloading and `done <ok>` at the
// end; runs until its stdin closes or it is killed.
#include "p2p/peer.hpp"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) try {
    if (argc != 2 && argc != 5) {
        std::fprintf(stderr, "usage: p2p_test_peer <folder> [<endpoint> <file> <chunk_size>]\n");
        return 2;
    }
    zmq::context_t context;
    p2p::peer_options options;
    options.bind = "tcp://127.0.0.1:*";
    options.folder = argv[1];
    options.ping_interval = std::chrono::milliseconds(100);
    options.peer_timeout = std::chrono::milliseconds(1000);
    options.transfer_timeout = std::chrono::milliseconds(2000);
    p2p::peer self(context, options);
    std::printf("endpoint %s\nid %s\n", self.endpoint().c_str(), self.id().hex().c_str());
    std::fflush(stdout);
    if (argc == 5) {
        if (!self.connect(argv[2]).ok) {
            std::printf("done 0\n");
            return 1;
        }
        self.start_download(
            {argv[3], "", p2p::window_setting::of_chunks(1), static_cast<std::uint32_t>(std::stoul(argv[4]))});
    }
    for (;;) {
        zmq::pollitem_t items[] = {self.pollitem(), {nullptr, STDIN_FILENO, ZMQ_POLLIN, 0}};
        zmq::poll(items, 2, std::chrono::milliseconds(self.has_queued_events() ? 0 : 100));
        if (items[1].revents != 0) {
            char buffer[64];
            if (::read(STDIN_FILENO, buffer, sizeof buffer) <= 0) {
                break;
            }
        }
        while (auto e = self.next_event(std::chrono::milliseconds(0))) {
            if (auto* p = std::get_if<p2p::download_progress>(&*e)) {
                std::printf("progress %llu\n", static_cast<unsigned long long>(p->bytes));
            } else if (auto* f = std::get_if<p2p::download_finished>(&*e)) {
                std::printf("done %d %s\n", f->ok ? 1 : 0, f->error.c_str());
            }
            std::fflush(stdout);
        }
    }
    self.stop();
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "p2p_test_peer: %s\n", e.what());
    return 1;
}
