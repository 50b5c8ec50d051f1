// SPDX-License-Identifier: MIT
// core/node_core.hpp - a peer's whole protocol state and logic, with no socket, thread or clock.
//
// Inputs are calls that carry `now`: a message from the inbox or from one of our connections, a deadline that
// passed, a job that finished, a command from the front end, a change in the folder. Outputs are calls on the
// effects interface given at construction (send, dial, hang up, start or cancel a job, emit an event) and
// next_deadline(), when the core wants to be woken if nothing else happens. The real node (node.hpp) drives one
// with sockets and the wall clock; tests and the simulation (tests/sim) drive it with their own world and time.
//
// Each subsystem owns its state and one next_deadline()/on_deadline() pair, so the wake-up time and the handler that
// acts on it cannot disagree: peers and liveness (peer_table), connects (connect_table), uploads (upload_table),
// downloads (download_table), file jobs (job_table), the folder (folder_view), LAN beacons (beacon_table), peer
// exchange (exchange_table). "Where is a
// CHUNK handled?": download_table::on_chunk, reached from peer_table::dispatch.
#pragma once

#include "p2p/core/beacon_table.hpp"
#include "p2p/core/commands.hpp"
#include "p2p/core/connect_table.hpp"
#include "p2p/core/download_table.hpp"
#include "p2p/core/exchange_table.hpp"
#include "p2p/core/folder_view.hpp"
#include "p2p/core/job_table.hpp"
#include "p2p/core/peer_table.hpp"
#include "p2p/core/redial_table.hpp"
#include "p2p/core/state.hpp"
#include "p2p/core/upload_table.hpp"

#include <optional>
#include <string>
#include <vector>

namespace p2p::core {

class node_core {
public:
    /// `endpoint` is where we listen (sent in HELLO); `secure`: CURVE ids and keyed connects; `watched`: changes
    /// of the folder come as on_folder_changed (else it is listed again every second). Lists the folder.
    node_core(peer_options options, peer_id self, std::string endpoint, bool secure, folder_io& disk, bool watched,
              effects& out, steady_time now);
    node_core(const node_core&) = delete;
    node_core& operator=(const node_core&) = delete;

    // Inputs. None of them throws on anything another peer sent.
    void on_inbox(const inbox_origin& from, decode_result decoded, steady_time now);
    void on_link(link_id link, decode_result decoded, steady_time now);
    /// The last on_inbox or on_link, handed `started`, was handled by `now`: the time is charged to the transfers
    /// it worked for (writing and hashing a chunk, reading and sending some), for the rate report. The node
    /// measures; nothing in the core reads a clock.
    void on_handled(steady_time started, steady_time now);
    void on_deadline(steady_time now);
    void on_job_done(job_result result, steady_time now);
    void on_command(core_command cmd, steady_time now);
    void on_folder_changed(steady_time now);
    /// The transport's report on connection `link`. A connect that is refused, cannot resolve its host, or fails its
    /// handshake fails at once with that reason; the others shape the message if its deadline passes. A dropped
    /// connection of a peer removes the peer at once and dials its address again.
    void on_link_event(link_id link, link_event what, const std::string& detail, steady_time now);
    /// LAN discovery on (the owner has a discovery socket): our beacon is sent from now on, heard beacons may dial.
    void start_discovery(discovery_settings settings, steady_time now) { beacons_.start(std::move(settings), now); }
    /// A datagram that arrived on the discovery port from `source` ("10.0.0.7", or "fe80::1%eth0").
    void on_beacon(const std::string& source, std::span<const std::uint8_t> bytes, steady_time now);
    /// This machine's interfaces or their addresses changed (the owner watches them): our beacon goes out soon.
    void on_interfaces_changed(steady_time now);
    /// The addresses of this machine (this_machine_hosts()), read by the owner at start and when they change: a dial
    /// to one of them, or to localhost, reaches a peer here that listens on every address (connect_table).
    void set_this_machine(std::vector<std::string> hosts) { state_.this_machine = std::move(hosts); }
    /// Secure mode: the keys this peer lets in (--allow), and so the only ones peer exchange dials; none: any key.
    void allow_keys(std::optional<std::set<std::string>> keys) { exchange_.allow(std::move(keys)); }
    /// Seeds the jitter of the redial backoff (the real node: random; tests: fixed, so runs replay).
    void seed_jitter(std::uint64_t value) { redials_.seed(value); }

    /// The earliest time a subsystem needs on_deadline; nullopt when nothing is due (a peer with no other peer).
    std::optional<steady_time> next_deadline() const;

    // Views, for the front end's questions.
    peer_id id() const { return state_.self; }
    const std::vector<file_entry>& files() const { return folder_.files(); }
    std::vector<peer_info> peers() const { return peers_.joined(); }
    std::vector<peer_id> peer_ids() const { return peers_.joined_ids(); }
    std::vector<failure_entry> failures() const { return peers_.failures(); }
    /// Addresses being dialled again after their peer was lost, with their tries and next time.
    std::vector<redial_entry> retrying() const { return redials_.retrying(); }
    const peer_stats& stats() const { return state_.stats; }
    /// LAN discovery: its counters and the sizes of its tables.
    const beacon_table& discovery() const { return beacons_; }
    /// Peer exchange: its counters and candidates.
    const exchange_table& exchange() const { return exchange_; }
    /// File jobs asked for and not back yet.
    std::size_t jobs_pending() const { return jobs_.size(); }
    /// GOODBYE has been said: the owner closes everything and stops feeding inputs.
    bool finished() const { return state_.finished; }

private:
    /// Clears what on_handled would charge: only the work of the message being handled counts.
    void forget_charges();
    void begin_stop(bool at_once, steady_time now);
    void finish_stop(steady_time now);
    /// After every input: a graceful stop ends once nothing is in flight.
    void settle(steady_time now);

    peer_options options_;
    core_state state_;
    folder_view folder_;
    peer_table peers_;
    connect_table connects_;
    job_table jobs_;
    upload_table uploads_;
    download_table downloads_;
    redial_table redials_;
    beacon_table beacons_;
    exchange_table exchange_;
};

} // namespace p2p::core
