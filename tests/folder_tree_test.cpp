// SPDX-License-Identifier: MIT
// folder_tree_test.cpp - folders with subfolders (issue 13): the tree is listed with relative names, every open walks
// it one component at a time refusing symlinks, downloads land in the same relative path, and changes in new
// subfolders are heard. Network cases run on inproc and on tcp://127.0.0.1:*.
#include "shim.hpp"
#include "sim/memory_folder.hpp"
#include "support.hpp"

#include "p2p/blake2b.hpp"
#include "p2p/core/folder_view.hpp"
#include "p2p/posix_folder.hpp"
#include "p2p/protocol.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <memory>

using namespace p2p;
using namespace p2p::test;

namespace {

std::vector<std::string> names_of(const std::vector<core::folder_entry>& entries) {
    std::vector<std::string> names;
    for (const auto& e : entries) {
        names.push_back(e.name);
    }
    return names;
}

digest hash_of(const std::string& bytes) {
    blake2b h;
    h.update(bytes.data(), bytes.size());
    return h.final();
}

/// Writes a whole download through the folder interface, as the core does: partial, description, bytes, rename.
core::place_result download_into(posix_folder& folder, const std::string& name, const std::string& bytes,
                                 std::string& error) {
    auto opened = folder.open_partial(name, false);
    if (auto* problem = std::get_if<std::string>(&opened)) {
        error = *problem;
        return core::place_result::failed;
    }
    auto file = std::get<std::shared_ptr<core::file_handle>>(opened);
    REQUIRE_FALSE(folder.describe_partial(name, bytes.size(), hash_of(bytes)));
    REQUIRE_FALSE(file->write_at(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), 0));
    return folder.place_partial(name, false, error);
}

