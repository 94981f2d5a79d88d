// The gateway thread's state and its two kinds of connection (gateway.h is the contract; this is
// how). Everything here runs on the gateway's thread, inside its io_context; the owner reaches it
// only through Gateway's commands, which are posted there, and its events, behind a mutex.
//
// A connection starts as an HttpSession (a request read with a small buffer and a deadline); an
// upgrade hands its socket to a WsSession and the HttpSession is gone. A WsSession is kept alive
// by the `sockets` table and by its pending operations (shared_ptr), with no coroutine frame:
// each operation's completion is a member function, its state the members.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gateway/gateway.h"

namespace livepoll::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

class WsSession;
class HttpSession;

class Gateway::Impl {
 public:
  explicit Impl(GatewayOptions o);
  ~Impl();

  Status Start();
  void Stop();

  // Hands `e` to the owner (any thread; wakes it when the queue was empty).
  void Emit(Event e);
  std::vector<Event> TakeEvents();

  // ---- the gateway thread's ----
  // A WebSocket upgrade of `http` was asked: refused (and answered) or accepted.
  void Upgrade(std::shared_ptr<HttpSession> http, std::string_view query);
  // Asks the owner for `path` on behalf of `http`.
  void AskOwner(std::shared_ptr<HttpSession> http, std::string path);
  // The socket is gone (WsSession::Gone); `was_open`: the owner had its Connected.
  void Forget(ConnId conn, bool was_open);

  const GatewayOptions options;
  asio::io_context ioc{1};
  std::string endpoint;

  struct Counts {
    std::atomic<uint64_t> connections{0}, open{0}, upgrades_refused{0}, frames_malformed{0},
        frames_unknown{0}, idle_closed{0}, slow_consumer_resets{0}, updates_dropped_slow_client{0},
        http_requests{0};
  } counts;

  std::unordered_map<ConnId, std::shared_ptr<WsSession>> sockets;
  // Idle sockets are found by one sweep of every socket each idle_timeout / 4 (a tick), not by a
  // timer per socket: a socket whose last frame came kIdleTicks ticks ago or earlier is closed, so
  // after between idle_timeout and 1.25 times it.
  static constexpr uint32_t kIdleTicks = 4;
  uint32_t tick = 0;
  // Owned until answered: nothing else holds a session waiting for its owner's answer (a weak
  // pointer here let it die at once, and /metrics answered an empty reply).
  std::unordered_map<uint64_t, std::shared_ptr<HttpSession>> http_waiting;
  uint64_t next_request = 1;

 private:
  void Accept();
  void Sweep();

  tcp::acceptor acceptor_{ioc};
  asio::steady_timer sweep_{ioc};
  asio::steady_timer accept_retry_{ioc};
  std::thread thread_;
  int wake_fd_ = -1;
  std::mutex mu_;
  std::vector<Event> events_;  // under mu_
  ConnId next_conn_ = 1;
  friend class Gateway;
};

// One HTTP/1.1 request, then the answer and a close, or the upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Gateway::Impl& hub, tcp::socket socket);
  void Start();
  // Writes the response and closes the connection.
  void Answer(http::status status, std::string_view content_type, std::string body);
  // For the upgrade: the request and the socket, taken.
  http::request<http::empty_body> TakeRequest() { return parser_.release(); }
  tcp::socket TakeSocket() { return stream_.release_socket(); }

 private:
  void OnRead(beast::error_code ec);

  Gateway::Impl& hub_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{8 * 1024};  // the request's head is all it reads
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
};

// One WebSocket speaking Phoenix V2.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(Gateway::Impl& hub, ConnId id, tcp::socket socket);
  // Completes the upgrade `request`; then Connected{token} goes to the owner and reads start.
  void Accept(std::shared_ptr<http::request<http::empty_body>> request, std::string token);
  void Push(std::shared_ptr<const OutMessage> m);
  void Close();
  // Closes the socket when no frame came for kIdleTicks ticks (counted in idle_closed).
  void CloseIfIdle();

 private:
  // A message is read in two steps: its first byte (the wait of an idle socket), then the rest.
  void Read();
  void OnFirstByte(beast::error_code ec, size_t n);
  void OnRead(beast::error_code ec);
  void OnFrame(std::string_view text);
  void Reply(const ClientFrame& f, bool ok, std::string_view response);
  void Write();
  void OnWrite(beast::error_code ec);
  void Gone();

  Gateway::Impl& hub_;
  const ConnId id_;
  websocket::stream<tcp::socket, /*deflateSupported=*/false> ws_;
  beast::flat_buffer in_{kMaxFrameBytes};  // empty while no frame is being read
  char first_byte_ = 0;                    // the first byte of the next message (Read)
  SendQueue queue_;
  uint32_t last_frame_tick_ = 0;  // the hub's tick when the last frame (or the upgrade) came
  bool open_ = false;
  bool gone_ = false;
};

}  // namespace livepoll::gateway
