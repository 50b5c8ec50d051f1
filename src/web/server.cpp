// SPDX-License-Identifier: MIT
// server.cpp - cpp-httplib set up for the web interface: checks, routes, the page and the event stream.
#include "web/server.hpp"

#include "web/assets.hpp"

#include "p2p/curve_keys.hpp"
#include "p2p/endpoint.hpp"
#include "p2p/log.hpp"
#include "p2p/thread_without_signals.hpp"

#include <httplib.h>

#include <atomic>
#include <charconv>
#include <stdexcept>

namespace p2p::web {

namespace {

/// The page may load only its own script and style, send requests only to this server, and never be framed. There
/// is no 'unsafe-inline': even if a name from another peer reached the HTML as markup, no script in it would run.
constexpr const char* content_security_policy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// HTTP threads. Each event stream holds one for as long as it is open (bridge_limits::subscribers of them), and a
/// browser keeps a few connections open besides; this leaves room for both.
constexpr std::size_t http_threads = 16;
/// A connection that sends nothing for this long is closed. It also bounds how long stopping waits for a connection
/// that was opened but not used yet (cpp-httplib checks for a stop only between requests).
constexpr time_t keep_alive_seconds = 1;
/// One request per connection: an answered request closes its connection at once, instead of leaving a thread in
/// cpp-httplib's keep-alive wait (which polls every 10 ms, and would hold up stopping). Connections to 127.0.0.1
/// are cheap; browsers open a new one without a visible cost.
constexpr std::size_t requests_per_connection = 1;
/// An event stream that has had nothing to say for this long sends a comment, which also finds clients that left.
constexpr auto stream_keep_alive = std::chrono::seconds(10);
/// How long stopping waits for the event streams to write their last event and end. Writing them takes
/// microseconds; a client that reads nothing holds its stream up to this bound (its socket buffer is full).
constexpr auto stream_end_deadline = std::chrono::seconds(2);
/// Request bodies are a few short JSON fields.
constexpr std::size_t max_body_bytes = 64 * 1024;
/// The token the page's HTML carries for its script (which sends it as X-P2P-Token on POST).
constexpr std::string_view token_placeholder = "{{P2P_TOKEN}}";

void send_json(httplib::Response& response, int status, const json& body) {
    response.status = status;
    response.set_content(cli::dump(body) + "\n", "application/json");
}

void send(httplib::Response& response, const reply& r) {
    send_json(response, r.status, r.body);
}

void send_error(httplib::Response& response, int status, std::string message, error_code code) {
    send(response, error_reply(status, std::move(message), code));
}

/// Why cpp-httplib refused a request before it reached handle().
std::string refusal_text(int status) {
    switch (status) {
    case 400:
        return "malformed HTTP request (a POST with no body still needs Content-Length: 0)";
    case 413:
        return "the body is too large (at most 64 KiB)";
    case 414:
        return "the address is too long";
    case 416:
        return "no such range";
    default:
        return "refused (HTTP " + std::to_string(status) + ")";
    }
}

/// A decimal operation id that is the whole of `text`.
std::optional<operation_id> parse_op(std::string_view text) {
    operation_id op = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), op);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return op;
}

/// What lies between prefix and suffix in path ("/api/downloads/12/cancel" -> "12"); empty when they overlap.
std::string_view between(std::string_view path, std::string_view prefix, std::string_view suffix) {
    if (!path.starts_with(prefix) || !path.ends_with(suffix) || path.size() < prefix.size() + suffix.size()) {
        return {};
    }
    return path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
}

/// "/api/transfers/12" -> 12; "/api/downloads/12/cancel" -> 12 (with prefix and suffix given).
std::optional<operation_id> op_in_path(std::string_view path, std::string_view prefix, std::string_view suffix) {
    return parse_op(between(path, prefix, suffix));
}

bool is_get_path(std::string_view path) {
    for (const auto p : {"/", "/app.js", "/style.css", "/api/self", "/api/peers", "/api/files", "/api/transfers",
                         "/api/failures", "/api/events"}) {
        if (path == p) {
            return true;
        }
    }
    return path.starts_with("/api/transfers/");
}

