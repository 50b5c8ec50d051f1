// SPDX-License-Identifier: MIT
// p2p-peer: placeholder until the command-line front end lands.
#include <cstdio>

int main() {
    std::puts("---------- P2P File Sharing System ----------");
    return 0;
}
