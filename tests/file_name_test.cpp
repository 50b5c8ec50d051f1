// SPDX-License-Identifier: MIT
// file_name_test.cpp - the one rule for file names on the wire, UTF-8 validation, and terminal escaping.
#include "p2p/file_name.hpp"
#include "p2p/protocol.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace p2p;

namespace {

/// The reason a name is refused; fails the test when it is accepted.
std::string refusal(const std::string& name) {
    auto problem = file_name_problem(name);
    INFO("name: " << escape_for_terminal(name));
    REQUIRE(problem.has_value());
    CHECK_FALSE(is_valid_file_name(name));
    return *problem;
}

} // namespace

TEST_CASE("file name ordinary names are accepted", "[file_name]") {
    for (const std::string name :
         {"a", "a.txt", "report 2024 (final).pdf", ".hidden", "...", "a..b", "p2p.txt", ".p2", "-rf", "~backup",
          "\xc3\xbcmlaut.txt", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.pdf", "party \xf0\x9f\x8e\x89.png"}) {
        INFO(name);
        CHECK(is_valid_file_name(name));
        CHECK_FALSE(file_name_problem(name).has_value());
    }
    CHECK(is_valid_file_name(std::string(protocol::max_name_bytes, 'n')));
    // 255 bytes made of 2-byte characters plus one ASCII byte.
    std::string wide;
    for (int i = 0; i < 127; ++i) {
        wide += "\xc3\xa9";
    }
    wide += "e";
    REQUIRE(wide.size() == protocol::max_name_bytes);
    CHECK(is_valid_file_name(wide));
}

TEST_CASE("file name empty, too long, dot and dot-dot are refused", "[file_name]") {
    CHECK(refusal("") == "empty name");
    CHECK(refusal(std::string(protocol::max_name_bytes + 1, 'n')) == "name longer than 255 bytes");
    CHECK(refusal(".") == "name is '.' or '..'");
    CHECK(refusal("..") == "name is '.' or '..'");
}

TEST_CASE("file name path separators and NUL are refused", "[file_name]") {
    for (const std::string name : {"/", "a/b", "/etc/passwd", "../x", "x/..", "a\\b", "..\\..\\windows", "\\"}) {
        CHECK(refusal(name) == "name contains a path separator");
    }
    CHECK(refusal(std::string("a\0b", 3)) == "name contains NUL");
    CHECK(refusal(std::string("\0", 1)) == "name contains NUL");
}

TEST_CASE("file name control characters are refused", "[file_name]") {
    for (const std::string name :
         {"a\tb", "line\n", "\r", "\x1b[31mred", "\x01", "del\x7f", "bell\a", "c1 \xc2\x85", "csi \xc2\x9b"}) {
        CHECK(refusal(name) == "name contains a control character");
    }
}

TEST_CASE("file name invisible reordering and zero-width characters are refused", "[file_name]") {
    for (const std::string name : {"txt.\xe2\x80\xae"
                                   "fdp.exe",
                                   "a\xe2\x80\x8b"
                                   "b",
                                   "\xef\xbb\xbf"
                                   "bom",
                                   "a\xe2\x81\xa6"
                                   "b"}) {
        CHECK(refusal(name) == "name contains an invisible formatting character");
    }
}

TEST_CASE("file name invalid UTF-8 is refused", "[file_name]") {
    for (const std::string name : {
             "\xc0\xaf",         // overlong '/'
             "\xe0\x80\xae",     // overlong '.'
             "\xf0\x80\x80\xaf", // overlong, 4 bytes
             "\xc1\xbf",         // overlong, lead byte C1
             "\xed\xa0\x80",     // UTF-16 high surrogate U+D800
             "\xed\xbf\xbf",     // low surrogate U+DFFF
             "\xf4\x90\x80\x80", // U+110000, past the last code point
             "abc\xe2\x82",      // truncated at the end
             "\xe2\x82"
             "abc",                  // truncated in the middle
             "\x80",                 // lone continuation byte
             "\xff", "\xfe",         // never in UTF-8
             "\xf8\x88\x80\x80\x80", // old 5-byte form
         }) {
        CHECK(refusal(name) == "name is not valid UTF-8");
        CHECK_FALSE(is_valid_utf8(name));
    }
}

TEST_CASE("file name the reserved .p2p prefix is refused", "[file_name]") {
    for (const std::string name : {".p2p", ".p2p-keys", ".p2p.partial.a.txt", ".p2pfoo"}) {
        CHECK(is_reserved_name(name));
        CHECK(refusal(name) == "names starting with .p2p are reserved");
    }
    CHECK_FALSE(is_reserved_name("p2p"));
    CHECK_FALSE(is_reserved_name("x.p2p"));
}

TEST_CASE("file name UTF-8 validation accepts every plane", "[file_name]") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain"));
    CHECK(is_valid_utf8("\xc2\x80"));         // U+0080, first 2-byte
    CHECK(is_valid_utf8("\xed\x9f\xbf"));     // U+D7FF, just below the surrogates
    CHECK(is_valid_utf8("\xee\x80\x80"));     // U+E000, just above them
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf")); // U+10FFFF, the last code point
}

