// RouterEndpoint: a bound ZeroMQ ROUTER socket that speaks one-frame messages with DEALER peers
// (PROTOCOL.md, "Transport"). It hides identity frames and refuses multipart junk.
//
// Thread safety: one thread owns it (a ZeroMQ socket belongs to one thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "livepoll/status.h"

namespace livepoll::net {

class RouterEndpoint {
 public:
  struct Frame {
    std::string peer;     // the ROUTER's identity of the sender
    std::string payload;  // the one frame it sent
    bool well_formed;     // false: it sent no frame or several; payload is then empty
    std::string user_id;  // with CurveZMQ, the ZAP handler's User-Id of the sender's key
  };
  enum class SendResult { kSent, kPeerGone, kPeerSlow };

  RouterEndpoint(zmq::context_t& ctx, std::string name);
  // Before Bind: frames over `max_message_size` bytes make ZeroMQ drop the connection that sent
  // them (ZMQ_MAXMSGSIZE; -1: no limit), and at most `sndhwm` messages wait in ZeroMQ for one
  // peer (0: the default, 100,000).
  void SetLimits(int64_t max_message_size, int sndhwm = 0);
  // Binds `endpoint`. An ipc:// socket file is created owner-only (0600) from the start: nobody
  // else can connect even for an instant. `endpoint` may use port 0; endpoint() then tells the
  // real one. With `curve` (this node's secret key, Z85) a tcp:// endpoint is a CurveZMQ server
  // of ZAP domain `zap_domain` (a ZapHandler must run in the context); ipc:// stays plain, guarded
  // by its file mode.
  Status Bind(const std::string& endpoint, const std::string& curve_secret_key = "",
              const char* zap_domain = "");
  // Whether Bind made it a CurveZMQ server.
  bool curve() const { return curve_; }
  const std::string& endpoint() const { return bound_; }

  // The next waiting frame, or nullopt when none waits. Never blocks.
  std::optional<Frame> Receive();
  // Sends `payload` to `peer` without blocking: kPeerGone when the peer disconnected, kPeerSlow
  // when its queue is full (the message is dropped).
  SendResult Send(std::string_view peer, std::string_view payload);

  zmq::socket_t& socket() { return socket_; }

 private:
  std::string name_;
  zmq::socket_t socket_;
  std::string bound_;
  bool curve_ = false;
};

}  // namespace livepoll::net
