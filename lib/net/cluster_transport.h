// ClusterTransport: the ZeroMQ sockets between livepolld nodes (DESIGN.md, "Cluster protocol").
//   gossip  PUB, bound at `gossip_bind`; every peer's SUB connects to it. Frames: [channel,
//   payload]
//           with channel "c" for cluster messages (heartbeats, presence, claims), and the data
//           plane under per-topic channels (net::TopicChannel), so a peer subscribes only to the
//           topics it has subscribers of (ZeroMQ filters on the publisher's side).
//   rpc     ROUTER, bound at `rpc_bind`; peers send one-way messages from a DEALER each (one per
//           destination endpoint, connected on first use, closed by Forget or, past
//           kMaxDealers, the least recently used first). Frames: [payload].
// The gossip side is one SUB per peer, so that every frame's sender is known: with keys, that SUB
// authenticated the peer's PUB by its public key (curve_serverkey), so the frame is the peer's.
// A socket monitor on each SUB reports a peer's TCP disconnect at once, so a crashed process is
// suspected in milliseconds rather than after `suspect_after`, and the new connection's handshake
// after it (a relink): what the peer published in between is lost, and only the data plane's
// owner can say what it was (core::Node::OnPeerRelink).
// With a keypair (Curve), every socket speaks CurveZMQ: the PUB and the ROUTER are CURVE servers
// of ZAP domain "cluster" (a ZapHandler must run in the context before Bind), the SUBs and
// DEALERs CURVE clients that must be given their server's public key. Every link carries ZMTP
// heartbeats: one silent for 1 s is closed (and so reported like a crash) and dialled again, so
// that after a real partition the nodes talk over fresh connections at once instead of waiting for
// TCP's retransmission back-off (cluster_transport.cpp says why).
//
// What a peer can make this node hold (issue 12): every frame is at most max_message_size (ZeroMQ
// closes a link that sends a larger one before reading it); per link, at most 100,000 frames wait
// in the SUB (rcvhwm) and 1,000 in the ROUTER (ZeroMQ's default rcvhwm), and the event loop drains
// up to 1,000 frames an iteration, so they fill only while the node is behind. Outgoing, a slow
// peer holds at most 100,000 of this node's own gossip frames (PUB sndhwm, per subscriber) and
// 10,000 rpc frames (DEALER sndhwm); then frames to it are dropped (presence and claims recover by
// transfer, the data plane by a snapshot fetch). The bounds are in frames, as ZeroMQ counts; in
// bytes they are those counts times max_message_size, which only a member (with CurveZMQ: a key
// holder) can approach.
//
// Thread safety: one thread owns it (all its sockets).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "livepoll/status.h"

namespace livepoll::net {

class ClusterTransport {
 public:
  struct Frame {
    enum class From { kGossip, kRpc } from;
    std::string payload;
    // Who sent it, as far as the transport knows: gossip, the name given to Connect() for the SUB
    // it came on; rpc, the ZAP User-Id (the authenticated node's name; empty without keys).
    std::string peer;
  };
  // This node's keypair (Z85): given, every socket speaks CurveZMQ.
  struct Curve {
    std::string public_key;
    std::string secret_key;
  };

  // `max_message_size`: ZMQ_MAXMSGSIZE of every socket (-1: none); a peer sending a larger frame
  // is disconnected before it is read.
  explicit ClusterTransport(zmq::context_t& ctx, std::optional<Curve> curve = std::nullopt,
                            int64_t max_message_size = -1);
  ~ClusterTransport();

  // Binds both sockets; endpoints may use port 0, gossip_endpoint()/rpc_endpoint() tell the real
  // ones. A wildcard host (tcp://*:N, 0.0.0.0, [::]) is advertised as `advertise_host`
  // (advertise.h decides it).
  Status Bind(const std::string& gossip_bind, const std::string& rpc_bind,
              const std::string& advertise_host);
  const std::string& gossip_endpoint() const { return gossip_endpoint_; }
  const std::string& rpc_endpoint() const { return rpc_endpoint_; }

  // On the cluster channel, to every peer.
  void Broadcast(const std::string& payload);
  // On `channel`, to the peers that Subscribe()d to it.
  void Publish(const std::string& channel, const std::string& payload);
  // Receive / stop receiving `channel` from every peer. Counted: two Subscribes need two
  // Unsubscribes (ZeroMQ's own semantics).
  void Subscribe(const std::string& channel);
  void Unsubscribe(const std::string& channel);
  // False when the message could not be queued (no socket could be made for the endpoint, or
  // its queue is full). With keys, `server_key` is the destination node's public key (a new DEALER
  // needs it; without one nothing is sent).
  bool Send(const std::string& rpc_endpoint, const std::string& payload,
            const std::string& server_key = "");
  // Closes the DEALER to `rpc_endpoint`, if one is open: no member uses it any more.
  void Forget(const std::string& rpc_endpoint);
  size_t dealer_count() const { return dealers_.size(); }
  bool has_dealer(const std::string& rpc_endpoint) const { return dealers_.count(rpc_endpoint); }
  // Beyond this many open DEALERs the least recently used is closed: each is a socket, a
  // reconnecting TCP connection and a queue, and what peers claim must not exhaust them.
  static constexpr size_t kMaxDealers = 512;
  // SUBscribe to / drop a peer's gossip socket. Idempotent. `peer` names the member (Frame::peer);
  // with keys, `server_key` is its public key (without one, no SUB is made: false).
  bool Connect(const std::string& gossip_endpoint, const std::string& peer = "",
               const std::string& server_key = "");
  void Disconnect(const std::string& gossip_endpoint);
  size_t peer_count() const { return peers_.size(); }

  // Poll items: the rpc ROUTER, then each peer's SUB and its monitor. They change when peers are
  // connected or dropped: take them again after Carry.
  std::vector<zmq::pollitem_t> PollItems();
  // The next waiting frame, never blocking; malformed multipart frames come as an empty payload.
  std::optional<Frame> Receive();
  // What happened to the peers' links since the last call, in order per peer: a connection
  // dropped, or a new one was made after a drop (ZeroMQ redials on its own).
  struct LinkEvent {
    std::string gossip_endpoint;
    enum class Kind { kDisconnected, kRelinked } kind;
  };
  std::vector<LinkEvent> TakeLinkEvents();

 private:
  struct Peer {  // one member's gossip socket
    std::string name;
    zmq::socket_t sub;
    zmq::socket_t monitor;  // PAIR receiving the SUB's monitor events
    bool lost = false;      // disconnected, and no new connection made since
  };
  void Secure(zmq::socket_t& s, const std::string& server_key);  // as a CURVE client

  zmq::context_t& ctx_;
  std::optional<Curve> curve_;
  int64_t max_message_size_;
  zmq::socket_t pub_;
  zmq::socket_t router_;
  std::string gossip_endpoint_;
  std::string rpc_endpoint_;
  struct Dealer {
    zmq::socket_t socket;
    uint64_t last_used = 0;  // use_clock_ at the last Send
  };
  std::map<std::string, Dealer> dealers_;  // by rpc endpoint
  uint64_t use_clock_ = 0;
  std::map<std::string, std::unique_ptr<Peer>> peers_;  // by gossip endpoint
  std::map<std::string, int> channels_;  // Subscribe()d channels (count), for new SUBs too
  size_t next_peer_ = 0;                 // Receive() starts here: no peer starves the others
};

}  // namespace livepoll::net
