// SPDX-License-Identifier: MIT
// web_test.cpp - the web interface's logic without HTTP: the access checks, the transfer table (time stepped by
// hand), the event-stream queues, the JSON forms, and the bridge driven the way the menu and serve drive it. The
// HTTP server itself is in web_server_test.cpp.
#include "json.hpp"
#include "web/access.hpp"
#include "web/bridge.hpp"
#include "web/transfer_table.hpp"

#include "support.hpp"

#include <catch2/catch.hpp>

#include <future>

using namespace p2p;
using namespace p2p::test;
using namespace p2p::web;

namespace {

/// Runs the loop of one peer with a bridge, as wait_for_activity and take_event do, until done() or a deadline.
template <typename Done>
bool drive(peer& p, bridge& b, Done done, std::chrono::milliseconds deadline = 5000ms) {
    const auto until = clock::now() + deadline;
    while (!done()) {
        if (clock::now() >= until) {
            return false;
        }
        std::vector<zmq::pollitem_t> items{p.pollitem(), b.pollitem()};
        if (!p.has_queued_events()) {
            zmq::poll(items, 20ms);
        }
        b.run(p, clock::now());
        while (auto e = p.next_event(0ms)) {
            b.on_event(p, *e, clock::now());
        }
    }
    return true;
}

template <typename T>
bool ready(const std::future<T>& f) {
    return f.wait_for(0ms) == std::future_status::ready;
}

const std::string mib = std::string(1024 * 1024, 'x');

} // namespace

TEST_CASE("web listen address takes a port, an IP address and a port, or [IPv6]:port", "[web]") {
    const auto plain = parse_listen_address("8080");
    CHECK(plain.host == "127.0.0.1");
    CHECK(plain.port == 8080);
    CHECK(plain.loopback());
    CHECK(parse_listen_address("0").port == 0);
    CHECK(parse_listen_address("localhost:5").host == "127.0.0.1");
    CHECK(parse_listen_address("127.1.2.3:1").loopback());
    const auto all = parse_listen_address("0.0.0.0:80");
    CHECK(all.wildcard());
    CHECK_FALSE(all.loopback());
    CHECK(parse_listen_address("[::1]:9").loopback());
    CHECK(parse_listen_address("[::]:9").wildcard());
    CHECK_FALSE(parse_listen_address("192.168.1.5:9").loopback());
    CHECK(url_authority("::1", 9) == "[::1]:9");
    CHECK(url_authority("127.0.0.1", 9) == "127.0.0.1:9");
    for (const char* bad :
         {"", "x", "70000", "-1", "example.com:80", "[::1]", "[::1]:", "1.2.3.4:", "1.2.3:80", "[1.2.3.4]:80", ":80"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_listen_address(bad), std::invalid_argument);
    }
}

TEST_CASE("web Host check takes our own address and refuses DNS names", "[web]") {
    const auto loopback = parse_listen_address("127.0.0.1:8080");
    for (const char* ok : {"127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080"}) {
        INFO(ok);
        CHECK(host_allowed(ok, loopback, 8080));
    }
    for (const char* bad : {"127.0.0.1:8081", "127.0.0.1", "evil.example:8080", "127.0.0.1.nip.io:8080", "",
                            "127.0.0.2:8080", "[::1]:8081", "localhost:80800"}) {
        INFO(bad);
        CHECK_FALSE(host_allowed(bad, loopback, 8080));
    }
    const auto everywhere = parse_listen_address("0.0.0.0:0");
    CHECK(host_allowed("192.168.1.5:4000", everywhere, 4000));
    CHECK(host_allowed("[fe80::1]:4000", everywhere, 4000));
    CHECK_FALSE(host_allowed("myhost.lan:4000", everywhere, 4000));
    const auto one = parse_listen_address("192.168.1.5:4000");
    CHECK(host_allowed("192.168.1.5:4000", one, 4000));
    CHECK_FALSE(host_allowed("127.0.0.1:4000", one, 4000));
}

