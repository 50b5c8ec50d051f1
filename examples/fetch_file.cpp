// SPDX-License-Identifier: MIT
// fetch_file - downloads one file from a peer and prints its progress: a program that runs a peer for one job.
//
//   fetch_file HOST:PORT NAME [DIR]    (DIR defaults to .; it is shared with the other peer while this runs)
//
// Exits 0 once the file is in DIR and verified, 1 on any failure.
#include <p2p/peer.hpp>

#include <zmq.hpp>

#include <exception>
#include <iostream>
#include <string>
#include <variant>

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) {
        std::cerr << "usage: fetch_file HOST:PORT NAME [DIR]\n";
        return 2;
    }
    try {
        zmq::context_t context;
        p2p::peer_options options;
        options.bind = "tcp://127.0.0.1:*"; // a short-lived peer on any free port: only the other one dials
        options.folder = argc == 4 ? argv[3] : ".";
        p2p::peer peer(context, options);

        const auto connected = peer.connect(argv[1]); // blocks until HELLO and the first file list, or failure
        if (!connected.ok) {
            std::cerr << "fetch_file: cannot connect to " << argv[1] << ": " << connected.error << "\n";
            return 1;
        }
        p2p::download_request request;
        request.name = argv[2];
        request.from = connected.id.hex(); // only from that peer (empty: from whichever connected peer has it)
        // start_download returns at once; the download reports through events, the last being download_finished.
        const auto op = peer.start_download(request);
        for (;;) {
            const auto e = peer.next_event(p2p::milliseconds{1000});
            if (!e) {
                if (peer.stopped()) {
                    std::cerr << "fetch_file: the peer stopped on an internal error\n";
                    return 1;
                }
                continue; // quiet for a second: the peer's own transfer_timeout decides when it has stalled
            }
            if (const auto* progress = std::get_if<p2p::download_progress>(&*e); progress && progress->op == op) {
                std::cout << "progress " << progress->name << " " << progress->bytes << "/" << progress->size
                          << std::endl;
            } else if (const auto* done = std::get_if<p2p::download_finished>(&*e); done && done->op == op) {
                if (!done->ok) {
                    std::cerr << "fetch_file: " << done->error << "\n";
                    return 1;
                }
                std::cout << "Got file " << done->name << " from peer " << done->from.short_hex() << " (" << done->size
                          << " bytes in " << done->seconds << " s)" << std::endl;
                return 0; // ~peer stops it: GOODBYE to the other peer
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "fetch_file: " << e.what() << "\n";
        return 1;
    }
}
