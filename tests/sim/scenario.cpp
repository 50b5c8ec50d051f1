// SPDX-License-Identifier: MIT
#include "scenario.hpp"

#include "p2p/log.hpp"

#include <algorithm>
#include <cstring>

namespace p2p::sim {

namespace {

using std::chrono::milliseconds;

/// Settings short enough that failures and recoveries happen many times in a run.
peer_options sim_options() {
    peer_options o;
    o.ping_interval = milliseconds(500);
    o.peer_timeout = milliseconds(2000);
    o.connect_timeout = milliseconds(1000);
    o.transfer_timeout = milliseconds(2000);
    o.rescan_delay = milliseconds(50);
    return o;
}

class scenario {
public:
    scenario(std::uint64_t seed, const scenario_settings& s) : settings_(s), world_(seed, sim_options()) {
        world_.tracing = s.trace;
    }

    run_result run(std::uint64_t seed) {
        build();
        world_.run_until(settings_.busy);
        if (!world_.failure()) {
            // The last fault heals: disks work again, the network is whole, crashed peers are back.
            end_faults();
            const auto end = settings_.busy + settings_.settle;
            for (auto step = settings_.busy; !world_.failure() && step < end && !world_.downloads_done();) {
                step = std::min(end, step + std::chrono::seconds(1));
                world_.run_until(step);
            }
            world_.check_final();
        }
        run_result out;
        out.seed = seed;
        out.found = world_.failure();
        out.events = world_.events();
        out.downloads_ok = world_.downloads_ok();
        out.downloads_failed = world_.downloads_failed();
        out.simulated = world_.elapsed();
        if (out.found || settings_.trace) {
            out.trace = world_.trace();
        }
        return out;
    }

private:
    std::uint64_t random(std::uint64_t below) { return below == 0 ? 0 : world_.rng()() % below; }
    bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(world_.rng()) < p; }
    clock_time when_in(clock_time from, clock_time to) {
        return from + clock_time(static_cast<std::int64_t>(random(static_cast<std::uint64_t>((to - from).count()))));
    }
    int any_peer() { return static_cast<int>(random(static_cast<std::uint64_t>(settings_.peers))); }

    /// File content: one draw from the seed's generator, stretched by splitmix64 (the Mersenne Twister for every
    /// eight bytes was a fifth of a run).
    std::string bytes_for(std::size_t size) {
        std::string out(size, '\0');
        std::uint64_t state = world_.rng()();
        for (std::size_t i = 0; i < size; i += 8) {
            state += 0x9e3779b97f4a7c15u;
            auto word = state;
            word = (word ^ (word >> 30)) * 0xbf58476d1ce4e5b9u;
            word = (word ^ (word >> 27)) * 0x94d049bb133111ebu;
            word ^= word >> 31;
            std::memcpy(out.data() + i, &word, std::min<std::size_t>(8, size - i));
        }
        return out;
    }

    void on_progress(int i, const download_progress& progress) {
        auto it = disturbed_.find(progress.op);
        if (it == disturbed_.end() || !world_.peer(i).downloads.contains(progress.op)) {
            return;
        }
        const auto what = it->second;
        disturbed_.erase(it);
        const auto now = world_.elapsed();
        if (what == disturbance::cancel) {
            world_.command(i, command::cancel{progress.op});
            const auto name = progress.name;
            world_.at(now + when_in(milliseconds(0), milliseconds(20)), [this, i, name] { start_download(i, name); });
        } else {
            remember_open(i);
            world_.crash(i);
            world_.at(now + when_in(milliseconds(20), milliseconds(400)), [this, i] { restart(i); });
        }
    }

    void build() {
        world_.on_progress = [this](int i, const download_progress& p) {
            on_progress(i, p);
        };
        for (int i = 0; i < settings_.peers; ++i) {
            world_.add_peer();
        }
        // The swarm's files: each held by a few peers, now and then one in a version of its own. Every third one
        // lives in a subfolder, named by its path (protocol 4).
        for (int f = 0; f < settings_.files; ++f) {
            const auto folder = f % 3 == 0 ? "dir" + std::to_string(f % 2) + "/sub/" : std::string();
            const auto name = folder + "f" + std::to_string(f) + ".bin";
            names_.push_back(name);
            auto size = static_cast<std::size_t>(random(settings_.max_file_bytes + 1));
            if (chance(0.15)) {
                size = 0;
            }
            const auto bytes = bytes_for(size);
            world_.note_version(name, bytes);
            const int holders = 1 + static_cast<int>(random(4));
            for (int h = 0; h < holders; ++h) {
                const int p = any_peer();
                if (chance(0.1)) {
                    auto other = bytes_for(static_cast<std::size_t>(random(settings_.max_file_bytes + 1)));
                    world_.note_version(name, other);
                    world_.peer(p).folder.put(name, other);
                } else {
                    world_.peer(p).folder.put(name, bytes);
                }
            }
        }
        for (int i = 0; i < settings_.peers; ++i) {
            // Each its own chunk size and window, so every combination meets every other.
            world_.start(i);
        }
        for (int i = 0; i < settings_.peers; ++i) {
            connect_some(i, when_in(milliseconds(0), milliseconds(500)));
        }
        const int downloads = settings_.peers * settings_.downloads_per_peer;
        for (int d = 0; d < downloads; ++d) {
            const auto t = when_in(milliseconds(600), settings_.busy - milliseconds(500));
            world_.at(t, [this] { start_download(any_peer(), std::nullopt); });
        }
        if (settings_.faults) {
            add_faults();
        }
    }