TEST_CASE("web Origin check takes no Origin or our own, and nothing else", "[web]") {
    CHECK(origin_allowed("", "127.0.0.1:8080"));
    CHECK(origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080"));
    CHECK(origin_allowed("http://localhost:8080", "localhost:8080"));
    CHECK_FALSE(origin_allowed("http://localhost:8080", "127.0.0.1:8080"));
    CHECK_FALSE(origin_allowed("http://127.0.0.1:8081", "127.0.0.1:8080"));
    CHECK_FALSE(origin_allowed("https://127.0.0.1:8080", "127.0.0.1:8080"));
    CHECK_FALSE(origin_allowed("null", "127.0.0.1:8080"));
    CHECK_FALSE(origin_allowed("http://evil.example", "127.0.0.1:8080"));
}

TEST_CASE("web tokens are 64 fresh hex digits and only the whole token matches", "[web]") {
    const auto a = new_token();
    const auto b = new_token();
    CHECK(a.size() == 64);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a != b);
    CHECK(token_matches(a, a));
    CHECK_FALSE(token_matches(b, a));
    CHECK_FALSE(token_matches(a.substr(0, 63), a));
    CHECK_FALSE(token_matches(a + "0", a));
    CHECK_FALSE(token_matches("", a));
    CHECK_FALSE(token_matches("", ""));
    CHECK(cookie_value("a=1; p2p-token-8080=xyz; b=2", "p2p-token-8080") == "xyz");
    CHECK(cookie_value("p2p-token-8081=xyz", "p2p-token-8080") == std::nullopt);
    CHECK(cookie_value("", "p2p-token-8080") == std::nullopt);
}

TEST_CASE("web transfer rate and time left come from progress reports and the time given", "[web]") {
    transfer_table table;
    const auto t0 = clock::time_point{} + std::chrono::hours(1);
    const peer_id from{0x1122334455667788};
    table.started(7, "f.bin", "", t0);
    REQUIRE(table.find(7)->status == transfer::state::starting);
    CHECK(table.running("f.bin") != nullptr);

    const std::uint64_t size = 4 * 1024 * 1024;
    table.on_event(download_progress{7, "f.bin", from, 0, size, {}}, t0 + 200ms);
    CHECK(transfer_table::rate(*table.find(7), t0 + 200ms) == 0); // one report is no rate yet
    table.on_event(download_progress{7, "f.bin", from, 1024 * 1024, size, {}}, t0 + 1200ms);
    table.on_event(download_progress{7, "f.bin", from, 2 * 1024 * 1024, size, {}}, t0 + 2200ms);
    const auto& t = *table.find(7);
    CHECK(t.status == transfer::state::running);
    CHECK(t.from == from);
    // 2 MiB between the reports at 0.2 s and 2.2 s: 1 MiB/s, and 2 MiB left take 2 s.
    CHECK(transfer_table::rate(t, t0 + 2200ms) == Approx(1024 * 1024));
    CHECK(transfer_table::eta(t, t0 + 2200ms).value() == Approx(2.0));
    // Four seconds without a report: the window holds none, the rate is 0 and the time left unknown.
    CHECK(transfer_table::rate(t, t0 + 6200ms) == 0);
    CHECK_FALSE(transfer_table::eta(t, t0 + 6200ms).has_value());

    download_finished done;
    done.op = 7;
    done.name = "f.bin";
    done.ok = true;
    done.from = from;
    done.size = size;
    done.bytes_received = size;
    done.seconds = 4.0;
    done.limit = limit_finding{rate_limit::receiver, "this peer: busy 90% of the time writing and hashing", true};
    table.on_event(done, t0 + 4200ms);
    CHECK(table.find(7)->status == transfer::state::done);
    // What bounded the rate, for the page.
    CHECK(table.find(7)->limit_by == "receiver");
    CHECK(table.find(7)->limit_text == "this peer: busy 90% of the time writing and hashing");
    CHECK(transfer_table::rate(*table.find(7), t0 + 9999ms) == Approx(1024 * 1024));
    CHECK(table.running("f.bin") == nullptr);
    // A late report after the outcome changes nothing.
    CHECK_FALSE(table.on_event(download_progress{7, "f.bin", from, 1, size, {}}, t0 + 5000ms).has_value());
    CHECK(table.find(7)->status == transfer::state::done);
}

