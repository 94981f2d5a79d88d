#include "gateway/sessions.h"
#include "gateway/static_files.h"

namespace livepoll::gateway {

namespace {

constexpr std::string_view kSocketPath = "/socket/websocket";
constexpr auto kRequestTimeout = std::chrono::seconds(10);  // a slow client's whole request head

}  // namespace

HttpSession::HttpSession(Gateway::Impl& hub, tcp::socket socket)
    : hub_(hub), stream_(std::move(socket)) {
  parser_.header_limit(8 * 1024);
}

void HttpSession::Start() {
  stream_.expires_after(kRequestTimeout);
  http::async_read(stream_, buffer_, parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
}

void HttpSession::OnRead(beast::error_code ec) {
  if (ec) {
    // Garbage, a timeout or a body where none belongs: a bare 400 is all a stranger gets.
    if (ec != http::error::end_of_stream && ec != beast::error::timeout)
      Answer(http::status::bad_request, "text/plain", "bad request\n");
    return;
  }
  const auto& req = parser_.get();
  const std::string_view target(req.target().data(), req.target().size());
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (websocket::is_upgrade(req)) {
    if (path != kSocketPath) {
      hub_.counts.upgrades_refused++;
      return Answer(http::status::not_found, "text/plain", "no WebSocket here\n");
    }
    stream_.expires_never();
    return hub_.Upgrade(shared_from_this(), query);
  }
  hub_.counts.http_requests++;
  if (req.method() != http::verb::get)
    return Answer(http::status::method_not_allowed, "text/plain", "GET only\n");
  if (path == "/metrics" || path == "/healthz" || path == "/api/queries")
    return hub_.AskOwner(shared_from_this(), std::string(path));
  if (path == kSocketPath)
    return Answer(http::status::bad_request, "text/plain", "expected a WebSocket upgrade\n");
  if (const StaticFile* f = FindStaticFile(path))
    return Answer(http::status::ok, f->content_type, std::string(f->body));
  Answer(http::status::not_found, "text/plain", "not found\n");
}

void HttpSession::Answer(http::status status, std::string_view content_type, std::string body) {
  response_.result(status);
  response_.version(11);
  response_.set(http::field::server, "livepolld");
  response_.set(http::field::content_type,
                beast::string_view(content_type.data(), content_type.size()));
  response_.set(http::field::cache_control, "no-store");
  response_.keep_alive(false);
  response_.body() = std::move(body);
  response_.prepare_payload();
  stream_.expires_after(kRequestTimeout);
  http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
    beast::error_code ignored;
    self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  });
}

}  // namespace livepoll::gateway
