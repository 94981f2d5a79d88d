#include "net/cluster_transport.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "net/advertise.h"
#include "net/zap_handler.h"

namespace livepoll::net {
namespace {

constexpr char kControlChannel[] = "c";

// A link across a real partition keeps its TCP connection: what is sent waits in the kernel,
// retransmitted with exponential back-off (0.2, 0.4, 0.8, 1.6, 3.2 s ...), so after a heal of a few
// seconds each connection resumes only at its next retransmission, up to seconds later and each at
// another moment. Members then came back, went silent and were declared dead again, and every such
// flap cost each topic another takeover or re-epoch (tests/e2e/partition.sh, issue 13). ZMTP
// heartbeats close a connection that has been silent for kLinkTimeout (it is dialled again every
// reconnect_ivl, each attempt bounded by kConnectTimeout), so a healed path carries fresh
// connections at once, and a partition is reported by the socket monitor like a crash.
constexpr int kHeartbeatIvlMs = 100;  // gossip_interval's default
constexpr int kLinkTimeoutMs = 1000;  // dead_after's default
constexpr int kConnectTimeoutMs = 200;

void KeepLinkFresh(zmq::socket_t& s) {
  s.set(zmq::sockopt::heartbeat_ivl, kHeartbeatIvlMs);
  s.set(zmq::sockopt::heartbeat_timeout, kLinkTimeoutMs);
  s.set(zmq::sockopt::heartbeat_ttl, kLinkTimeoutMs);
  s.set(zmq::sockopt::connect_timeout, kConnectTimeoutMs);
}

std::string MonitorEndpoint() {
  static std::atomic<int> n{0};
  return "inproc://livepoll-cluster-monitor-" + std::to_string(n++);
}

}  // namespace

ClusterTransport::ClusterTransport(zmq::context_t& ctx, std::optional<Curve> curve,
                                   int64_t max_message_size)
    : ctx_(ctx),
      curve_(std::move(curve)),
      max_message_size_(max_message_size),
      pub_(ctx, zmq::socket_type::pub),
      router_(ctx, zmq::socket_type::router) {
  for (zmq::socket_t* s : {&pub_, &router_}) {
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::maxmsgsize, max_message_size_);
    KeepLinkFresh(*s);
    if (curve_) {
      // Servers of the "cluster" ZAP domain: the ZapHandler admits trusted nodes alone.
      s->set(zmq::sockopt::curve_server, 1);
      s->set(zmq::sockopt::curve_secretkey, curve_->secret_key);
      s->set(zmq::sockopt::zap_domain, kZapDomainCluster);
    }
  }
  // A burst of presence deltas (thousands of joins at once) must not overflow ZeroMQ's default
  // queue of 1,000: a dropped delta costs every peer a full transfer.
  pub_.set(zmq::sockopt::sndhwm, 100000);
  // A graceful leave is the last thing published: give it a moment to go out on close.
  pub_.set(zmq::sockopt::linger, 200);
}

ClusterTransport::~ClusterTransport() {
  for (auto& [endpoint, peer] : peers_) zmq_socket_monitor(peer->sub.handle(), nullptr, 0);
}

void ClusterTransport::Secure(zmq::socket_t& s, const std::string& server_key) {
  s.set(zmq::sockopt::curve_serverkey, server_key);
  s.set(zmq::sockopt::curve_publickey, curve_->public_key);
  s.set(zmq::sockopt::curve_secretkey, curve_->secret_key);
}

Status ClusterTransport::Bind(const std::string& gossip_bind, const std::string& rpc_bind,
                              const std::string& advertise_host) {
  try {
    pub_.bind(gossip_bind);
    gossip_endpoint_ = AdvertisedEndpoint(pub_.get(zmq::sockopt::last_endpoint), advertise_host);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind gossip endpoint " + gossip_bind + ": " + e.what());
  }
  try {
    router_.bind(rpc_bind);
    rpc_endpoint_ = AdvertisedEndpoint(router_.get(zmq::sockopt::last_endpoint), advertise_host);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind rpc endpoint " + rpc_bind + ": " + e.what());
  }
  return Status::Ok();
}

void ClusterTransport::Broadcast(const std::string& payload) { Publish(kControlChannel, payload); }