TEST_CASE("web transfer table keeps every running transfer and the latest finished ones", "[web]") {
    transfer_table table(2);
    const auto now = clock::now();
    table.started(1, "running.bin", "", now);
    for (operation_id op = 2; op <= 5; ++op) {
        download_finished failed;
        failed.op = op;
        failed.name = std::to_string(op) + ".bin";
        failed.code = download_errc::not_found;
        failed.error = "Peer error: File not found";
        table.on_event(failed, now);
    }
    std::vector<operation_id> ops;
    for (const auto* t : table.all()) {
        ops.push_back(t->op);
    }
    CHECK(ops == std::vector<operation_id>{1, 4, 5});
    CHECK(table.find(5)->code == "not_found");
    CHECK(std::string(state_name(table.find(5)->status)) == "failed");
}

TEST_CASE("web event stream client that falls behind is dropped, and pushing never blocks", "[web]") {
    subscriber s(4);
    for (int i = 0; i < 4; ++i) {
        s.push(std::make_shared<const std::string>(std::to_string(i)));
    }
    std::vector<subscriber::message> got;
    CHECK(s.wait(got, 0ms) == subscriber::status::messages);
    CHECK(got.size() == 4);
    CHECK(s.wait(got, 1ms) == subscriber::status::timeout);
    // Five unread messages for a queue of four: the client is dropped at once, the sender goes on.
    const auto start = clock::now();
    for (int i = 0; i < 100000; ++i) {
        s.push(std::make_shared<const std::string>("x"));
    }
    CHECK(clock::now() - start < 5s);
    CHECK(s.dropped());
    got.clear();
    CHECK(s.wait(got, 0ms) == subscriber::status::ended);
    CHECK(got.empty());

    subscriber closing(4);
    closing.push(std::make_shared<const std::string>("last"));
    closing.close();
    CHECK(closing.wait(got, 0ms) == subscriber::status::messages);
    CHECK(closing.wait(got, 0ms) == subscriber::status::ended);
    CHECK_FALSE(closing.dropped());
}

TEST_CASE("web json gives each event kind one form", "[web]") {
    using cli::dump;
    using cli::event_json;
    const peer_id id{0x0123456789abcdef};
    CHECK(dump(event_json(peer_joined{id, "host:1", 2})) ==
          R"({"event":"peer_joined","peer":"0123456789abcdef","address":"host:1","file_count":2})");
    CHECK(
        dump(event_json(peer_files_changed{id, {{"a<b>.txt", 3}}, false})) ==
        R"({"event":"peer_files_changed","peer":"0123456789abcdef","files":[{"name":"a<b>.txt","size":3}],"hashes_only":false})");
    CHECK(
        dump(event_json(peer_left{id, "host:1", peer_left::reason::dropped, "too many"})) ==
        R"({"event":"peer_left","peer":"0123456789abcdef","address":"host:1","reason":"dropped","detail":"too many"})");
    connect_finished failed_connect;
    failed_connect.op = 4;
    failed_connect.address = "h:2";
    failed_connect.error = "no answer";
    CHECK(dump(event_json(failed_connect)) ==
          R"({"event":"connect_finished","op":4,"address":"h:2","ok":false,"already_connected":false,)"
          R"("peer":null,"file_count":0,"error":"no answer"})");
    CHECK(dump(event_json(download_progress{5, "f", id, 10, 20, {}})) ==
          R"({"event":"download_progress","op":5,"name":"f","peer":"0123456789abcdef","bytes":10,"size":20,)"
          R"("holders":[]})");
    // What each holder sent so far, in the order they joined the download.
    const peer_id other{0xfedcba9876543210};
    CHECK(dump(event_json(download_progress{5, "f", id, 10, 20, {{other, 6}, {id, 4}}})) ==
          R"({"event":"download_progress","op":5,"name":"f","peer":"0123456789abcdef","bytes":10,"size":20,)"
          R"("holders":[{"peer":"fedcba9876543210","bytes":6},{"peer":"0123456789abcdef","bytes":4}]})");
    download_finished done;
    done.op = 5;
    done.name = "f";
    done.ok = true;
    done.from = id;
    done.size = 20;
    done.bytes_received = 20;
    done.seconds = 0.0024134;
    CHECK(
        dump(event_json(done)) ==
        R"({"event":"download_finished","op":5,"name":"f","ok":true,"code":"none","error":"",)"
        R"("peer":"0123456789abcdef","size":20,"bytes_received":20,"resumed_from":0,"rechecked":0,"seconds":0.002413,)"
        R"("rate":8287,"holders":[],"wasted":0,"limit":{"by":"unknown","text":""},"window":{"mode":"auto","final_bytes":0,)"
        R"("peak_in_flight_bytes":0,"capped":false,"min_rtt_ms":0.0,"avg_rtt_ms":0.0,"full_after_ms":0.0,)"
        R"("rate_bytes_per_s":0},)"
        R"("stages":{"seconds":0.0,"holder_busy_s":0.0,"receiver_busy_s":0.0}})");
    CHECK(dump(event_json(stop_pending{{{true, id, "up.bin", 1, 2}}})) ==
          R"({"event":"stop_pending","transfers":[{"direction":"upload","peer":"0123456789abcdef","name":"up.bin",)"
          R"("bytes":1,"size":2}]})");
    // Bytes that are not UTF-8 cannot break the JSON.
    CHECK(dump(cli::file_json({"bad\xff.txt", 1})) == "{\"name\":\"bad\xEF\xBF\xBD.txt\",\"size\":1}");
}

