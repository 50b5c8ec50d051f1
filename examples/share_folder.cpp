// SPDX-License-Identifier: MIT
// share_folder - shares a folder with other peers until SIGINT or SIGTERM: the smallest program that runs a peer.
//
//   share_folder PORT DIR [ADDRESS]    (PORT 0 picks a free one; ADDRESS defaults to 0.0.0.0)
//
// Prints "Peer <id> started on <host>:<port>" first, as `p2p-peer serve` does, then one line per event.
#include <p2p/peer.hpp>

#include <zmq.hpp>

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <iostream>
#include <string>
#include <type_traits>
#include <variant>

namespace {

void print(const p2p::event& e) {
    std::visit(
        [](const auto& ev) {
            using type = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<type, p2p::peer_joined>) {
                std::cout << "New peer " << ev.id.short_hex() << " joined with " << ev.file_count << " files\n";
            } else if constexpr (std::is_same_v<type, p2p::peer_files_changed>) {
                std::cout << "Peer " << ev.id.short_hex() << " now shares " << ev.files.size() << " files\n";
            } else if constexpr (std::is_same_v<type, p2p::peer_left>) {
                std::cout << "Peer " << ev.id.short_hex() << " at " << ev.address << " left\n";
            }
            // connect_finished, download_progress, download_finished: only for what this program starts (nothing).
        },
        e);
    std::cout.flush();
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) {
        std::cerr << "usage: share_folder PORT DIR [ADDRESS]\n";
        return 2;
    }
    // Block the stop signals before any thread starts (the peer's node thread, ZeroMQ's I/O threads), so that every
    // thread inherits the mask and the signals reach only the signalfd, which the loop below polls with the peer.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    const int stop_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
    if (stop_fd < 0) {
        std::cerr << "share_folder: cannot create a signalfd\n";
        return 1;
    }
    try {
        zmq::context_t context;
        p2p::peer_options options;
        options.bind = "tcp://" + std::string(argc == 4 ? argv[3] : "0.0.0.0") + ":" + argv[1];
        options.folder = argv[2];
        p2p::peer peer(context, options); // throws std::runtime_error if it cannot bind or use the folder
        const std::string endpoint = peer.endpoint();
        std::cout << "Peer " << peer.id().short_hex() << " started on " << endpoint.substr(endpoint.find("//") + 2)
                  << std::endl;

        for (;;) {
            // Events read by an earlier call are queued in the peer and do not make its pipe readable: drain first.
            while (peer.has_queued_events()) {
                print(*peer.next_event(p2p::milliseconds{0}));
            }
            zmq::pollitem_t items[] = {peer.pollitem(), {nullptr, stop_fd, ZMQ_POLLIN, 0}};
            zmq::poll(items, 2, std::chrono::milliseconds{-1});
            if ((items[1].revents & ZMQ_POLLIN) != 0) {
                break;
            }
            if (auto e = peer.next_event(p2p::milliseconds{0})) {
                print(*e);
            }
            if (peer.stopped()) {
                std::cerr << "share_folder: the peer stopped on an internal error\n";
                return 1;
            }
        }
        std::cout << "Shutting down peer..." << std::endl;
        peer.stop(); // GOODBYE to every peer; uploads in flight get options.shutdown_grace to finish
        std::cout << "Peer " << peer.id().short_hex() << " stopped" << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "share_folder: " << e.what() << "\n";
        return 1;
    }
    close(stop_fd);
    return 0;
}
