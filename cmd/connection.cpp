#include "connection.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#include "proto/codec.h"

namespace livepoll::cli {

Result<std::unique_ptr<Connection>> Connection::Open(zmq::context_t& context,
                                                     const std::string& endpoint,
                                                     std::chrono::milliseconds linger,
                                                     bool watch_link,
                                                     const std::optional<CurveClient>& curve) {
  try {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
    if (curve && endpoint.rfind("tcp://", 0) == 0) {
      socket.set(zmq::sockopt::curve_serverkey, curve->server_key);
      socket.set(zmq::sockopt::curve_publickey, curve->public_key);
      socket.set(zmq::sockopt::curve_secretkey, curve->secret_key);
    }
    std::unique_ptr<Connection> c(new Connection(std::move(socket), endpoint));
    if (watch_link) {
      // Monitors are reached over inproc, by a name unique in the context.
      static std::atomic<uint64_t> next{0};
      const std::string name = "inproc://livepoll-link-" + std::to_string(next++);
      if (zmq_socket_monitor(c->socket_.handle(), name.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
        throw zmq::error_t();
      c->monitor_ = zmq::socket_t(context, zmq::socket_type::pair);
      c->monitor_.set(zmq::sockopt::linger, 0);
      c->monitor_.connect(name);
    }
    c->socket_.connect(endpoint);
    return c;
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("invalid endpoint '" + endpoint + "': " + e.what());
  }
}

Connection::~Connection() {
  if (monitor_) (void)zmq_socket_monitor(socket_.handle(), nullptr, 0);
}

bool Connection::Closed() {
  if (!monitor_ || closed_) return closed_;
  try {
    // Each event is two frames: [event id (uint16), value (uint32)], then the peer's address.
    zmq::message_t event, address;
    while (monitor_.recv(event, zmq::recv_flags::dontwait)) {
      if (event.more()) (void)monitor_.recv(address, zmq::recv_flags::none);
      uint16_t id = 0;
      if (event.size() >= sizeof id) std::memcpy(&id, event.data(), sizeof id);
      if (id == ZMQ_EVENT_DISCONNECTED) closed_ = true;
    }
  } catch (const zmq::error_t&) {
    // The context is ending: the caller is on its way out too.
  }
  return closed_;
}

Status Connection::Send(const proto::Message& m) {
  const std::string frame = proto::Encode(m);  // alive until send returns
  try {
    if (!socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
      return Status::Unavailable("cannot queue a message to " + endpoint_);
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot send to " + endpoint_ + ": " + e.what());
  }
}

Result<std::optional<proto::Message>> Connection::Receive(std::chrono::milliseconds timeout) {
  zmq::message_t frame;
  try {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::optional<proto::Message>();
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return std::optional<proto::Message>();
    // One frame per message; anything more is not ours to interpret, so drop it.
    zmq::message_t extra;
    while (socket_.get(zmq::sockopt::rcvmore)) (void)socket_.recv(extra, zmq::recv_flags::none);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<proto::Message>();
    return Status::Unavailable("cannot receive from " + endpoint_ + ": " + e.what());
  }
  Result<proto::Message> m = proto::Decode(frame.to_string_view());
  if (!m.ok()) return m.status();
  return std::optional<proto::Message>(std::move(m).value());
}

}  // namespace livepoll::cli