    void connect_some(int i, clock_time t) {
        for (int k = 0; k < 3; ++k) {
            const int j = any_peer();
            if (j == i) {
                continue;
            }
            world_.at(t + milliseconds(k), [this, i, j] {
                world_.command(i, command::connect{next_op_++, world_.peer(j).endpoint});
            });
        }
    }

    void start_download(int i, std::optional<std::string> name) {
        auto& p = world_.peer(i);
        if (!p.core) {
            return;
        }
        download_request req;
        if (name) {
            req.name = *name;
        } else {
            // Mostly what the user sees listed (menu choice 2), now and then a name typed from memory.
            std::vector<std::string> listed;
            for (const auto& info : p.core->peers()) {
                for (const auto& f : info.files) {
                    listed.push_back(f.name);
                }
            }
            req.name = !listed.empty() && chance(0.9) ? listed[random(listed.size())] : names_[random(names_.size())];
        }
        if (p.folder.file(req.name) != nullptr) {
            return; // it has it already
        }
        // Half of them size their window themselves (it grows with the simulated round trips); the rest fix it.
        req.window = chance(0.5) ? window_setting::sized() : window_setting::of_chunks(1 + random(8));
        static constexpr std::uint32_t chunks[] = {4096, 16384, 65536};
        req.chunk_size = chunks[random(3)];
        if (chance(0.2)) {
            // From one peer: the first it lists with the file, by id prefix as a user would type it.
            for (const auto& info : p.core->peers()) {
                if (std::any_of(info.files.begin(), info.files.end(), [&](auto& f) { return f.name == req.name; })) {
                    req.from = info.id.short_hex();
                    break;
                }
            }
        }
        const auto op = next_op_++;
        world_.command(i, command::download{op, req});
        if (settings_.faults) {
            disturb(i, op, req.name, name.has_value());
        }
    }

    /// Faults aimed at a transfer in flight, where they hurt most: a user who cancels and asks again (the download
    /// resumes from its partial file), a getter that crashes and is started again (the same), and a holder that
    /// leaves just as a resumed download hashes its partial file or asks for the rest.
    void disturb(int i, operation_id op, const std::string& name, bool is_retry) {
        const auto now = world_.elapsed();
        // Once bytes flow (its first progress event): cancel and ask again, or crash and be started again.
        if (chance(0.25)) {
            disturbed_[op] = chance(0.6) ? disturbance::cancel : disturbance::crash;
        }
        if (is_retry && chance(0.5)) {
            // The holder it asks (the first listing the file, as the download picks it) leaves: at once with
            // GOODBYE, or by crashing; it comes back later.
            int h = -1;
            for (const auto& info : world_.peer(i).core->peers()) {
                if (std::any_of(info.files.begin(), info.files.end(), [&](auto& f) { return f.name == name; })) {
                    h = world_.index_of(info.id);
                    break;
                }
            }
            if (h >= 0) {
                const bool crash = chance(0.3);
                world_.at(now + when_in(milliseconds(0), milliseconds(3)), [this, h, crash] {
                    if (crash) {
                        world_.crash(h);
                    } else {
                        world_.command(h, command::stop{true});
                    }
                });
                world_.at(now + when_in(milliseconds(300), milliseconds(2000)), [this, h] { restart(h); });
            }
        }
    }