TEST_CASE("web json keeps the forms of get --json and ls --json", "[web]") {
    download_finished done;
    done.name = "notes.txt";
    done.ok = true;
    done.from = peer_id{0x1f2e3d4c5b6a7988};
    done.size = 11;
    done.bytes_received = 11;
    done.seconds = 0.002413;
    CHECK(cli::dump(cli::download_result_json(done)) ==
          R"({"name":"notes.txt","size":11,"seconds":0.002413,"rate":4559,"peer":"1f2e3d4c5b6a7988"})");
    // get --json: what each holder sent, and the bytes thrown away; --json-progress: a line per progress report.
    done.holders = {{peer_id{0x1f2e3d4c5b6a7988}, 7}, {peer_id{0x0123456789abcdef}, 4}};
    done.wasted = 3;
    const auto file = cli::get_file_json(done, "notes.txt");
    CHECK(cli::dump(file["holders"]) ==
          R"([{"peer":"1f2e3d4c5b6a7988","bytes":7},{"peer":"0123456789abcdef","bytes":4}])");
    CHECK(file["wasted"] == 3);
    CHECK(cli::dump(cli::get_progress_json(download_progress{5, "notes.txt", done.from, 11, 11, done.holders})) ==
          R"({"event":"progress","name":"notes.txt","bytes":11,"size":11,)"
          R"("holders":[{"peer":"1f2e3d4c5b6a7988","bytes":7},{"peer":"0123456789abcdef","bytes":4}]})");
    CHECK(cli::dump(cli::files_json({{"data.bin", 3146505}, {"notes.txt", 11}})) ==
          R"([{"name":"data.bin","size":3146505},{"name":"notes.txt","size":11}])");
}

