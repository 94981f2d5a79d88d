#include "net/router_endpoint.h"

#include <sys/stat.h>

namespace livepoll::net {

RouterEndpoint::RouterEndpoint(zmq::context_t& ctx, std::string name)
    : name_(std::move(name)), socket_(ctx, zmq::socket_type::router) {
  socket_.set(zmq::sockopt::linger, 0);
  // Report unroutable peers instead of dropping silently, so a vanished client is noticed.
  socket_.set(zmq::sockopt::router_mandatory, 1);
  // Room for bursts of fan-out; beyond it a slow peer loses messages (and sees a seq gap).
  socket_.set(zmq::sockopt::sndhwm, 100000);
  socket_.set(zmq::sockopt::rcvhwm, 100000);
}

void RouterEndpoint::SetLimits(int64_t max_message_size, int sndhwm) {
  socket_.set(zmq::sockopt::maxmsgsize, max_message_size);
  if (sndhwm > 0) socket_.set(zmq::sockopt::sndhwm, sndhwm);
}

Status RouterEndpoint::Bind(const std::string& endpoint, const std::string& curve_secret_key,
                            const char* zap_domain) {
  const bool ipc = endpoint.rfind("ipc://", 0) == 0;
  try {
    if (!curve_secret_key.empty() && endpoint.rfind("tcp://", 0) == 0) {
      socket_.set(zmq::sockopt::curve_server, 1);
      socket_.set(zmq::sockopt::curve_secretkey, curve_secret_key);
      socket_.set(zmq::sockopt::zap_domain, zap_domain);
      curve_ = true;
    }
    // zmq_bind creates the ipc socket file in this thread, before it returns: with this umask it
    // is born 0600, where a chmod after the bind left a moment in which anyone could connect.
    // umask is process-wide, so a file another thread creates meanwhile is made no more open than
    // its own mode and 0600 allow: stricter, never looser; and the daemon binds before it starts
    // the poll runner's workers.
    const mode_t old = ipc ? umask(0177) : 0;
    try {
      socket_.bind(endpoint);
    } catch (...) {
      if (ipc) umask(old);
      throw;
    }
    if (ipc) umask(old);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind " + name_ + " endpoint " + endpoint + ": " + e.what());
  }
  bound_ = socket_.get(zmq::sockopt::last_endpoint);
  return Status::Ok();
}

std::optional<RouterEndpoint::Frame> RouterEndpoint::Receive() {
  zmq::message_t id;
  if (!socket_.recv(id, zmq::recv_flags::dontwait)) return std::nullopt;
  Frame f{id.to_string(), "", true, ""};
  int parts = 0;
  bool more = id.more();
  while (more) {
    zmq::message_t part;
    // The rest of a multipart message is already queued: these receives do not block.
    if (!socket_.recv(part)) break;
    if (++parts == 1) {
      f.payload = part.to_string();
      if (curve_) {
        const char* user = zmq_msg_gets(part.handle(), "User-Id");
        if (user != nullptr) f.user_id = user;
      }
    }
    more = part.more();
  }
  if (parts != 1) {
    f.payload.clear();
    f.well_formed = false;
  }
  return f;
}

RouterEndpoint::SendResult RouterEndpoint::Send(std::string_view peer, std::string_view payload) {
  try {
    if (!socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return SendResult::kPeerSlow;
    socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    return SendResult::kSent;
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return SendResult::kPeerGone;
    return SendResult::kPeerSlow;
  }
}

}  // namespace livepoll::net
