#include "gateway/gateway.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "gateway/sessions.h"

namespace livepoll::gateway {

Gateway::Impl::Impl(GatewayOptions o) : options(std::move(o)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Gateway::Impl::~Impl() {
  Stop();
  sockets.clear();
  http_waiting.clear();
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status Gateway::Impl::Start() {
  if (wake_fd_ < 0) return Status::Internal("ws_bind: eventfd failed");
  const size_t colon = options.bind.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("ws_bind '" + options.bind + "' is not HOST:PORT");
  std::string host = options.bind.substr(0, colon);
  const std::string port = options.bind.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto found = resolver.resolve(host, port, tcp::resolver::passive, ec);
  if (ec || found.empty())
    return Status::InvalidArgument("ws_bind '" + options.bind + "': " + ec.message());
  const tcp::endpoint at = found.begin()->endpoint();
  acceptor_.open(at.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(at, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("ws_bind '" + options.bind + "': " + ec.message());
  const tcp::endpoint bound = acceptor_.local_endpoint();
  const std::string addr = bound.address().to_string();
  endpoint =
      (bound.address().is_v6() ? "[" + addr + "]" : addr) + ":" + std::to_string(bound.port());
  Accept();
  Sweep();
  thread_ = std::thread([this] { ioc.run(); });
  return Status::Ok();
}

void Gateway::Impl::Stop() {
  ioc.stop();
  if (thread_.joinable()) thread_.join();
}

void Gateway::Impl::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, most likely: try again shortly instead of spinning.
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](beast::error_code e) {
        if (!e) Accept();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<HttpSession>(*this, std::move(socket))->Start();
    Accept();
  });
}

void Gateway::Impl::Sweep() {
  sweep_.expires_after(std::max<std::chrono::milliseconds>(options.idle_timeout / kIdleTicks,
                                                           std::chrono::milliseconds(10)));
  sweep_.async_wait([this](beast::error_code ec) {
    if (ec) return;
    tick++;
    std::vector<std::shared_ptr<WsSession>> all;  // closing may end sessions: not while iterating
    all.reserve(sockets.size());
    for (auto& [id, s] : sockets) all.push_back(s);
    for (auto& s : all) s->CloseIfIdle();
    Sweep();
  });
}

void Gateway::Impl::Emit(Event e) {
  std::lock_guard lock(mu_);
  const bool wake = events_.empty();
  events_.push_back(std::move(e));
  if (wake) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  }
}

std::vector<Event> Gateway::Impl::TakeEvents() {
  std::lock_guard lock(mu_);
  uint64_t count;
  [[maybe_unused]] ssize_t n = read(wake_fd_, &count, sizeof count);
  return std::exchange(events_, {});
}

void Gateway::Impl::Upgrade(std::shared_ptr<HttpSession> http, std::string_view query) {
  std::string vsn, token;
  bool has_vsn = false;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    Result<std::string> name = PercentDecode(pair.substr(0, eq));
    Result<std::string> value =
        PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name.ok() || !value.ok()) continue;
    if (*name == "vsn") {
      vsn = *value;
      has_vsn = true;
    } else if (*name == "token") {
      token = *value;
    }
  }
  if (!has_vsn || vsn != "2.0.0") {
    counts.upgrades_refused++;
    return http->Answer(http::status::forbidden, "text/plain",
                        "this gateway speaks Phoenix Channels V2 only: connect with vsn=2.0.0\n");
  }
  if (sockets.size() >= options.max_connections) {
    counts.upgrades_refused++;
    return http->Answer(http::status::service_unavailable, "text/plain",
                        "too many WebSockets open on this node\n");
  }
  const ConnId id = next_conn_++;
  auto request = std::make_shared<http::request<http::empty_body>>(http->TakeRequest());
  auto ws = std::make_shared<WsSession>(*this, id, http->TakeSocket());
  sockets.emplace(id, ws);
  ws->Accept(std::move(request), std::move(token));
}

void Gateway::Impl::AskOwner(std::shared_ptr<HttpSession> http, std::string path) {
  const uint64_t request = next_request++;
  http_waiting.emplace(request, http);
  Emit(HttpGet{request, std::move(path)});
}

void Gateway::Impl::Forget(ConnId conn, bool was_open) {
  sockets.erase(conn);
  if (!was_open) return;  // the owner never heard of it
  counts.open--;
  Emit(Closed{conn});
}

// ---- Gateway ----

Gateway::Gateway(GatewayOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Gateway::~Gateway() = default;

Status Gateway::Start() { return impl_->Start(); }
const std::string& Gateway::endpoint() const { return impl_->endpoint; }
int Gateway::wake_fd() const { return impl_->wake_fd_; }
std::vector<Event> Gateway::TakeEvents() { return impl_->TakeEvents(); }

GatewayStats Gateway::stats() const {
  const Impl::Counts& c = impl_->counts;
  return GatewayStats{
      c.connections,    c.open,        c.upgrades_refused,     c.frames_malformed,
      c.frames_unknown, c.idle_closed, c.slow_consumer_resets, c.updates_dropped_slow_client,
      c.http_requests};
}

void Gateway::Send(std::vector<ConnId> conns, std::shared_ptr<const OutMessage> m) {
  asio::post(impl_->ioc, [impl = impl_.get(), conns = std::move(conns), m = std::move(m)] {
    for (ConnId c : conns) {
      auto it = impl->sockets.find(c);
      if (it != impl->sockets.end()) it->second->Push(m);
    }
  });
}

void Gateway::Send(ConnId conn, std::string bytes) {
  auto m = std::make_shared<const OutMessage>(OutMessage{std::move(bytes), "", false});
  asio::post(impl_->ioc, [impl = impl_.get(), conn, m = std::move(m)] {
    auto it = impl->sockets.find(conn);
    if (it != impl->sockets.end()) it->second->Push(m);
  });
}

void Gateway::Close(ConnId conn) {
  asio::post(impl_->ioc, [impl = impl_.get(), conn] {
    auto it = impl->sockets.find(conn);
    if (it != impl->sockets.end()) it->second->Close();
  });
}

void Gateway::AnswerHttp(uint64_t request, int status, std::string content_type, std::string body) {
  asio::post(impl_->ioc, [impl = impl_.get(), request, status, ct = std::move(content_type),
                          body = std::move(body)]() mutable {
    auto it = impl->http_waiting.find(request);
    if (it == impl->http_waiting.end()) return;
    std::shared_ptr<HttpSession> http = std::move(it->second);
    impl->http_waiting.erase(it);
    if (http) http->Answer(static_cast<http::status>(status), ct, std::move(body));
  });
}

}  // namespace livepoll::gateway
