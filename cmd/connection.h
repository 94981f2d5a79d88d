// A DEALER connected to one livepolld endpoint (admin or client), one proto message per frame
// (lib/proto/PROTOCOL.md, "Transport").
// Thread safety: none; like every ZeroMQ socket, a Connection belongs to the thread that opened it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "livepoll/status.h"
#include "proto/messages.h"

namespace livepoll::cli {

// A CurveZMQ client's keys (Z85): the daemon's public key and this side's keypair.
struct CurveClient {
  std::string server_key;
  std::string public_key;
  std::string secret_key;
};

class Connection {
 public:
  // Connects to `endpoint`. ZeroMQ connects in the background, so nobody listening is no error
  // here: it shows as silence. InvalidArgument when the endpoint is not one ZeroMQ can connect to.
  // `linger`: how long a closing socket still tries to deliver what was sent. `watch_link`: also
  // follow the connection itself (Closed), as a long-lived client must. `curve`: speak CurveZMQ
  // on a tcp:// endpoint (ipc:// endpoints are plain: the daemon guards them by file mode).
  static Result<std::unique_ptr<Connection>> Open(zmq::context_t& context,
                                                  const std::string& endpoint,
                                                  std::chrono::milliseconds linger,
                                                  bool watch_link = false,
                                                  const std::optional<CurveClient>& curve = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues one message without blocking. Unavailable when it cannot be queued.
  Status Send(const proto::Message& m);

  // Waits up to `timeout` for one message. nullopt when none came in time or a signal interrupted
  // the wait (the caller checks its stop flag and calls again). Malformed for a frame that does
  // not decode; the connection stays usable.
  Result<std::optional<proto::Message>> Receive(std::chrono::milliseconds timeout);

  // Whether the daemon's end closed the connection (a TCP close: the process died or closed it)
  // since it was opened. ZeroMQ reconnects by itself and says nothing, so without this a dead
  // daemon only shows as silence. Always false unless opened with `watch_link`.
  bool Closed();

  const std::string& endpoint() const { return endpoint_; }

 private:
  Connection(zmq::socket_t socket, std::string endpoint)
      : socket_(std::move(socket)), endpoint_(std::move(endpoint)) {}
  zmq::socket_t socket_;
  std::string endpoint_;
  zmq::socket_t monitor_;  // a PAIR receiving socket_'s connection events (zmq_socket_monitor)
  bool closed_ = false;
};

}  // namespace livepoll::cli
