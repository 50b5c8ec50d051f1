// SPDX-License-Identifier: MIT
// interface_watch.hpp - tells when this machine's network interfaces or their addresses change.
//
// A NETLINK_ROUTE socket subscribed to link and address changes (IPv4 and IPv6): an interface came up or went down,
// an address was added or removed. The node polls fd(); when it is readable, drain() empties it and the core hears
// "interfaces changed" (a beacon goes out at once on the new ones). Where netlink cannot be opened, fd() is -1 and
// beacons still go out on every interface at the steady rate.
#pragma once

#include "p2p/unique_fd.hpp"

namespace p2p {

class interface_watch {
public:
    interface_watch();

    /// The descriptor to poll for reading, or -1 when there is none.
    int fd() const { return fd_ ? fd_.get() : -1; }
    /// Reads every waiting notice; true when there was at least one (the details do not matter: what goes out is
    /// looked up afresh).
    bool drain();

private:
    unique_fd fd_;
};

} // namespace p2p
