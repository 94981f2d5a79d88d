// Gateway: the WebSocket front door of one node (PROTOCOL.md, "WebSocket gateway"). An HTTP/1.1
// listener on its own thread (an Asio io_context) that
//  - upgrades `GET /socket/websocket?vsn=2.0.0` to a WebSocket speaking Phoenix Channels V2
//    (another vsn: HTTP 403 before the upgrade; no permessage-deflate);
//  - answers `/` and the page's assets itself (static_files.h), asks its owner for `/metrics`,
//    `/healthz` and `/api/queries` (an HttpGet event, answered by AnswerHttp), and 404 for
//    anything else;
//  - decodes every client frame (phoenix_frame.h) on its thread: heartbeats it answers itself;
//    joins and leaves it hands over as events; garbage, unknown events and bad JSON it counts and
//    answers (or ignores), never hurting another socket;
//  - writes what its owner sends through each socket's SendQueue (send_queue.h: bounded in
//    bytes, with the slow-consumer rule);
//  - closes a socket silent for idle_timeout (no frame at all, heartbeats included).
// It is an adapter like the ZeroMQ client endpoint: it knows sockets (ConnId) and Phoenix
// frames; its owner (net::Server's event loop) knows clients, topics and the core. The two talk
// through a queue each way: events to the owner (TakeEvents, with wake_fd() readable while any
// wait), commands to the gateway's thread (Send, Reply, Close, AnswerHttp: posted to its
// io_context, so they may be called from any thread).
//
// An idle WebSocket holds its socket, Beast's stream (a 1.5 KB read buffer), a pending read of one
// byte, an empty message buffer and its SendQueue: no coroutine stack, no timer of its own, no
// buffer grown for a frame that is not there (README, "WebSocket gateway": about 3.7 KB in all).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "gateway/channel_topic.h"
#include "gateway/phoenix_frame.h"
#include "gateway/send_queue.h"
#include "livepoll/status.h"

namespace livepoll::gateway {

using ConnId = uint64_t;  // one WebSocket of this gateway, never reused within a process

struct GatewayOptions {
  std::string bind;  // HOST:PORT (port 0: any free one; endpoint() tells which)
  std::chrono::milliseconds idle_timeout{60000};
  size_t queue_bytes = 8 << 20;    // per socket (SendQueue)
  size_t max_connections = 10000;  // WebSockets open at once; past it, upgrades get HTTP 503
};

// ---- events: gateway -> owner ----
struct Connected {  // a WebSocket is open
  ConnId conn = 0;
  std::string
      token;  // the connect URL's `token` parameter (phoenix.js `params: {token}`); "": none
};
struct JoinAsked {  // phx_join of a channel, its topic read and its payload well formed
  ConnId conn = 0;
  std::string join_ref, ref;  // as the frame had them (ClientFrame)
  std::string topic;          // the channel topic, as the client wrote it
  std::string query;
  proto::Params params;  // the topic's or the payload's
  JoinRequest join;      // token, resume, presence (join.params already moved into `params`)
};
struct LeaveAsked {  // phx_leave
  ConnId conn = 0;
  std::string join_ref, ref, topic;
};
struct Closed {  // the WebSocket is gone (closed by either side, timed out or failed)
  ConnId conn = 0;
};
struct ResendAsked {  // the socket's queue drained after a reset: send `topic`'s state again
  ConnId conn = 0;
  std::string topic;  // a core topic (OutMessage::topic)
};
struct HttpGet {  // GET /metrics, /healthz or /api/queries: answer with AnswerHttp(request, ...)
  uint64_t request = 0;
  std::string path;
};
using Event = std::variant<Connected, JoinAsked, LeaveAsked, Closed, ResendAsked, HttpGet>;

// What the gateway counted; each only grows (open is the current count).
struct GatewayStats {
  uint64_t connections = 0;       // WebSockets accepted
  uint64_t open = 0;              // open now
  uint64_t upgrades_refused = 0;  // wrong vsn, wrong path or too many sockets
  uint64_t frames_malformed = 0;  // not a V2 frame, bad JSON, binary, too big
  uint64_t frames_unknown = 0;    // well formed, but an event or topic the gateway does not serve
  uint64_t idle_closed = 0;       // silent past idle_timeout
  uint64_t slow_consumer_resets = 0;
  uint64_t updates_dropped_slow_client = 0;
  uint64_t http_requests = 0;  // plain HTTP requests (not upgrades)
};

class Gateway {
 public:
  explicit Gateway(GatewayOptions options);
  ~Gateway();  // stops the thread; every socket is closed without a word
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds the listener and starts the thread. An error names the address.
  Status Start();
  // The bound address, HOST:PORT; "" before Start.
  const std::string& endpoint() const;
  // Readable while events wait; TakeEvents drains it.
  int wake_fd() const;
  std::vector<Event> TakeEvents();
  GatewayStats stats() const;

  // ---- commands (any thread) ----
  // Queues `m` on every socket of `conns` still open (a socket that is gone is skipped).
  void Send(std::vector<ConnId> conns, std::shared_ptr<const OutMessage> m);
  // Queues one frame (a reply) on `conn`.
  void Send(ConnId conn, std::string bytes);
  // Closes `conn` (a WebSocket close, after what is queued).
  void Close(ConnId conn);
  // The answer to HttpGet `request`.
  void AnswerHttp(uint64_t request, int status, std::string content_type, std::string body);

  class Impl;  // the gateway thread's state (sessions.h)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace livepoll::gateway