/// Every entry under a folder, recursively, as relative paths (hidden ones too).
/// The user's files and folders under root; the peer's own state (.p2p/: its id, the manifests of what it shares)
/// is not one of them.
std::vector<std::string> tree_of(const fs::path& root) {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        if (it->path().filename() == ".p2p" && it.depth() == 0) {
            it.disable_recursion_pending();
            continue;
        }
        out.push_back(fs::relative(it->path(), root).string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST_CASE("folder tree scan lists nested files by relative path and skips links and FIFOs", "[folder_tree]") {
    temp_dir d, outside;
    write_file(outside / "secret", "secret");
    fs::create_directories(d / "top/mid/low");
    write_file(d / "a.txt", "a");
    write_file(d / "top/b.txt", "bb");
    write_file(d / "top/mid/low/c.txt", "ccc");
    fs::create_directories(d / "empty");
    fs::create_directory_symlink(outside.path(), d / "top/linked"); // never followed
    fs::create_symlink(outside / "secret", d / "top/mid/link.txt");
    REQUIRE(::mkfifo((d / "top/mid/fifo").c_str(), 0600) == 0);
    fs::create_directories(d / "top/.p2p-part-x"); // ours at any level: not even counted
    write_file(d / "top/.p2p-part-x/y", "y");

    posix_folder folder(d.path());
    auto scanned = folder.scan();
    REQUIRE(scanned);
    CHECK(names_of(*scanned) == std::vector<std::string>{"a.txt", "top/b.txt", "top/mid/low/c.txt"});
    CHECK(folder.skipped() == 3); // the linked folder, the linked file, the FIFO
}

TEST_CASE("folder tree scan stops at the depth limit and counts what it leaves", "[folder_tree]") {
    temp_dir d;
    fs::path deep = d.path();
    std::string name;
    for (std::size_t level = 1; level <= protocol::max_path_depth; ++level) {
        deep /= "d";
        name += name.empty() ? "d" : "/d";
        fs::create_directory(deep);
        write_file(deep / "f", std::to_string(level));
    }
    posix_folder folder(d.path());
    auto scanned = folder.scan();
    REQUIRE(scanned);
    // d/f has 2 components; the deepest listed file has max_path_depth; the last folder's file would have one more.
    REQUIRE(scanned->size() == protocol::max_path_depth - 1);
    const auto deepest = std::max_element(scanned->begin(), scanned->end(),
                                          [](const auto& a, const auto& b) { return a.name.size() < b.name.size(); });
    CHECK(deepest->name.size() == 2 * protocol::max_path_depth - 1);
    CHECK(folder.skipped() == 1);
}

TEST_CASE("folder tree open refuses a symlink anywhere in the path", "[folder_tree]") {
    temp_dir d, outside;
    fs::create_directories(outside / "inner");
    write_file(outside / "inner/secret", "secret");
    fs::create_directories(d / "top");
    fs::create_directory_symlink(outside.path(), d / "top/linked");
    fs::create_directory_symlink(outside.path(), d / "linked");
    fs::create_directories(d / "top/real");
    write_file(d / "top/real/ok.txt", "ok");

    posix_folder folder(d.path());
    for (const std::string name : {"top/linked/inner/secret", "linked/inner/secret", "top/linked/secret"}) {
        INFO(name);
        auto opened = folder.open_shared(name);
        REQUIRE(std::holds_alternative<std::string>(opened));
        CHECK(std::get<std::string>(opened).find("not a folder") != std::string::npos);
    }
    for (const std::string name : {"top/../linked/inner/secret", "top/real/../../x", "/etc/passwd"}) {
        CHECK(std::holds_alternative<std::string>(folder.open_shared(name)));
    }
    auto ok = folder.open_shared("top/real/ok.txt");
    REQUIRE(std::holds_alternative<core::opened_file>(ok));
    CHECK(std::get<core::opened_file>(ok).stat.size == 2);
    CHECK(std::get<std::string>(folder.open_shared("top/real/none.txt")) == "File not found");
    CHECK(std::get<std::string>(folder.open_shared("top/none/none.txt")) == "File not found");
}

TEST_CASE("folder tree download lands in a new subfolder and in an existing one", "[folder_tree]") {
    temp_dir d;
    fs::create_directories(d / "have");
    write_file(d / "have/old.txt", "old");
    posix_folder folder(d.path());
    std::string error;
    CHECK(download_into(folder, "new/deeper/a.txt", "new bytes", error) == core::place_result::placed);
    CHECK(download_into(folder, "have/b.txt", "more", error) == core::place_result::placed);
    INFO(error);
    CHECK(read_file(d / "new/deeper/a.txt") == "new bytes");
    CHECK(read_file(d / "have/b.txt") == "more");
    // Nothing else: the partial files and their descriptions went with the rename.
    CHECK(tree_of(d.path()) ==
          std::vector<std::string>{"have", "have/b.txt", "have/old.txt", "new", "new/deeper", "new/deeper/a.txt"});
    CHECK((fs::status(d / "new/deeper").permissions() & fs::perms::owner_all) == fs::perms::owner_all);
    CHECK(folder.exists("new/deeper/a.txt"));
    CHECK(folder.exists("new/deeper"));
    CHECK_FALSE(folder.exists("new/none/a.txt"));
}

TEST_CASE("folder tree download where a file stands for a folder is refused and writes nothing", "[folder_tree]") {
    temp_dir d, outside;
    write_file(d / "clash", "a file, not a folder");
    fs::create_directory_symlink(outside.path(), d / "linked");
    const auto before = tree_of(d.path());
    posix_folder folder(d.path());
    std::string error;
    for (const std::string name : {"clash/a.txt", "clash/new/a.txt", "linked/a.txt", "linked/new/a.txt"}) {
        INFO(name);
        auto opened = folder.open_partial(name, false);
        REQUIRE(std::holds_alternative<std::string>(opened));
        CHECK(std::get<std::string>(opened).find("is not a folder") != std::string::npos);
    }
    CHECK(tree_of(d.path()) == before);
    CHECK(tree_of(outside.path()).empty());
    CHECK(read_file(d / "clash") == "a file, not a folder");

    // The other way round: a folder where the file would go is a name taken, and stays as it was.
    fs::create_directories(d / "dir/inner");
    CHECK(download_into(folder, "dir", "x", error) == core::place_result::name_taken);
    CHECK(fs::is_directory(d / "dir/inner"));
}

TEST_CASE("folder tree partial download in a subfolder is found again by a restarted peer", "[folder_tree]") {
    temp_dir d;
    const auto bytes = random_bytes(10000, 4);
    {
        posix_folder folder(d.path());
        auto opened = folder.open_partial("sub/dir/r.bin", false);
        REQUIRE(std::holds_alternative<std::shared_ptr<core::file_handle>>(opened));
        auto file = std::get<std::shared_ptr<core::file_handle>>(opened);
        REQUIRE_FALSE(folder.describe_partial("sub/dir/r.bin", bytes.size(), hash_of(bytes)));
        REQUIRE_FALSE(file->write_at(reinterpret_cast<const std::byte*>(bytes.data()), 4000, 0));
    }
    // Beside where the file will be, under our reserved names: never listed.
    CHECK(fs::exists(d / "sub/dir" / partial_file_name("sub/dir/r.bin")));
    CHECK(fs::exists(d / "sub/dir" / partial_meta_name("sub/dir/r.bin")));
    posix_folder again(d.path());
    REQUIRE(again.scan()->empty());
    auto partial = again.find_partial("sub/dir/r.bin");
    REQUIRE(partial);
    CHECK(partial->length == 4000);
    CHECK(partial->size == bytes.size());
    CHECK(partial->hash == hash_of(bytes));
    again.remove_partial("sub/dir/r.bin");
    CHECK(tree_of(d.path()) == std::vector<std::string>{"sub", "sub/dir"});
}

TEST_CASE("folder tree a placed download leaves none of its hidden files, whichever it made or found",
          "[folder_tree]") {
    temp_dir d;
    const auto bytes = random_bytes(5000, 5);
    posix_folder folder(d.path());
    std::string error;
    // A file of one piece: no description, no journal, nothing left.
    auto one = std::get<std::shared_ptr<core::file_handle>>(folder.open_partial("one.bin", false));
    REQUIRE_FALSE(one->write_at(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), 0));
    REQUIRE(folder.place_partial("one.bin", false, error) == core::place_result::placed);
    // A larger one: its description and journal go with the rename.
    auto journal = folder.open_journal("big.bin", false);
    REQUIRE(std::holds_alternative<std::shared_ptr<core::file_handle>>(journal));
    REQUIRE(download_into(folder, "big.bin", bytes, error) == core::place_result::placed);
    // Left by an earlier run: a partial file with no description (replaced), and a description whose partial file
    // is gone (found, and removed once the new download is placed).
    write_file(d / partial_file_name("old.bin"), "stale bytes, longer than the new file's");
    write_file(d / partial_meta_name("gone.bin"), "p2p-partial 1\n5000\nnot-a-hash\n");
    auto old = std::get<std::shared_ptr<core::file_handle>>(folder.open_partial("old.bin", false));
    REQUIRE_FALSE(old->write_at(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), 0));
    REQUIRE(folder.place_partial("old.bin", false, error) == core::place_result::placed);
    CHECK_FALSE(folder.find_partial("gone.bin"));
    auto gone = std::get<std::shared_ptr<core::file_handle>>(folder.open_partial("gone.bin", false));
    REQUIRE_FALSE(gone->write_at(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), 0));
    REQUIRE(folder.place_partial("gone.bin", false, error) == core::place_result::placed);

    CHECK(tree_of(d.path()) == std::vector<std::string>{"big.bin", "gone.bin", "old.bin", "one.bin"});
    for (const auto* name : {"big.bin", "gone.bin", "old.bin", "one.bin"}) {
        CHECK(read_file(d / name) == bytes);
    }
}