bool is_post_path(std::string_view path) {
    return path == "/api/connect" || path == "/api/downloads" ||
           (path.starts_with("/api/downloads/") && path.ends_with("/cancel"));
}

std::string_view content_type_for(std::string_view path) {
    if (path.ends_with(".html")) {
        return "text/html; charset=utf-8";
    }
    if (path.ends_with(".js")) {
        return "text/javascript; charset=utf-8";
    }
    if (path.ends_with(".css")) {
        return "text/css; charset=utf-8";
    }
    return "application/octet-stream";
}

/// The string field `key` of a request object; nullopt when absent or null; throws std::invalid_argument when it is
/// there but not a string.
std::optional<std::string> string_field(const json& body, const char* key) {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_string()) {
        throw std::invalid_argument(std::string("\"") + key + "\" must be a string");
    }
    return it->get<std::string>();
}

} // namespace

server::server(const listen_address& address, bridge_limits limits)
    : bridge_(limits), address_(address), token_(new_token()), http_(std::make_unique<httplib::Server>()) {
    http_->new_task_queue = [] {
        return new httplib::ThreadPool(http_threads);
    };
    http_->set_keep_alive_timeout(keep_alive_seconds);
    http_->set_keep_alive_max_count(requests_per_connection);
    http_->set_read_timeout(5);
    // A client that does not read its event stream for this long is dropped (its thread is freed).
    http_->set_write_timeout(5);
    http_->set_payload_max_length(max_body_bytes);
    http_->set_default_headers({
        {"Content-Security-Policy", content_security_policy},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"Cache-Control", "no-store"},
        {"X-Frame-Options", "DENY"},
    });
    const auto handler = [this](const httplib::Request& request, httplib::Response& response) {
        handle(request, response);
    };
    // Every method on every path comes to handle(), which routes by itself: cpp-httplib's own routing answers 404
    // where 405 is right, and runs no check before its handlers.
    http_->Get(".*", handler);
    http_->Post(".*", handler);
    http_->Put(".*", handler);
    http_->Patch(".*", handler);
    http_->Delete(".*", handler);
    http_->Options(".*", handler);
    // cpp-httplib's own refusals (malformed request, body too large...) get a JSON body too.
    http_->set_error_handler([](const httplib::Request&, httplib::Response& response) {
        if (response.body.empty() && !response.is_chunked_content_provider_ && !response.content_provider_) {
            send_error(response, response.status, refusal_text(response.status), error_code::usage);
        }
    });
    http_->set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
        std::string what = "internal error";
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            what += std::string(": ") + e.what();
        } catch (...) {
        }
        log(log_level::error, "web: ", what);
        send_error(response, 500, what, error_code::failure);
    });

    if (address.port == 0) {
        port_ = http_->bind_to_any_port(address.host);
    } else {
        port_ = http_->bind_to_port(address.host, address.port) ? address.port : -1;
    }
    if (port_ <= 0) {
        throw std::runtime_error("the web interface cannot listen on " + url_authority(address.host, address.port) +
                                 " (is the port in use, or the address not one of this machine's?)");
    }
    cookie_name_ = "p2p-token-" + std::to_string(port_);
    auto listening_ended = std::make_shared<std::atomic<bool>>(false);
    thread_ = thread_without_signals([this, listening_ended] {
        http_->listen_after_bind();
        *listening_ended = true;
    });
    // cpp-httplib's stop() does nothing until the listening loop has started; wait for it so that the destructor's
    // stop() cannot be lost. This takes microseconds, and happens once.
    while (!http_->is_running() && !*listening_ended) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

