// SPDX-License-Identifier: MIT
// codec.cpp - msgpack encoding and strict decoding; the grammar is docs/protocol.md.
#include "p2p/codec.hpp"

#include "p2p/curve_keys.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/file_name.hpp"
#include "p2p/manifest.hpp"
#include "p2p/protocol.hpp"
#include "p2p/zmq_frame.hpp"

#include <msgpack.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <stdexcept>

namespace p2p {

std::string_view to_string(msg_type type) {
    switch (type) {
    case msg_type::hello:
        return "HELLO";
    case msg_type::file_list:
        return "FILE_LIST";
    case msg_type::request:
        return "REQUEST";
    case msg_type::offer:
        return "OFFER";
    case msg_type::chunk:
        return "CHUNK";
    case msg_type::ack:
        return "ACK";
    case msg_type::not_found:
        return "NOT_FOUND";
    case msg_type::abort:
        return "ABORT";
    case msg_type::ping:
        return "PING";
    case msg_type::pong:
        return "PONG";
    case msg_type::goodbye:
        return "GOODBYE";
    case msg_type::preparing:
        return "PREPARING";
    case msg_type::cancel:
        return "CANCEL";
    case msg_type::get_manifest:
        return "GET_MANIFEST";
    case msg_type::manifest:
        return "MANIFEST";
    case msg_type::peers:
        return "PEERS";
    }
    return "UNKNOWN";
}

msg_type type_of(const message& msg) {
    // The variant's alternatives are listed in wire order, starting at 1.
    return static_cast<msg_type>(msg.index() + 1);
}

std::string_view to_string(decode_errc code) {
    switch (code) {
    case decode_errc::no_frames:
        return "no frames";
    case decode_errc::too_many_frames:
        return "too many frames";
    case decode_errc::missing_payload:
        return "missing payload frame";
    case decode_errc::unexpected_payload:
        return "unexpected payload frame";
    case decode_errc::frame_too_large:
        return "frame too large";
    case decode_errc::truncated:
        return "truncated";
    case decode_errc::malformed:
        return "malformed msgpack";
    case decode_errc::trailing_bytes:
        return "trailing bytes";
    case decode_errc::not_an_array:
        return "not an array";
    case decode_errc::bad_version:
        return "bad version";
    case decode_errc::unknown_type:
        return "unknown type";
    case decode_errc::wrong_arity:
        return "wrong arity";
    case decode_errc::wrong_field_type:
        return "wrong field type";
    case decode_errc::over_limit:
        return "over limit";
    case decode_errc::invalid_value:
        return "invalid value";
    }
    return "unknown error";
}

std::string decode_error::what() const {
    std::string out(to_string(code));
    if (!detail.empty()) {
        out += ": ";
        out += detail;
    }
    return out;
}

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/// Reused per thread so that encoding a CHUNK or ACK header allocates nothing once warm.
msgpack::sbuffer& scratch_buffer() {
    thread_local msgpack::sbuffer buffer(256);
    buffer.clear();
    return buffer;
}

using packer = msgpack::packer<msgpack::sbuffer>;

void require(bool ok, const char* what) {
    if (!ok) {
        throw std::invalid_argument(std::string("encode: ") + what);
    }
}

void pack_head(packer& pk, msg_type type, std::uint32_t fields) {
    pk.pack_array(2 + fields);
    pk.pack(protocol::version);
    pk.pack(static_cast<std::uint8_t>(type));
}

void pack_digest(packer& pk, const digest& d) {
    pk.pack_bin(static_cast<std::uint32_t>(d.size()));
    pk.pack_bin_body(reinterpret_cast<const char*>(d.data()), static_cast<std::uint32_t>(d.size()));
}

void pack_str(packer& pk, const std::string& s, std::size_t max, const char* what) {
    require(s.size() <= max, what);
    pk.pack_str(static_cast<std::uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

struct body_packer {
    packer& pk;

    void operator()(const hello& m) {
        pack_head(pk, msg_type::hello, 4);
        pk.pack(m.id.value());
        pack_str(pk, m.endpoint, protocol::max_endpoint_bytes, "HELLO.endpoint too long");
        pk.pack(m.list_version);
        pk.pack(m.client);
    }
    void operator()(const file_list& m) {
        require(m.files.size() <= protocol::files_per_page, "FILE_LIST page too long");
        pack_head(pk, msg_type::file_list, 4);
        pk.pack(m.list_version);
        pk.pack(m.page);
        pk.pack(m.page_count);
        pk.pack_array(static_cast<std::uint32_t>(m.files.size()));
        for (const auto& f : m.files) {
            pk.pack_array(3);
            pack_str(pk, f.name, protocol::max_path_bytes, "FILE_LIST name too long");
            pk.pack(f.size);
            if (f.root) {
                pack_digest(pk, *f.root);
            } else {
                pk.pack_nil();
            }
        }
    }
    void operator()(const request& m) {
        pack_head(pk, msg_type::request, 5);
        pk.pack(m.transfer);
        pack_str(pk, m.name, protocol::max_path_bytes, "REQUEST.name too long");
        pk.pack(m.offset);
        pk.pack(m.chunk_size);
        pk.pack(m.credit);
    }
    void operator()(const offer& m) {
        pack_head(pk, msg_type::offer, 5);
        pk.pack(m.transfer);
        pk.pack(m.size);
        pack_digest(pk, m.root);
        pk.pack(m.piece_size);
        pk.pack(m.chunk_size);
    }
    void operator()(const chunk& m) {
        require(m.holder_busy_us <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
                "CHUNK.holder_busy_us over 2^63-1");
        pack_head(pk, msg_type::chunk, 4);
        pk.pack(m.transfer);
        pk.pack(m.offset);
        pk.pack(m.last);
        pk.pack(m.holder_busy_us);
    }
    void operator()(const ack& m) {
        pack_head(pk, msg_type::ack, 3);
        pk.pack(m.transfer);
        pk.pack(m.next_offset);
        pk.pack(m.credit);
    }
    void operator()(const not_found& m) {
        pack_head(pk, msg_type::not_found, 3);
        pk.pack(m.transfer);
        pack_str(pk, m.name, protocol::max_path_bytes, "NOT_FOUND.name too long");
        pack_str(pk, m.reason, protocol::max_reason_bytes, "NOT_FOUND.reason too long");
    }
    void operator()(const abort_transfer& m) {
        pack_head(pk, msg_type::abort, 2);
        pk.pack(m.transfer);
        pack_str(pk, m.reason, protocol::max_reason_bytes, "ABORT.reason too long");
    }
    void operator()(const ping&) { pack_head(pk, msg_type::ping, 0); }
    void operator()(const pong&) { pack_head(pk, msg_type::pong, 0); }
    void operator()(const goodbye&) { pack_head(pk, msg_type::goodbye, 0); }
    void operator()(const preparing& m) {
        pack_head(pk, msg_type::preparing, 2);
        pk.pack(m.transfer);
        pk.pack(m.size);
    }
    void operator()(const cancel_transfer& m) {
        pack_head(pk, msg_type::cancel, 2);
        pk.pack(m.transfer);
        pack_str(pk, m.reason, protocol::max_reason_bytes, "CANCEL.reason too long");
    }
    void operator()(const get_manifest& m) {
        pack_head(pk, msg_type::get_manifest, 3);
        pk.pack(m.transfer);
        pack_digest(pk, m.root);
        pk.pack(m.first);
    }
    void operator()(const manifest_page& m) {
        require(!m.leaves.empty() && m.leaves.size() <= protocol::leaves_per_page, "MANIFEST page of 1..8192 leaves");
        pack_head(pk, msg_type::manifest, 3);
        pk.pack(m.transfer);
        pk.pack(m.first);
        const auto bytes = static_cast<std::uint32_t>(m.leaves.size() * sizeof(digest));
        pk.pack_bin(bytes);
        pk.pack_bin_body(reinterpret_cast<const char*>(m.leaves.data()), bytes);
    }
    void operator()(const peer_list& m) {
        require(m.list.size() <= protocol::max_peer_refs, "PEERS of more than 64 entries");
        pack_head(pk, msg_type::peers, 1);
        pk.pack_array(static_cast<std::uint32_t>(m.list.size()));
        for (const auto& p : m.list) {
            pk.pack_array(3);
            pk.pack(p.id.value());
            pack_str(pk, p.endpoint, protocol::max_endpoint_bytes, "PEERS endpoint too long");
            if (p.key) {
                require(p.key->size() == protocol::key_chars, "PEERS key of other than 40 characters");
                pack_str(pk, *p.key, protocol::key_chars, "PEERS key too long");
            } else {
                pk.pack_nil();
            }
        }
    }
};

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/// Thrown inside the decoder only; decode() turns it into a decode_error.
struct decode_failure {
    decode_errc code;
    std::string detail;
};

[[noreturn]] void fail(decode_errc code, std::string detail) {
    throw decode_failure{code, std::move(detail)};
}

bool is_printable_ascii(const std::string& s) {
    for (unsigned char c : s) {
        if (c < 0x21 || c > 0x7e) {
            return false;
        }
    }
    return true;
}

/// Reads the fields of one message in order, naming each in its errors ("REQUEST.offset: ...").
class field_reader {
public:
    field_reader(const msgpack::object_array& array, msg_type type, std::uint32_t fields) : array_(array), type_(type) {
        if (array.size != 2 + fields) {
            fail(decode_errc::wrong_arity, std::string(to_string(type)) + " takes " + std::to_string(fields) +
                                               " fields, got " + std::to_string(array.size - 2));
        }
    }

    std::uint64_t uint(const char* field, std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
        const auto& o = next();
        if (o.type == msgpack::type::NEGATIVE_INTEGER) {
            fail(decode_errc::invalid_value, where(field) + "negative");
        }
        if (o.type != msgpack::type::POSITIVE_INTEGER) {
            fail(decode_errc::wrong_field_type, where(field) + "expected unsigned integer");
        }
        if (o.via.u64 > max) {
            fail(decode_errc::over_limit, where(field) + std::to_string(o.via.u64) + " > " + std::to_string(max));
        }
        return o.via.u64;
    }

    std::uint32_t uint32(const char* field, std::uint32_t min, std::uint32_t max) {
        auto value = uint(field, max);
        if (value < min) {
            fail(decode_errc::invalid_value, where(field) + std::to_string(value) + " < " + std::to_string(min));
        }
        return static_cast<std::uint32_t>(value);
    }

    bool boolean(const char* field) {
        const auto& o = next();
        if (o.type != msgpack::type::BOOLEAN) {
            fail(decode_errc::wrong_field_type, where(field) + "expected boolean");
        }
        return o.via.boolean;
    }

    std::string str(const char* field, std::size_t max) { return string_of(next(), field, max); }

    std::string file_name(const char* field) {
        auto name = str(field, protocol::max_path_bytes);
        check_file_name(name, field);
        return name;
    }

    digest hash(const char* field) { return digest_of(next(), field); }

    digest digest_of(const msgpack::object& o, const char* field) {
        if (o.type != msgpack::type::BIN) {
            fail(decode_errc::wrong_field_type, where(field) + "expected bin");
        }
        digest d{};
        if (o.via.bin.size != d.size()) {
            fail(decode_errc::invalid_value, where(field) + "expected " + std::to_string(d.size()) + " bytes, got " +
                                                 std::to_string(o.via.bin.size));
        }
        std::memcpy(d.data(), o.via.bin.ptr, d.size());
        return d;
    }

    /// A bin of 1..leaves_per_page digests, 32 bytes each.
    std::vector<digest> leaves(const char* field) {
        const auto& o = next();
        if (o.type != msgpack::type::BIN) {
            fail(decode_errc::wrong_field_type, where(field) + "expected bin");
        }
        const std::size_t bytes = o.via.bin.size;
        if (bytes == 0 || bytes % sizeof(digest) != 0 || bytes / sizeof(digest) > protocol::leaves_per_page) {
            fail(decode_errc::invalid_value, where(field) + std::to_string(bytes) + " bytes, not 1.." +
                                                 std::to_string(protocol::leaves_per_page) + " leaves of 32");
        }
        std::vector<digest> out(bytes / sizeof(digest));
        std::memcpy(out.data(), o.via.bin.ptr, bytes);
        return out;
    }

    /// The next field as an array of at most `limit` entries, each an array of exactly 3 (FILE_LIST's files, PEERS's
    /// peers); an entry is read as soon as its shape is checked.
    template <typename Read>
    void triples(const char* field, std::uint32_t limit, Read read) {
        const auto& o = next();
        if (o.type != msgpack::type::ARRAY) {
            fail(decode_errc::wrong_field_type, where(field) + "expected array");
        }
        if (o.via.array.size > limit) {
            fail(decode_errc::over_limit, where(field) + "more than " + std::to_string(limit));
        }
        for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
            const auto& entry = o.via.array.ptr[i];
            if (entry.type != msgpack::type::ARRAY) {
                fail(decode_errc::wrong_field_type, where(field) + "entry is not an array");
            }
            if (entry.via.array.size != 3) {
                fail(decode_errc::wrong_arity, where(field) + "entry takes 3 fields");
            }
            read(entry, o.via.array.size);
        }
    }

    std::vector<file_entry> files(const char* field) {
        std::vector<file_entry> out;
        triples(field, protocol::files_per_page, [&](const msgpack::object& entry, std::uint32_t count) {
            out.reserve(count);
            const auto& size = entry.via.array.ptr[1];
            auto name = string_of(entry.via.array.ptr[0], field, protocol::max_path_bytes);
            check_file_name(name, field);
            if (size.type != msgpack::type::POSITIVE_INTEGER) {
                fail(decode_errc::wrong_field_type, where(field) + "size is not an unsigned integer");
            }
            const auto& root = entry.via.array.ptr[2];
            std::optional<digest> known;
            if (root.type != msgpack::type::NIL) {
                known = digest_of(root, field); // nil: the holder has not hashed this version yet
            }
            out.push_back(file_entry{std::move(name), size.via.u64, known});
        });
        return out;
    }

    std::vector<peer_ref> peer_refs(const char* field) {
        std::vector<peer_ref> out;
        triples(field, protocol::max_peer_refs, [&](const msgpack::object& entry, std::uint32_t count) {
            out.reserve(count);
            const auto& id = entry.via.array.ptr[0];
            if (id.type == msgpack::type::NEGATIVE_INTEGER ||
                (id.type == msgpack::type::POSITIVE_INTEGER && id.via.u64 == 0)) {
                fail(decode_errc::invalid_value, where(field) + "id zero or negative");
            }
            if (id.type != msgpack::type::POSITIVE_INTEGER) {
                fail(decode_errc::wrong_field_type, where(field) + "id is not an unsigned integer");
            }
            auto endpoint = string_of(entry.via.array.ptr[1], field, protocol::max_endpoint_bytes);
            if (!is_dialable_endpoint(endpoint)) {
                fail(decode_errc::invalid_value, where(field) + "endpoint is not tcp://host:port or inproc://name");
            }
            const auto& key = entry.via.array.ptr[2];
            std::optional<std::string> known;
            if (key.type != msgpack::type::NIL) {
                known = string_of(key, field, protocol::max_endpoint_bytes);
                if (!is_valid_key(*known)) {
                    fail(decode_errc::invalid_value, where(field) + "key is not 40 characters of Z85");
                }
            }
            out.push_back(peer_ref{peer_id(id.via.u64), std::move(endpoint), std::move(known)});
        });
        return out;
    }

    std::string where(const char* field) const { return std::string(to_string(type_)) + "." + field + ": "; }

private:
    const msgpack::object& next() { return array_.ptr[index_++]; }

    std::string string_of(const msgpack::object& o, const char* field, std::size_t max) {
        if (o.type != msgpack::type::STR) {
            fail(decode_errc::wrong_field_type, where(field) + "expected str");
        }
        if (o.via.str.size > max) {
            fail(decode_errc::over_limit, where(field) + "longer than " + std::to_string(max) + " bytes");
        }
        std::string s(o.via.str.ptr, o.via.str.size);
        if (!is_valid_utf8(s)) {
            fail(decode_errc::invalid_value, where(field) + "not valid UTF-8");
        }
        return s;
    }

    void check_file_name(const std::string& name, const char* field) {
        if (auto problem = file_path_problem(name)) {
            fail(decode_errc::invalid_value, where(field) + *problem);
        }
    }

    const msgpack::object_array& array_;
    msg_type type_;
    std::uint32_t index_ = 2;
};

message decode_fields(const msgpack::object_array& array, msg_type type) {
    switch (type) {
    case msg_type::hello: {
        field_reader r(array, type, 4);
        hello m;
        m.id = peer_id(r.uint("id"));
        m.endpoint = r.str("endpoint", protocol::max_endpoint_bytes);
        m.list_version = r.uint("list_version");
        m.client = r.boolean("client");
        if (m.id.value() == 0) {
            fail(decode_errc::invalid_value, r.where("id") + "zero");
        }
        if (m.endpoint.empty() || !is_printable_ascii(m.endpoint)) {
            fail(decode_errc::invalid_value, r.where("endpoint") + "empty or not printable ASCII");
        }
        return m;
    }
    case msg_type::file_list: {
        field_reader r(array, type, 4);
        file_list m;
        m.list_version = r.uint("list_version");
        m.page = r.uint32("page", 0, protocol::max_pages - 1);
        m.page_count = r.uint32("page_count", 1, protocol::max_pages);
        m.files = r.files("files");
        if (m.page >= m.page_count) {
            fail(decode_errc::invalid_value, r.where("page") + "not below page_count");
        }
        return m;
    }
    case msg_type::request: {
        field_reader r(array, type, 5);
        request m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        m.name = r.file_name("name");
        m.offset = r.uint("offset", std::numeric_limits<std::int64_t>::max());
        m.chunk_size = r.uint32("chunk_size", protocol::min_chunk_size, protocol::max_chunk_size);
        m.credit = r.uint32("credit", 1, protocol::max_credit);
        return m;
    }
    case msg_type::offer: {
        field_reader r(array, type, 5);
        offer m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        m.size = r.uint("size", max_file_size);
        m.root = r.hash("root");
        m.piece_size = r.uint32("piece_size", min_piece_size, max_piece_size);
        m.chunk_size = r.uint32("chunk_size", protocol::min_chunk_size, protocol::max_chunk_size);
        if ((m.piece_size & (m.piece_size - 1)) != 0) {
            fail(decode_errc::invalid_value, r.where("piece_size") + "not a power of two");
        }
        if (piece_count_for(m.size, m.piece_size) > max_piece_count) {
            fail(decode_errc::invalid_value,
                 r.where("piece_size") + "more than " + std::to_string(max_piece_count) + " pieces");
        }
        return m;
    }
    case msg_type::chunk: {
        field_reader r(array, type, 4);
        chunk m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        m.offset = r.uint("offset", std::numeric_limits<std::int64_t>::max());
        m.last = r.boolean("last");
        m.holder_busy_us = r.uint("holder_busy_us", std::numeric_limits<std::int64_t>::max());
        return m;
    }
    case msg_type::ack: {
        field_reader r(array, type, 3);
        ack m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        m.next_offset = r.uint("next_offset", std::numeric_limits<std::int64_t>::max());
        m.credit = r.uint32("credit", 1, protocol::max_credit);
        return m;
    }
    case msg_type::not_found: {
        field_reader r(array, type, 3);
        not_found m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        // The name is echoed back as asked; it is text for the user, not a path, so only its length is bounded.
        m.name = r.str("name", protocol::max_path_bytes);
        m.reason = r.str("reason", protocol::max_reason_bytes);
        return m;
    }
    case msg_type::abort: {
        field_reader r(array, type, 2);
        abort_transfer m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        m.reason = r.str("reason", protocol::max_reason_bytes);
        return m;
    }
    case msg_type::cancel: {
        field_reader r(array, type, 2);
        cancel_transfer m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        m.reason = r.str("reason", protocol::max_reason_bytes);
        return m;
    }
    case msg_type::ping:
        field_reader(array, type, 0);
        return ping{};
    case msg_type::pong:
        field_reader(array, type, 0);
        return pong{};
    case msg_type::goodbye:
        field_reader(array, type, 0);
        return goodbye{};
    case msg_type::preparing: {
        field_reader r(array, type, 2);
        preparing m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        m.size = r.uint("size", std::numeric_limits<std::int64_t>::max());
        return m;
    }
    case msg_type::get_manifest: {
        field_reader r(array, type, 3);
        get_manifest m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        m.root = r.hash("root");
        m.first = r.uint("first", max_piece_count - 1);
        return m;
    }
    case msg_type::manifest: {
        field_reader r(array, type, 3);
        manifest_page m;
        m.transfer = r.uint32("transfer", 0, std::numeric_limits<std::uint32_t>::max());
        m.first = r.uint("first", max_piece_count - 1);
        m.leaves = r.leaves("leaves");
        if (m.first + m.leaves.size() > max_piece_count) {
            fail(decode_errc::invalid_value, r.where("leaves") + "past leaf " + std::to_string(max_piece_count));
        }
        return m;
    }
    case msg_type::peers: {
        field_reader r(array, type, 1);
        peer_list m;
        m.list = r.peer_refs("peers");
        return m;
    }
    }
    fail(decode_errc::unknown_type, std::to_string(static_cast<int>(type)));
}

message decode_body(std::span<const std::byte> body) {
    if (body.size() > protocol::max_body_bytes) {
        fail(decode_errc::frame_too_large, "body of " + std::to_string(body.size()) + " bytes");
    }
    if (body.empty()) {
        fail(decode_errc::truncated, "empty frame");
    }
    // Every unpack gets explicit limits: msgpack-c's defaults are unbounded. The depth limit is what bounds total
    // memory (a FILE_LIST is array > array > entry, three deep).
    const msgpack::unpack_limit limits(/*array=*/protocol::files_per_page, /*map=*/0,
                                       /*str=*/protocol::max_string_bytes,
                                       /*bin=*/protocol::leaves_per_page * protocol::hash_bytes,
                                       /*ext=*/0, /*depth=*/3);
    std::size_t offset = 0;
    msgpack::object_handle handle;
    try {
        handle =
            msgpack::unpack(reinterpret_cast<const char*>(body.data()), body.size(), offset, nullptr, nullptr, limits);
    } catch (const msgpack::insufficient_bytes&) {
        fail(decode_errc::truncated, "msgpack value ends early");
    } catch (const msgpack::size_overflow& e) {
        fail(decode_errc::over_limit, e.what());
    } catch (const msgpack::unpack_error& e) {
        fail(decode_errc::malformed, e.what());
    }
    if (offset != body.size()) {
        fail(decode_errc::trailing_bytes, std::to_string(body.size() - offset) + " bytes after the message");
    }
    const msgpack::object& root = handle.get();
    if (root.type != msgpack::type::ARRAY) {
        fail(decode_errc::not_an_array, "top-level value is not an array");
    }
    const auto& array = root.via.array;
    if (array.size < 2) {
        fail(decode_errc::wrong_arity, "fewer than 2 elements");
    }
    const auto& version = array.ptr[0];
    if (version.type != msgpack::type::POSITIVE_INTEGER) {
        fail(decode_errc::bad_version, "expected version " + std::to_string(protocol::version));
    }
    if (version.via.u64 != protocol::version) {
        // Said in words a user can act on: the other side runs an older (or newer) release of the peer.
        fail(decode_errc::bad_version, "it speaks protocol version " + std::to_string(version.via.u64) +
                                           ", this peer speaks version " + std::to_string(protocol::version));
    }
    const auto& type = array.ptr[1];
    if (type.type != msgpack::type::POSITIVE_INTEGER || type.via.u64 < 1 ||
        type.via.u64 > static_cast<std::uint64_t>(msg_type::peers)) {
        fail(decode_errc::unknown_type, "type code is not 1.." + std::to_string(static_cast<int>(msg_type::peers)));
    }
    return decode_fields(array, static_cast<msg_type>(type.via.u64));
}

} // namespace

encoded_message encode(message msg) {
    auto& buffer = scratch_buffer();
    packer pk(buffer);
    std::visit(body_packer{pk}, msg);
    encoded_message out{zmq::message_t(buffer.data(), buffer.size()), std::nullopt};
    if (auto* c = std::get_if<chunk>(&msg)) {
        require(c->data.size() <= protocol::max_chunk_size, "CHUNK payload too large");
        out.payload = to_frame(std::move(c->data));
    }
    return out;
}

decode_result decode(std::span<const std::byte> body, zmq::message_t* payload) noexcept {
    try {
        message msg = decode_body(body);
        if (auto* c = std::get_if<chunk>(&msg)) {
            if (payload == nullptr) {
                return decode_error{decode_errc::missing_payload, "CHUNK needs a payload frame"};
            }
            if (payload->size() > protocol::max_chunk_size) {
                return decode_error{decode_errc::frame_too_large,
                                    "CHUNK payload of " + std::to_string(payload->size()) + " bytes"};
            }
            c->data = to_payload(std::move(*payload));
        } else if (payload != nullptr) {
            return decode_error{decode_errc::unexpected_payload,
                                std::string(to_string(type_of(msg))) + " takes no payload frame"};
        }
        return msg;
    } catch (const decode_failure& f) {
        return decode_error{f.code, f.detail};
    } catch (const std::bad_alloc&) {
        return decode_error{decode_errc::over_limit, "out of memory while decoding"};
    } catch (const std::exception& e) {
        return decode_error{decode_errc::malformed, e.what()};
    } catch (...) {
        return decode_error{decode_errc::malformed, "unknown failure"};
    }
}

decode_result decode(std::span<zmq::message_t> frames) noexcept {
    if (frames.empty()) {
        return decode_error{decode_errc::no_frames, ""};
    }
    if (frames.size() > 2) {
        return decode_error{decode_errc::too_many_frames, std::to_string(frames.size()) + " frames"};
    }
    std::span<const std::byte> body(static_cast<const std::byte*>(frames[0].data()), frames[0].size());
    return decode(body, frames.size() == 2 ? &frames[1] : nullptr);
}

} // namespace p2p