TEMPLATE_TEST_CASE("folder tree a file three folders down transfers byte for byte", "[folder_tree][net]", inproc, tcp) {
    zmq::context_t ctx;
    temp_dir dh, dg;
    const auto bytes = random_bytes(300000, 7);
    fs::create_directories(dh / "one/two/three");
    write_file(dh / "one/two/three/f.bin", bytes);
    auto oh = options_in<TestType>(dh.path());
    auto og = options_in<TestType>(dg.path());
    oh.chunk_size = og.chunk_size = 64 * 1024;
    peer holder(ctx, oh), getter(ctx, og);
    REQUIRE(getter.connect(holder.endpoint()).ok);
    REQUIRE(getter.peers().size() == 1);
    CHECK(names_and_sizes(getter.peers()[0].files) == listing{{"one/two/three/f.bin", bytes.size()}});

    auto done = getter.download({"one/two/three/f.bin", "", {}, {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(file_holds(dg / "one/two/three/f.bin", bytes));
    CHECK(tree_of(dg.path()) == std::vector<std::string>{"one", "one/two", "one/two/three", "one/two/three/f.bin"});
    // The getter shares what it got, under the same name and with the root it checked every piece against
    // (listed at once: it has nothing to hash).
    REQUIRE(eventually(holder, [&] {
        auto peers = holder.peers();
        return !peers.empty() &&
               peers[0].files == std::vector<file_entry>{{"one/two/three/f.bin", bytes.size(), root_of_bytes(bytes)}};
    }));
    CHECK(getter.stats().hash_jobs == 0);
}

TEMPLATE_TEST_CASE("folder tree a file made in a new subfolder reaches connected peers", "[folder_tree][net]", inproc,
                   tcp) {
    zmq::context_t ctx;
    temp_dir da, db;
    peer a(ctx, options_in<TestType>(da.path()));
    peer b(ctx, options_in<TestType>(db.path()));
    REQUIRE(a.connect(b.endpoint()).ok);

    // The subfolder is new, so nobody watched it when the file was made in it: its creation must be heard, and
    // the file in it too (written after the folder, as a user would).
    fs::create_directories(db / "new/inner");
    write_file(db / "new/inner/x.txt", "xyz");
    auto changed = wait_event<peer_files_changed>(
        a, [&](const auto& e) { return e.id == b.id() && !e.files.empty(); }, 5000ms);
    REQUIRE(changed);
    CHECK(names_and_sizes(changed->files) == listing{{"new/inner/x.txt", 3}});

    // And a later file in that folder, now watched.
    write_file(db / "new/inner/y.txt", "y");
    auto again = wait_event<peer_files_changed>(
        a, [&](const auto& e) { return e.id == b.id() && e.files.size() == 2; }, 5000ms);
    REQUIRE(again);
    CHECK(again->files.back() == file_entry{"new/inner/y.txt", 1});
}

TEST_CASE("folder tree a lost watch turns listing on a timer on", "[folder_tree]") {
    // The watch limit: posix_folder says watching_everything() false; the core must then list the folder every
    // periodic_scan by itself, since changes in some folder would go untold. Time is the test's.
    std::int64_t clock_ns = 0;
    sim::memory_folder disk(&clock_ns);
    disk.put("a.txt", "a");
    const steady_time start{};
    core::folder_view view(disk, true, true, milliseconds(50), milliseconds(0), start);
    CHECK(view.files().size() == 1);
    CHECK_FALSE(view.next_deadline()); // watched: nothing to do until told of a change

    disk.watch_lost = true;
    disk.put("sub/b.txt", "b"); // a file nobody tells the core of
    view.on_changed(start);     // (a change elsewhere, heard: its rescan finds the watch lost)
    CHECK(view.on_deadline(start + milliseconds(50)));
    REQUIRE(view.next_deadline());
    CHECK(*view.next_deadline() == start + milliseconds(50) + core::folder_view::periodic_scan);

    disk.put("sub/c.txt", "c"); // untold: found by the timer alone
    CHECK(view.on_deadline(*view.next_deadline()));
    CHECK(view.files().size() == 3);
    CHECK(view.files().back() == file_entry{"sub/c.txt", 1});
    CHECK(view.next_deadline()); // and again, for as long as the peer runs
}

TEMPLATE_TEST_CASE("folder tree a download in a subfolder resumes after the downloader restarts", "[folder_tree][net]",
                   inproc, tcp) {
    zmq::context_t ctx;
    temp_dir dh, dg;
    const auto bytes = random_bytes(8u << 20, 12);
    fs::create_directories(dh / "sub/dir");
    write_file(dh / "sub/dir/resume.bin", bytes);
    peer holder(ctx, options_in<TestType>(dh.path()));
    auto og = options_in<TestType>(dg.path());
    og.chunk_size = 64 * 1024;
    og.window = window_setting::of_chunks(1); // stop-and-wait: each chunk pays the slow link's delay
    {
        peer getter(ctx, og);
        // 20 ms a chunk: the first report of 1 MiB or more comes by the 30th of 128 chunks, and the rest take 2 s at
        // least, so the stop comes mid-transfer however late this thread runs (with 2 ms, a 300 ms pause let it end).
        shim slow(ctx, TestType::bind(), holder.endpoint(), {0, 0, std::chrono::microseconds(20000)});
        REQUIRE(getter.connect(slow.endpoint()).ok);
        const auto op = getter.start_download({"sub/dir/resume.bin", "", {}, {}});
        REQUIRE(
            wait_event<download_progress>(getter, [&](const auto& e) { return e.op == op && e.bytes >= (1u << 20); }));
        slow.hold(true);   // from here no chunk reaches the getter
        getter.stop_now(); // the partial file stays, hidden, in sub/dir
    }
    CHECK_FALSE(fs::exists(dg / "sub/dir/resume.bin"));
    CHECK(fs::exists(dg / "sub/dir" / partial_file_name("sub/dir/resume.bin")));

    peer getter(ctx, og);
    REQUIRE(getter.connect(holder.endpoint()).ok);
    auto done = getter.download({"sub/dir/resume.bin", "", {}, {}});
    INFO(done.error);
    REQUIRE(done.ok);
    CHECK(done.resumed_from >= (1u << 20));
    CHECK(file_holds(dg / "sub/dir/resume.bin", bytes));
    // No partial file or description left beside it.
    CHECK(tree_of(dg.path()) == std::vector<std::string>{"sub", "sub/dir", "sub/dir/resume.bin"});
}

TEMPLATE_TEST_CASE("folder tree a download where a file of ours stands for a folder fails and changes nothing",
                   "[folder_tree][net]", inproc, tcp) {
    zmq::context_t ctx;
    temp_dir dh, dg;
    fs::create_directories(dh / "x/y");
    write_file(dh / "x/y/a.txt", "theirs");
    write_file(dg / "x", "mine, a file");
    peer holder(ctx, options_in<TestType>(dh.path())), getter(ctx, options_in<TestType>(dg.path()));
    REQUIRE(getter.connect(holder.endpoint()).ok);

    auto done = getter.download({"x/y/a.txt", "", {}, {}});
    CHECK_FALSE(done.ok);
    INFO(done.error);
    CHECK(done.error.find("x is not a folder") != std::string::npos);
    CHECK(tree_of(dg.path()) == std::vector<std::string>{"x"});
    CHECK(read_file(dg / "x") == "mine, a file");
}

TEST_CASE("folder tree a partial file's journal lives and goes with it, and is never reached through a symlink",
          "[folder_tree][journal]") {
    temp_dir d, outside;
    const std::string name = "sub/j.bin";
    const auto journal_path = d / "sub" / partial_journal_name(name);
    const std::string record = "recorded";
    const auto write_journal = [&](posix_folder& folder, bool keep) {
        auto opened = folder.open_journal(name, keep);
        REQUIRE(std::holds_alternative<std::shared_ptr<core::file_handle>>(opened));
        REQUIRE_FALSE(std::get<std::shared_ptr<core::file_handle>>(opened)->write_at(
            reinterpret_cast<const std::byte*>(record.data()), record.size(), 0));
    };
    posix_folder folder(d.path());
    REQUIRE(std::holds_alternative<std::shared_ptr<core::file_handle>>(folder.open_partial(name, false)));
    REQUIRE_FALSE(folder.describe_partial(name, 10, digest{}));
    write_journal(folder, true);
    CHECK(read_file(journal_path) == record);
    REQUIRE(folder.scan()->empty()); // a reserved name: never listed

    SECTION("kept by a reopen that keeps its records, emptied by one that does not") {
        write_journal(folder, true);
        CHECK(read_file(journal_path) == record);
        REQUIRE(std::holds_alternative<std::shared_ptr<core::file_handle>>(folder.open_journal(name, false)));
        CHECK(read_file(journal_path).empty());
    }
    SECTION("a new partial file removes it") {
        REQUIRE(std::holds_alternative<std::shared_ptr<core::file_handle>>(folder.open_partial(name, false)));
        CHECK_FALSE(fs::exists(journal_path));
    }
    SECTION("removing the partial file removes it") {
        folder.remove_partial(name);
        CHECK(tree_of(d.path()) == std::vector<std::string>{"sub"});
    }
    SECTION("the rename into place removes it") {
        std::string error;
        REQUIRE(folder.place_partial(name, false, error) == core::place_result::placed);
        CHECK(tree_of(d.path()) == std::vector<std::string>{"sub", "sub/j.bin"});
    }
    SECTION("a symlink in its place is refused, never followed") {
        fs::remove(journal_path);
        fs::create_symlink(outside / "target", journal_path);
        CHECK(std::holds_alternative<std::string>(folder.open_journal(name, true)));
        CHECK(tree_of(outside.path()).empty());
    }
}