server::~server() {
    // The streams get their "stopped" event and end before the server stops: once stopped, cpp-httplib calls no
    // writer again, and a stream would end without its last event or its closing chunk.
    bridge_.close();
    wait_streams_ended(stream_end_deadline);
    http_->stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::string server::base_url() const {
    // A wildcard address is not one a browser can open; this machine's loopback address is, and the Host check lets
    // it through.
    const auto host = address_.wildcard() ? (address_.host == "0.0.0.0" ? "127.0.0.1" : "::1") : address_.host;
    return "http://" + url_authority(host, port_) + "/";
}

std::string server::url() const {
    return base_url() + "?token=" + token_;
}

std::string server::given_token(const httplib::Request& request) const {
    if (request.has_header("X-P2P-Token")) {
        return request.get_header_value("X-P2P-Token");
    }
    if (request.method == "POST") {
        // A cookie is sent by the browser whoever made the page that posts, and a URL is easy to plant: a state
        // change needs the header, which only a script of our own origin can set (others would need CORS).
        return {};
    }
    if (auto cookie = cookie_value(request.get_header_value("Cookie"), cookie_name_)) {
        return *cookie;
    }
    return request.get_param_value("token");
}

void server::handle(const httplib::Request& request, httplib::Response& response) {
    const auto host = request.get_header_value("Host");
    if (!host_allowed(host, address_, port_)) {
        log(log_level::info, "web: refused ", request.method, " ", request.path, " for Host '", host, "'");
        send_error(response, 403, "Host '" + host + "' is not this peer's web interface", error_code::usage);
        return;
    }
    const auto origin = request.get_header_value("Origin");
    if (!origin_allowed(origin, host)) {
        log(log_level::info, "web: refused ", request.method, " ", request.path, " from Origin '", origin, "'");
        send_error(response, 403, "requests from other origins are refused", error_code::usage);
        return;
    }
    if (!token_matches(given_token(request), token_)) {
        send_error(response, 401,
                   request.method == "POST"
                       ? "POST needs the token in the X-P2P-Token header"
                       : "a token is needed: open the address p2p-peer printed at start (it ends in ?token=...)",
                   error_code::usage);
        return;
    }
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (get && is_get_path(request.path)) {
        route_get(request, response);
    } else if (request.method == "POST" && is_post_path(request.path)) {
        route_post(request, response);
    } else if (is_get_path(request.path) || is_post_path(request.path)) {
        response.set_header("Allow", is_get_path(request.path) ? "GET, HEAD" : "POST");
        send_error(response, 405, request.method + " is not allowed on " + request.path, error_code::usage);
    } else {
        send_error(response, 404, "no such resource: " + request.path, error_code::usage);
    }
}

void server::route_get(const httplib::Request& request, httplib::Response& response) {
    const auto& path = request.path;
    const auto now = clock::now();
    if (path == "/" || path == "/app.js" || path == "/style.css") {
        serve_page(request, response, path);
    } else if (path == "/api/self") {
        auto self = bridge_.self();
        self["web"] = base_url();
        send_json(response, 200, self);
    } else if (path == "/api/peers") {
        send_json(response, 200, bridge_.peers());
    } else if (path == "/api/files") {
        send_json(response, 200, bridge_.files());
    } else if (path == "/api/transfers") {
        send_json(response, 200, bridge_.transfers(now));
    } else if (path == "/api/failures") {
        send_json(response, 200, bridge_.failures());
    } else if (path == "/api/events") {
        serve_events(response);
    } else if (const auto op = op_in_path(path, "/api/transfers/", "")) {
        if (auto view = bridge_.transfer_view(*op, now)) {
            send_json(response, 200, *view);
        } else {
            send_error(response, 404, "No transfer " + std::to_string(*op), error_code::failure);
        }
    } else {
        send_error(response, 404, "No transfer " + std::string(between(path, "/api/transfers/", "")),
                   error_code::failure);
    }
}

void server::serve_page(const httplib::Request& request, httplib::Response& response, std::string_view path) {
    if (path == "/" && request.has_param("token")) {
        // The token moves from the address bar (history, bookmarks, screenshots) into a cookie that scripts cannot
        // read and other sites' requests do not carry.
        response.status = 303;
        response.set_header("Location", "/");
        response.set_header("Set-Cookie", cookie_name_ + "=" + token_ + "; Path=/; HttpOnly; SameSite=Strict");
        return;
    }
    const auto file = path == "/" ? std::string_view("/index.html") : path;
    for (const auto& a : assets()) {
        if (a.path == file) {
            std::string body(a.body);
            if (const auto at = body.find(token_placeholder); at != std::string::npos) {
                body.replace(at, token_placeholder.size(), token_);
            }
            response.status = 200;
            response.set_content(body, std::string(content_type_for(file)));
            return;
        }
    }
    send_error(response, 404, "no such resource: " + std::string(path), error_code::usage);
}

void server::wait_streams_ended(std::chrono::milliseconds deadline) {
    std::unique_lock lock(streams_mutex_);
    streams_ended_.wait_for(lock, deadline, [this] { return open_streams_ == 0; });
}

void server::serve_events(httplib::Response& response) {
    auto stream = bridge_.subscribe();
    if (!stream) {
        send_error(response, 503, "too many event streams are open", error_code::failure);
        return;
    }
    {
        std::lock_guard lock(streams_mutex_);
        ++open_streams_;
    }
    response.status = 200;
    response.set_chunked_content_provider(
        "text/event-stream",
        [stream, first = true](std::size_t, httplib::DataSink& sink) mutable {
            if (first) {
                // Reconnect after 2 s when the stream ends; the comment lets clients see the stream is open.
                first = false;
                static const std::string hello = "retry: 2000\n: connected\n\n";
                return sink.write(hello.data(), hello.size());
            }
            std::vector<subscriber::message> batch;
            const auto got = stream->wait(batch, stream_keep_alive);
            for (const auto& m : batch) {
                if (!sink.write(m->data(), m->size())) {
                    return false;
                }
            }
            if (got == subscriber::status::timeout) {
                static const std::string comment = ": keep-alive\n\n";
                return sink.write(comment.data(), comment.size());
            }
            if (got == subscriber::status::ended) {
                if (stream->dropped()) {
                    static const std::string dropped =
                        "event: dropped\ndata: {\"event\":\"dropped\",\"reason\":\"fell behind\"}\n\n";
                    sink.write(dropped.data(), dropped.size());
                }
                sink.done();
            }
            return true;
        },
        // Called when the response is over, whether it ended or the client left.
        [this, stream](bool) {
            bridge_.unsubscribe(stream);
            {
                std::lock_guard lock(streams_mutex_);
                --open_streams_;
            }
            streams_ended_.notify_all();
        });
}

void server::route_post(const httplib::Request& request, httplib::Response& response) {
    const auto type = request.get_header_value("Content-Type");
    if (!type.starts_with("application/json")) {
        send_error(response, 415, "POST needs Content-Type: application/json", error_code::usage);
        return;
    }
    json body = json::object();
    if (!request.body.empty()) {
        body = json::parse(request.body, nullptr, false);
        if (body.is_discarded()) {
            send_error(response, 400, "the body is not valid JSON", error_code::usage);
            return;
        }
        if (!body.is_object()) {
            send_error(response, 400, "the body must be a JSON object", error_code::usage);
            return;
        }
    }
    const auto& path = request.path;
    try {
        if (path == "/api/connect") {
            const auto address = string_field(body, "address");
            if (!address || address->empty()) {
                throw std::invalid_argument("\"address\" is required: \"host:port\" (\"KEY@host:port\" with --secure)");
            }
            // The same check as --connect: a bad address is the caller's mistake, found before the peer sees it.
            const auto endpoint = to_endpoint(split_keyed_address(*address).address);
            if (!endpoint.starts_with("tcp://") || endpoint_port(endpoint) == "*") {
                throw std::invalid_argument("\"address\" must be host:port");
            }
            send(response, bridge_.call(connect_command{*address}));
        } else if (path == "/api/downloads") {
            const auto name = string_field(body, "name");
            if (!name || name->empty()) {
                throw std::invalid_argument("\"name\" is required: a file name as a peer lists it");
            }
            send(response, bridge_.call(download_command{*name, string_field(body, "from").value_or("")}));
        } else if (const auto op = op_in_path(path, "/api/downloads/", "/cancel")) {
            send(response, bridge_.call(cancel_command{*op}));
        } else {
            send_error(response, 404, "No transfer " + std::string(between(path, "/api/downloads/", "/cancel")),
                       error_code::failure);
        }
    } catch (const std::invalid_argument& e) {
        send_error(response, 400, e.what(), error_code::usage);
    }
}

} // namespace p2p::web
