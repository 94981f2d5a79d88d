#include "connection.h"

#include <cerrno>

#include "proto/codec.h"

namespace livepoll::cli {

Result<std::unique_ptr<Connection>> Connection::Open(zmq::context_t& context,
                                                     const std::string& endpoint,
                                                     std::chrono::milliseconds linger) {
  try {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
    socket.connect(endpoint);
    return std::unique_ptr<Connection>(new Connection(std::move(socket), endpoint));
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("invalid endpoint '" + endpoint + "': " + e.what());
  }
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