void ClusterTransport::Publish(const std::string& channel, const std::string& payload) {
  pub_.send(zmq::buffer(channel), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  pub_.send(zmq::buffer(payload), zmq::send_flags::dontwait);
}

void ClusterTransport::Subscribe(const std::string& channel) {
  if (channels_[channel]++ > 0) return;
  for (auto& [endpoint, peer] : peers_) peer->sub.set(zmq::sockopt::subscribe, channel);
}

void ClusterTransport::Unsubscribe(const std::string& channel) {
  auto it = channels_.find(channel);
  if (it == channels_.end() || --it->second > 0) return;
  channels_.erase(it);
  for (auto& [endpoint, peer] : peers_) peer->sub.set(zmq::sockopt::unsubscribe, channel);
}

bool ClusterTransport::Send(const std::string& endpoint, const std::string& payload,
                            const std::string& server_key) {
  auto it = dealers_.find(endpoint);
  if (it == dealers_.end()) {
    if (curve_ && server_key.empty()) return false;  // whom it would reach is not known
    if (dealers_.size() >= kMaxDealers) {
      auto lru = std::min_element(
          dealers_.begin(), dealers_.end(),
          [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
      dealers_.erase(lru);
    }
    try {
      zmq::socket_t d(ctx_, zmq::socket_type::dealer);
      d.set(zmq::sockopt::linger, 0);
      d.set(zmq::sockopt::maxmsgsize, max_message_size_);
      d.set(zmq::sockopt::reconnect_ivl, 50);
      KeepLinkFresh(d);
      // A peer that is gone must not make us queue without bound: drop past a modest backlog.
      d.set(zmq::sockopt::sndhwm, 10000);
      if (curve_) Secure(d, server_key);
      d.connect(endpoint);
      it = dealers_.emplace(endpoint, Dealer{std::move(d), 0}).first;
    } catch (const zmq::error_t&) {
      return false;  // a malformed endpoint or key from a peer's claim, or no socket left
    }
  }
  it->second.last_used = ++use_clock_;
  return it->second.socket.send(zmq::buffer(payload), zmq::send_flags::dontwait).has_value();
}

void ClusterTransport::Forget(const std::string& endpoint) { dealers_.erase(endpoint); }

bool ClusterTransport::Connect(const std::string& endpoint, const std::string& name,
                               const std::string& server_key) {
  if (endpoint.empty() || endpoint == gossip_endpoint_) return false;
  if (peers_.count(endpoint)) return true;
  if (curve_ && server_key.empty()) return false;
  try {
    auto peer = std::make_unique<Peer>(Peer{name, zmq::socket_t(ctx_, zmq::socket_type::sub),
                                            zmq::socket_t(ctx_, zmq::socket_type::pair)});
    zmq::socket_t& sub = peer->sub;
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::maxmsgsize, max_message_size_);
    KeepLinkFresh(sub);
    sub.set(zmq::sockopt::rcvhwm, 100000);
    // Reconnect quickly: a restarted peer is back within its start-up time, not ZeroMQ's default.
    sub.set(zmq::sockopt::reconnect_ivl, 50);
    sub.set(zmq::sockopt::subscribe, kControlChannel);
    for (const auto& [channel, count] : channels_) sub.set(zmq::sockopt::subscribe, channel);
    if (curve_) Secure(sub, server_key);
    const std::string mon = MonitorEndpoint();
    if (zmq_socket_monitor(sub.handle(), mon.c_str(),
                           ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0)
      peer->monitor.connect(mon);
    sub.connect(endpoint);
    peers_.emplace(endpoint, std::move(peer));
    return true;
  } catch (const zmq::error_t&) {
    return false;
  }
}

void ClusterTransport::Disconnect(const std::string& endpoint) {
  auto it = peers_.find(endpoint);
  if (it == peers_.end()) return;
  zmq_socket_monitor(it->second->sub.handle(), nullptr, 0);
  peers_.erase(it);
}

std::vector<zmq::pollitem_t> ClusterTransport::PollItems() {
  std::vector<zmq::pollitem_t> items = {{static_cast<void*>(router_), 0, ZMQ_POLLIN, 0}};
  for (auto& [endpoint, peer] : peers_) {
    items.push_back({static_cast<void*>(peer->sub), 0, ZMQ_POLLIN, 0});
    items.push_back({static_cast<void*>(peer->monitor), 0, ZMQ_POLLIN, 0});
  }
  return items;
}

std::optional<ClusterTransport::Frame> ClusterTransport::Receive() {
  zmq::message_t part;
  if (router_.recv(part, zmq::recv_flags::dontwait)) {  // [identity, payload]
    Frame f{Frame::From::kRpc, "", ""};
    int parts = 0;
    bool more = part.more();
    while (more) {
      zmq::message_t next;
      if (!router_.recv(next)) break;
      if (++parts == 1) {
        f.payload = next.to_string();
        // With keys, the ZAP handler's User-Id: the node whose key made this connection.
        if (curve_) {
          const char* user = zmq_msg_gets(next.handle(), "User-Id");
          if (user != nullptr) f.peer = user;
        }
      }
      more = next.more();
    }
    if (parts != 1) f.payload.clear();
    return f;
  }
  if (peers_.empty()) return std::nullopt;
  // Each peer's SUB in turn, starting after the one that delivered last.
  const size_t n = peers_.size();
  auto it = peers_.begin();
  std::advance(it, next_peer_ % n);
  for (size_t i = 0; i < n; ++i, ++it) {
    if (it == peers_.end()) it = peers_.begin();
    Peer& peer = *it->second;
    if (!peer.sub.recv(part, zmq::recv_flags::dontwait)) continue;
    next_peer_ = (next_peer_ + i + 1) % n;
    // [channel, payload]: anything else is junk, handed on empty to be counted as malformed.
    Frame f{Frame::From::kGossip, "", peer.name};
    int parts = 1;
    bool more = part.more();
    while (more) {
      zmq::message_t next;
      if (!peer.sub.recv(next)) break;
      if (++parts == 2) f.payload = next.to_string();
      more = next.more();
    }
    if (parts != 2) f.payload.clear();
    return f;
  }
  return std::nullopt;
}

std::vector<ClusterTransport::LinkEvent> ClusterTransport::TakeLinkEvents() {
  std::vector<LinkEvent> events;
  for (auto& [endpoint, peer] : peers_) {
    for (;;) {
      // A monitor event is two frames: [event id (16 bits) + value (32 bits)], [endpoint].
      zmq::message_t event, address;
      if (!peer->monitor.recv(event, zmq::recv_flags::dontwait)) break;
      if (!event.more() || !peer->monitor.recv(address)) continue;
      uint16_t id = 0;
      if (event.size() >= sizeof id) std::memcpy(&id, event.data(), sizeof id);
      if (id == ZMQ_EVENT_DISCONNECTED) {
        peer->lost = true;
        events.push_back({endpoint, LinkEvent::Kind::kDisconnected});
      } else if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && peer->lost) {
        peer->lost = false;
        events.push_back({endpoint, LinkEvent::Kind::kRelinked});
      }
    }
  }
  return events;
}

}  // namespace livepoll::net