TEST_CASE("file name escaping for terminals neutralises control and invisible characters", "[file_name]") {
    CHECK(escape_for_terminal("report.pdf") == "report.pdf");
    CHECK(escape_for_terminal("\xc3\xa9t\xc3\xa9") == "\xc3\xa9t\xc3\xa9");
    CHECK(escape_for_terminal("\x1b[2Jgone") == "\\x1b[2Jgone");
    CHECK(escape_for_terminal("a\nb") == "a\\x0ab");
    CHECK(escape_for_terminal("back\\slash") == "back\\\\slash");
    CHECK(escape_for_terminal("\xe2\x80\xae"
                              "cod.exe") == "\\u{202e}cod.exe");
    CHECK(escape_for_terminal("bad\xff") == "bad\\xff");
    CHECK(escape_for_terminal("\xc2\x9b") == "\\x9b");
    // Whatever goes in, nothing below 0x20 comes out.
    std::string all;
    for (int c = 0; c < 256; ++c) {
        all.push_back(static_cast<char>(c));
    }
    for (unsigned char c : escape_for_terminal(all)) {
        CHECK(c >= 0x20);
        CHECK(c != 0x7f);
    }
}

TEST_CASE("file path relative paths of valid components are accepted", "[file_name]") {
    std::string deepest = "d";
    for (std::size_t i = 1; i < protocol::max_path_depth; ++i) {
        deepest += "/d";
    }
    // Built with append: GCC 12 warns wrongly (-Warray-bounds) on a chain of operator+ here.
    std::string longest;
    for (const char c : {'a', 'b', 'c'}) {
        longest.append(protocol::max_name_bytes, c).append("/");
    }
    longest.append("x/"); // so that the last component fits in 255 bytes
    longest.append(protocol::max_path_bytes - longest.size(), 'e');
    REQUIRE(longest.size() == protocol::max_path_bytes);
    for (const std::string& path :
         {std::string("a.txt"), std::string("sub/a.txt"), std::string("top/mid/low/x y.bin"),
          std::string(".hidden/...x/a..b"), std::string("\xc3\xbc/\xc3\xa9.txt"), deepest, longest}) {
        INFO(path);
        CHECK(is_valid_file_path(path));
    }
}

TEST_CASE("file path bad components, separators, depth and length are refused", "[file_name]") {
    std::string too_deep = "d";
    for (std::size_t i = 0; i < protocol::max_path_depth; ++i) {
        too_deep += "/d";
    }
    const std::vector<std::pair<std::string, std::string>> refused{
        {"", "empty name"},
        {"/", "name starts or ends with '/'"},
        {"/etc/passwd", "name starts or ends with '/'"},
        {"sub/", "name starts or ends with '/'"},
        {"a//b", "name has an empty component ('//')"},
        {"..", "name is '.' or '..'"},
        {"../x", "name is '.' or '..'"},
        {"a/../../x", "name is '.' or '..'"},
        {"a/./b", "name is '.' or '..'"},
        {"a/..", "name is '.' or '..'"},
        {"a\\b/c", "name contains a path separator"},
        {"a/b\\..\\c", "name contains a path separator"},
        {std::string("a/b\0c", 5), "name contains NUL"},
        {"sub/esc\x1b[1A", "name contains a control character"},
        {"sub/\xe2\x80\xae"
         "gpj.exe",
         "name contains an invisible formatting character"},
        {"sub/\xff", "name is not valid UTF-8"},
        {".p2p/x", "names starting with .p2p are reserved"},
        {"sub/.p2p-part-0123", "names starting with .p2p are reserved"},
        {std::string("a/").append(protocol::max_name_bytes + 1, 'n'), "name longer than 255 bytes"},
        {std::string(protocol::max_path_bytes + 1, 'n'), "name longer than 1024 bytes"},
        {too_deep, "name deeper than 16 components"},
    };
    for (const auto& [path, reason] : refused) {
        INFO("path: " << escape_for_terminal(path));
        auto problem = file_path_problem(path);
        REQUIRE(problem.has_value());
        CHECK(*problem == reason);
        CHECK_FALSE(is_valid_file_path(path));
    }
}