TEST_CASE("web bridge runs commands on the loop thread and answers with their outcome", "[web][net]") {
    temp_dir dir_a, dir_b;
    write_file(dir_a / "mine.txt", "mine");
    const auto data = mib + "tail";
    write_file(dir_b / "x.bin", data);
    zmq::context_t context;
    peer a(context, options_in<inproc>(dir_a.path()));
    peer b(context, options_in<inproc>(dir_b.path()));
    REQUIRE(a.connect(b.endpoint()).ok);
    bridge web;
    web.attach(a, clock::now());
    REQUIRE(web.peers().size() == 1);
    CHECK(web.self()["peer"] == a.id().hex());
    CHECK(web.files()[0]["name"] == "mine.txt");

    // Each call blocks its thread, as an HTTP thread would be, until the loop below runs it.
    auto call = [&](command c) {
        return std::async(std::launch::async, [&web, c] { return web.call(c); });
    };
    auto unknown = call(download_command{"nope.txt", ""});
    auto exists = call(download_command{"mine.txt", ""});
    auto bad_prefix = call(download_command{"x.bin", "zz"});
    auto no_such_peer = call(download_command{"x.bin", "0000000000000000"});
    auto no_such_op = call(cancel_command{999});
    REQUIRE(drive(a, web, [&] {
        return ready(unknown) && ready(exists) && ready(bad_prefix) && ready(no_such_peer) && ready(no_such_op);
    }));
    // Subscribed before the download starts: the driving loop may read the whole transfer's events (1 MiB over
    // inproc) in the turn that answers the command, and a stream opened after that would hear none of them.
    const auto stream = web.subscribe();
    REQUIRE(stream);
    // After the refusals: once x.bin is on its way, asking for it again is a conflict, whoever asks.
    auto good = call(download_command{"x.bin", b.id().short_hex()});
    REQUIRE(drive(a, web, [&] { return ready(good); }));
    CHECK(unknown.get().status == 404);
    const auto conflict = exists.get();
    CHECK(conflict.status == 409);
    CHECK(conflict.body["code"] == 1);
    CHECK(bad_prefix.get().body["code"] == 2);
    CHECK(no_such_peer.get().status == 404);
    CHECK(no_such_op.get().status == 404);
    const auto started = good.get();
    REQUIRE(started.status == 202);
    const operation_id op = started.body["op"];
    CHECK(started.body["holders"][0] == b.id().hex());

    REQUIRE(drive(a, web, [&] { return web.transfer_view(op, clock::now()).value()["state"] == "done"; }));
    CHECK(file_holds(dir_a / "x.bin", data));
    // The stream saw the outcome, as --json prints it, and the transfer's last view.
    std::vector<subscriber::message> got;
    REQUIRE(stream->wait(got, 0ms) == subscriber::status::messages);
    std::string all;
    for (const auto& m : got) {
        all += *m;
    }
    CHECK(all.find("event: download_finished\n") != std::string::npos);
    CHECK(all.find(R"("state":"done")") != std::string::npos);

    auto twice = call(download_command{"x.bin", ""});
    auto again = call(cancel_command{op});
    REQUIRE(drive(a, web, [&] { return ready(again) && ready(twice); }));
    CHECK(again.get().status == 409);
    CHECK(twice.get().status == 409); // it is in our folder now
    web.unsubscribe(stream);
}

TEST_CASE("web bridge gives a command up after its deadline, and the loop never runs it later", "[web][net]") {
    temp_dir dir_a, dir_b;
    write_file(dir_b / "x.bin", "x");
    zmq::context_t context;
    peer a(context, options_in<inproc>(dir_a.path()));
    peer b(context, options_in<inproc>(dir_b.path()));
    REQUIRE(a.connect(b.endpoint()).ok);
    bridge_limits limits;
    limits.queue_deadline = 50ms;
    bridge web(limits);
    web.attach(a, clock::now());
    // Nobody runs the loop meanwhile: the caller is told 503...
    const auto late = web.call(download_command{"x.bin", ""});
    CHECK(late.status == 503);
    // ...and when the loop comes round, the download does not start behind the caller's back.
    int turns = 0;
    drive(a, web, [&] { return ++turns > 5; });
    CHECK(web.transfers(clock::now()).empty());
    CHECK_FALSE(fs::exists(dir_a / "x.bin"));
}

TEST_CASE("web bridge refuses commands once the peer stops, and its streams end with 'stopped'", "[web]") {
    bridge web;
    const auto stream = web.subscribe();
    REQUIRE(stream);
    web.stopping();
    const auto refused = web.call(connect_command{"127.0.0.1:1"});
    CHECK(refused.status == 503);
    CHECK(refused.body["code"] == 1);
    web.close();
    std::vector<subscriber::message> got;
    REQUIRE(stream->wait(got, 0ms) == subscriber::status::messages);
    REQUIRE(got.size() == 2);
    CHECK(got[0]->starts_with("event: stopping\n"));
    CHECK(got[1]->starts_with("event: stopped\n"));
    CHECK(stream->wait(got, 0ms) == subscriber::status::ended);
    CHECK(web.subscribe() == nullptr);
}

TEST_CASE("web bridge refuses event streams beyond its limit", "[web]") {
    bridge_limits limits;
    limits.subscribers = 2;
    bridge web(limits);
    auto one = web.subscribe();
    auto two = web.subscribe();
    CHECK(one);
    CHECK(two);
    CHECK(web.subscribe() == nullptr);
    web.unsubscribe(one);
    CHECK(web.subscribe() != nullptr);
}