    void add_faults() {
        const auto busy = settings_.busy;
        const int events = settings_.peers * 2;
        for (int k = 0; k < events; ++k) {
            const auto t = when_in(milliseconds(700), busy - milliseconds(200));
            const int p = any_peer();
            switch (random(9)) {
            case 0: // crash, back later (and its user asks again for what it was downloading: it resumes)
                world_.at(t, [this, p] {
                    remember_open(p);
                    world_.crash(p);
                });
                world_.at(t + when_in(milliseconds(100), milliseconds(3000)), [this, p] { restart(p); });
                break;
            case 1: // a graceful stop, back later
                world_.at(t, [this, p] {
                    remember_open(p);
                    world_.command(p, command::stop{chance(0.3)});
                });
                world_.at(t + when_in(milliseconds(500), milliseconds(4000)), [this, p] { restart(p); });
                break;
            case 2: // cancel a download, and often ask again soon after (it resumes)
                world_.at(t, [this, p] { cancel_and_retry(p); });
                break;
            case 3:
                world_.at(t, [this] { world_.cut_one(); });
                break;
            case 4: { // a partition that heals
                std::set<int> side;
                for (int i = 0; i < settings_.peers; ++i) {
                    if (chance(0.5)) {
                        side.insert(i);
                    }
                }
                world_.at(t, [this, side] { world_.partition(side); });
                world_.at(t + when_in(milliseconds(200), milliseconds(3000)), [this] { world_.heal(); });
                break;
            }
            case 5: // a full disk for a while
                folder_fault_for_a_while(p, &memory_folder::disk_full, t,
                                         t + when_in(milliseconds(100), milliseconds(2000)));
                break;
            case 6: // read errors for a while
                folder_fault_for_a_while(p, &memory_folder::read_errors, t,
                                         t + when_in(milliseconds(50), milliseconds(1000)));
                break;
            case 7: // a shared file changes while it may be served
                world_.at(t, [this, p] { change_a_file(p); });
                break;
            case 8: // a failing fsync now and then
                folder_fault_for_a_while(p, &memory_folder::sync_errors, t,
                                         t + when_in(milliseconds(50), milliseconds(500)));
                break;
            }
        }
    }

    /// Turns one of peer p's folder faults on at `from` and off again at `until`.
    void folder_fault_for_a_while(int p, bool memory_folder::*fault, clock_time from, clock_time until) {
        world_.at(from, [this, p, fault] { world_.peer(p).folder.*fault = true; });
        world_.at(until, [this, p, fault] { world_.peer(p).folder.*fault = false; });
    }

    void remember_open(int p) {
        for (const auto& [op, name] : world_.peer(p).downloads) {
            interrupted_[p].push_back(name);
        }
    }

    void restart(int p) {
        if (world_.peer(p).core) {
            return;
        }
        world_.start(p);
        // It remembers nobody: it connects to a few peers again, as its user would, and asks again for what it was
        // downloading once it has seen their lists.
        const auto now = std::chrono::duration_cast<clock_time>(world_.elapsed());
        connect_some(p, now + milliseconds(10));
        for (const auto& name : std::exchange(interrupted_[p], {})) {
            world_.at(now + when_in(milliseconds(100), milliseconds(600)),
                      [this, p, name] { start_download(p, name); });
        }
    }

    void cancel_and_retry(int p) {
        auto& peer = world_.peer(p);
        if (!peer.core || peer.downloads.empty()) {
            return;
        }
        const auto [op, name] = *peer.downloads.begin();
        world_.command(p, command::cancel{op});
        if (chance(0.7)) {
            const auto again = world_.elapsed() + when_in(milliseconds(1), milliseconds(300));
            const auto retry_name = name;
            world_.at(again, [this, p, retry_name] { start_download(p, retry_name); });
        }
    }

    void change_a_file(int p) {
        auto& folder = world_.peer(p).folder;
        if (folder.files().empty()) {
            return;
        }
        auto it = folder.files().begin();
        std::advance(it, static_cast<long>(random(folder.files().size())));
        const auto name = it->first;
        auto bytes = bytes_for(static_cast<std::size_t>(random(settings_.max_file_bytes + 1)));
        world_.note_version(name, bytes);
        folder.rewrite(name, std::move(bytes));
        world_.folder_changed(p);
    }

    void end_faults() {
        world_.heal();
        for (int i = 0; i < settings_.peers; ++i) {
            auto& p = world_.peer(i);
            p.folder.disk_full = p.folder.read_errors = p.folder.sync_errors = false;
            restart(i);
        }
    }

    scenario_settings settings_;
    world world_;
    std::vector<std::string> names_;
    std::map<int, std::vector<std::string>> interrupted_; ///< Downloads a peer had open when it went down.
    enum class disturbance { cancel, crash };
    std::map<operation_id, disturbance> disturbed_; ///< Downloads to disturb once their bytes flow.
    operation_id next_op_ = 1;
};

} // namespace

run_result run_scenario(std::uint64_t seed, const scenario_settings& settings) {
    set_log_level(log_level::off);
    scenario s(seed, settings);
    return s.run(seed);
}

} // namespace p2p::sim
