// SPDX-License-Identifier: MIT
#include "discovery.hpp"

#include "p2p/log.hpp"

#include <algorithm>
#include <numeric>

namespace p2p::sim {

namespace {

using std::chrono::milliseconds;

/// How often the links are looked at: the resolution of the convergence time.
constexpr clock_time sample = milliseconds(10);

/// The real peer's defaults (its PINGs, timeouts and beacon rate are what is measured), and the degree cap under test.
peer_options discovery_options(const discovery_run& s) {
    peer_options o;
    o.max_peers = s.max_peers;
    o.discover = s.lan;
    return o;
}

/// The links between running peers as the cores see them: a and b are linked when each lists the other.
struct link_graph {
    std::vector<std::vector<int>> links; ///< Sorted, per peer.
    std::size_t max_listed = 0;          ///< The most peers one core lists (mutual or not).

    explicit link_graph(world& w) : links(w.peer_count()) {
        std::map<peer_id, int> index;
        for (std::size_t i = 0; i < w.peer_count(); ++i) {
            if (const auto& core = w.peer(static_cast<int>(i)).core) {
                index[core->id()] = static_cast<int>(i);
            }
        }
        std::vector<std::vector<int>> listed(w.peer_count());
        for (std::size_t i = 0; i < w.peer_count(); ++i) {
            if (const auto& core = w.peer(static_cast<int>(i)).core) {
                const auto ids = core->peer_ids();
                max_listed = std::max(max_listed, ids.size());
                for (const auto& id : ids) {
                    if (auto it = index.find(id); it != index.end()) {
                        listed[i].push_back(it->second);
                    }
                }
                std::sort(listed[i].begin(), listed[i].end());
            }
        }
        for (std::size_t i = 0; i < listed.size(); ++i) {
            for (int j : listed[i]) {
                if (std::binary_search(listed[static_cast<std::size_t>(j)].begin(),
                                       listed[static_cast<std::size_t>(j)].end(), static_cast<int>(i))) {
                    links[i].push_back(j);
                }
            }
        }
    }

    bool linked(int a, int b) const {
        const auto& l = links[static_cast<std::size_t>(a)];
        return std::binary_search(l.begin(), l.end(), b);
    }

    int components() const {
        std::vector<int> seen(links.size(), 0);
        int count = 0;
        for (std::size_t start = 0; start < links.size(); ++start) {
            if (seen[start]) {
                continue;
            }
            ++count;
            std::vector<int> stack{static_cast<int>(start)};
            seen[start] = 1;
            while (!stack.empty()) {
                const auto at = static_cast<std::size_t>(stack.back());
                stack.pop_back();
                for (int next : links[at]) {
                    if (!seen[static_cast<std::size_t>(next)]) {
                        seen[static_cast<std::size_t>(next)] = 1;
                        stack.push_back(next);
                    }
                }
            }
        }
        return count;
    }

    /// No link could be added: every two peers below the cap are linked already.
    bool saturated(std::size_t cap) const {
        std::vector<int> below;
        for (std::size_t i = 0; i < links.size(); ++i) {
            if (links[i].size() < cap) {
                below.push_back(static_cast<int>(i));
            }
        }
        for (std::size_t a = 0; a < below.size(); ++a) {
            for (std::size_t b = a + 1; b < below.size(); ++b) {
                if (!linked(below[a], below[b])) {
                    return false;
                }
            }
        }
        return true;
    }

    /// Converged: one component, and saturated. In a run without faults a link, once made, stays; so does this.
    bool converged(std::size_t cap) const { return components() == 1 && saturated(cap); }

    std::vector<int> degree_counts() const {
        std::vector<int> out;
        for (const auto& l : links) {
            if (out.size() <= l.size()) {
                out.resize(l.size() + 1);
            }
            ++out[l.size()];
        }
        return out;
    }
};

class discovery_scenario {
public:
    discovery_scenario(std::uint64_t seed, const discovery_run& s) : settings_(s), world_(seed, discovery_options(s)) {
        world_.tracing = s.trace;
        world_.lan.loss = s.loss;
    }

    discovery_result run(std::uint64_t seed) {
        discovery_result out;
        out.seed = seed;
        build();
        const auto all_started = settings_.stagger;
        // Sampled, so that the convergence time is known to a sample.
        clock_time t{};
        for (int n = 0; !world_.failure() && t < settings_.deadline; ++n) {
            t += sample;
            world_.run_until(t);
            if (n % 10 == 0) {
                world_.check_pairs();
            }
            const link_graph g(world_);
            out.peak_degree = std::max(out.peak_degree, g.max_listed);
            if (t >= all_started && g.converged(settings_.max_peers)) {
                out.converged = t;
                break;
            }
        }
        out.measured = t;
        out.first = world_.sent();
        const auto before = world_.sent();
        const auto end = t + settings_.steady;
        while (!world_.failure() && t < end) {
            t = std::min(end, t + milliseconds(100));
            world_.run_until(t);
            world_.check_pairs();
            out.peak_degree = std::max(out.peak_degree, link_graph(world_).max_listed);
        }
        out.steady = world_.sent() - before;
        const link_graph g(world_);
        if (out.converged && !world_.failure() && !g.converged(settings_.max_peers)) {
            // Without faults nothing should undo a link: a peer that drops one is evicted or refused wrongly.
            fail_later_ = violation{"converged links stay", "the links no longer satisfy convergence " +
                                                                std::to_string(settings_.steady.count() / 1000000) +
                                                                " ms after it"};
        }
        out.found = world_.failure() ? world_.failure() : fail_later_;
        out.degrees = g.degree_counts();
        out.components = g.components();
        for (std::size_t i = 0; i < world_.peer_count(); ++i) {
            if (const auto& core = world_.peer(static_cast<int>(i)).core) {
                out.rate_limited += core->discovery().counts().rate_limited;
                out.beacon_dials += core->discovery().counts().dials;
            }
        }
        out.events = world_.events();
        if (out.found || settings_.trace) {
            out.trace = world_.trace();
        }
        return out;
    }

private:
    clock_time random_time(clock_time below) {
        return clock_time(static_cast<std::int64_t>(world_.rng()() % static_cast<std::uint64_t>(below.count())));
    }

    void build() {
        std::vector<std::pair<clock_time, int>> starts;
        for (int i = 0; i < settings_.peers; ++i) {
            const int index = world_.add_host(settings_.lan ? 0 : -1);
            starts.emplace_back(random_time(settings_.stagger), index);
        }
        std::sort(starts.begin(), starts.end());
        for (std::size_t k = 0; k < starts.size(); ++k) {
            const auto [at, i] = starts[k];
            world_.at(at, [this, i] { world_.start(i); });
            if (!settings_.lan && k > 0) {
                // No LAN: one connect to a peer that started earlier, as a user who knows one address would.
                const int j = starts[world_.rng()() % k].second;
                world_.at(at + milliseconds(1), [this, i, j] {
                    world_.command(i, command::connect{next_op_++, display_address_of(j)});
                });
            }
        }
    }

    std::string display_address_of(int j) { return world_.peer(j).address + ":" + std::to_string(world::lan_port); }

    discovery_run settings_;
    world world_;
    std::optional<violation> fail_later_;
    operation_id next_op_ = 1;
};

} // namespace

discovery_result run_discovery(std::uint64_t seed, const discovery_run& settings) {
    set_log_level(log_level::off);
    discovery_scenario s(seed, settings);
    return s.run(seed);
}

} // namespace p2p::sim
