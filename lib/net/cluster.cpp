#include "net/cluster.h"

#include <spdlog/spdlog.h>

#include "livepoll/strings.h"

namespace livepoll::net {

Cluster::Cluster(zmq::context_t& ctx, ClusterOptions options, core::Node& node)
    : options_(std::move(options)),
      node_(node),
      counters_(node.counters()),
      transport_(ctx, options_.curve, options_.max_message_size) {}

Status Cluster::Start(Time now, core::Actions& out) {
  if (Status s = transport_.Bind(options_.gossip_bind, options_.rpc_bind, options_.advertise_host);
      !s.ok())
    return s;
  node_.Start(now, transport_.gossip_endpoint(), transport_.rpc_endpoint(), options_.seeds, out);
  spdlog::info("cluster '{}': node {} gossips at {}, rpc at {}; {}", options_.cluster,
               node_.cluster()->self().ToString(), transport_.gossip_endpoint(),
               transport_.rpc_endpoint(),
               options_.seeds.empty()
                   ? "no seeds: a cluster of one until another node joins"
                   : "a cluster of one until a seed answers (" + Join(options_.seeds) + ")");
  return Status::Ok();
}

void Cluster::OnReadable(Time now, core::Actions& out) {
  for (int i = 0; i < 1000; ++i) {  // bounded, like the Server's other sockets
    std::optional<ClusterTransport::Frame> f = transport_.Receive();
    if (!f) break;
    Handle(now, *f, out);
  }
  for (const ClusterTransport::LinkEvent& e : transport_.TakeLinkEvents()) {
    if (e.kind == ClusterTransport::LinkEvent::Kind::kDisconnected)
      node_.OnPeerDisconnect(now, e.gossip_endpoint, out);
    else
      node_.OnPeerRelink(now, e.gossip_endpoint, out);
  }
}

void Cluster::Handle(Time now, const ClusterTransport::Frame& f, core::Actions& out) {
  Result<ClusterFrame> frame = DecodeCluster(f.payload, options_.cluster);
  if (!frame.ok()) {
    const Status& s = frame.status();
    switch (s.code()) {
      case Status::Code::kIncompatible:
        counters_.cluster_frames_foreign++;
        break;
      case Status::Code::kInvalidArgument:
        counters_.cluster_frames_unknown++;
        break;
      default:
        counters_.cluster_frames_malformed++;
        break;
    }
    spdlog::debug("cluster frame refused: {}", s.ToString());
    return;
  }
  if (cut_.count(frame->from)) {
    counters_.cluster_frames_cut++;
    return;
  }
  if (options_.curve && !Admit(f, *frame)) return;
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, AdminMessage>) {
          admin_inbox_.push_back(std::move(m));  // the Server answers (it owns the admin commands)
        } else {
          node_.OnPeerMessage(now, core::PeerMessage(std::move(m)), out);
        }
      },
      frame->message);
}

void Cluster::Carry(std::vector<core::TransportAction>& actions) {
  for (core::TransportAction& a : actions) {
    std::visit(
        [&](auto& act) {
          using T = std::decay_t<decltype(act)>;
          if constexpr (std::is_same_v<T, core::Broadcast>) {
            Broadcast(Encode(act.message));
          } else if constexpr (std::is_same_v<T, core::Send>) {
            if (!IsCut(act.endpoint)) Send(act.endpoint, Encode(act.message));
          } else if constexpr (std::is_same_v<T, core::Connect>) {
            const std::string name = NameAtGossip(act.gossip_endpoint);
            if (!transport_.Connect(act.gossip_endpoint, name, KeyOf(name)) && options_.curve &&
                WarnOnce(act.gossip_endpoint))
              spdlog::warn("not subscribing to {}'s gossip at {}: no key in trusted_keys",
                           name.empty() ? "an unknown node" : name, act.gossip_endpoint);
          } else if constexpr (std::is_same_v<T, core::Disconnect>) {
            transport_.Disconnect(act.gossip_endpoint);
          } else if constexpr (std::is_same_v<T, core::Forget>) {
            transport_.Forget(act.rpc_endpoint);
          } else if constexpr (std::is_same_v<T, core::Publish>) {
            const std::string payload = Encode(core::DataMessage(core::DataUpdate{act.update}));
            counters_.gossip_bytes_sent += payload.size();
            transport_.Publish(TopicChannel(act.update.topic), payload);
          } else if constexpr (std::is_same_v<T, core::Watch>) {
            transport_.Subscribe(TopicChannel(act.topic));
          } else {
            static_assert(std::is_same_v<T, core::Unwatch>);
            transport_.Unsubscribe(TopicChannel(act.topic));
          }
        },
        a);
  }
  actions.clear();
}

bool Cluster::IsCut(const std::string& rpc_endpoint) const {
  for (const std::string& peer : cut_) {
    std::optional<core::Membership::Member> member = node_.cluster()->membership().Find(peer);
    if (member && member->claim.rpc_endpoint == rpc_endpoint) return true;
  }
  return false;
}

std::vector<std::string> Cluster::Peers() const {
  std::vector<std::string> peers;
  for (const core::NodeId& id : node_.cluster()->membership().Alive())
    if (id.name != node_.name()) peers.push_back(id.name);
  return peers;
}

bool Cluster::SendAdmin(const std::string& node, const AdminMessage& m) {
  const core::Membership& membership = node_.cluster()->membership();
  std::optional<core::Membership::Member> member = membership.Find(node);
  if (!member || cut_.count(node) || !membership.IsAlive(member->claim.id)) return false;
  Send(member->claim.rpc_endpoint, Encode(m));
  return true;
}

Status Cluster::Cut(Time now, std::set<std::string> peers, core::Actions& out) {
  if (!options_.fault_injection)
    return Status::FailedPrecondition(
        "fault injection is disabled on this node (fault_injection = true in [node] enables it)");
  peers.erase(node_.name());
  std::swap(cut_, peers);
  // A healed peer's frames were dropped while it was cut, its data updates too: as after a
  // relink, this node's streams from it fetch their state.
  for (const std::string& healed : peers) {
    if (cut_.count(healed)) continue;
    if (std::optional<core::Membership::Member> m = node_.cluster()->membership().Find(healed))
      node_.OnPeerRelink(now, m->claim.gossip_endpoint, out);
  }
  spdlog::warn("fault injection: {}", cut_.empty() ? "healed" : "cut off from " + Join(cut_));
  return Status::Ok();
}

void Cluster::Broadcast(const std::string& payload) {
  counters_.gossip_frames_sent++;
  counters_.gossip_bytes_sent += payload.size();
  transport_.Broadcast(payload);
}

void Cluster::Send(const std::string& endpoint, const std::string& payload) {
  counters_.rpc_bytes_sent += payload.size();
  std::string key;
  if (options_.curve && !transport_.has_dealer(endpoint)) {
    key = KeyOf(NameAtRpc(endpoint));
    if (key.empty()) {
      if (WarnOnce(endpoint))
        spdlog::warn("not sending to {}: no key in trusted_keys for the node there", endpoint);
      return;
    }
  }
  transport_.Send(endpoint, payload, key);
}

bool Cluster::WarnOnce(const std::string& endpoint) {
  if (warned_.size() >= 1024) warned_.clear();
  return warned_.insert(endpoint).second;
}

std::string Cluster::NameAtRpc(const std::string& endpoint) const {
  for (const core::Membership::Member& m : node_.cluster()->membership().Members())
    if (m.claim.rpc_endpoint == endpoint) return m.claim.id.name;
  if (auto it = joiners_.find(endpoint); it != joiners_.end()) return it->second;
  if (auto it = options_.seed_names.find(endpoint); it != options_.seed_names.end())
    return it->second;
  return "";
}

std::string Cluster::NameAtGossip(const std::string& endpoint) const {
  for (const core::Membership::Member& m : node_.cluster()->membership().Members())
    if (m.claim.gossip_endpoint == endpoint) return m.claim.id.name;
  return "";
}

std::string Cluster::KeyOf(const std::string& name) const {
  if (name.empty() || !options_.keys) return "";
  std::shared_ptr<const KeySets> keys = options_.keys();
  if (!keys) return "";
  auto it = keys->nodes.find(name);
  return it == keys->nodes.end() ? "" : it->second;
}

namespace {

// What the identity rule needs of a message: the node it says it comes from (its `sender`,
// `origin`, a heartbeat's or join's `self`, an update's `owner`), the socket its type travels on,
// and whether only members may send it.
struct Claimed {
  std::string name;
  bool gossip = false;
  bool members_only = false;
};

template <typename T>
void Describe(const T& m, Claimed& c) {
  if constexpr (requires { m.origin.name; }) {
    c.name = m.origin.name;
  } else if constexpr (requires { m.from.name; }) {
    c.name = m.from.name;
  } else if constexpr (requires { m.self.id.name; }) {
    c.name = m.self.id.name;
  } else if constexpr (requires { m.update.owner; }) {
    c.name = m.update.owner;
  }
  using core::ClaimEntry;
  using core::PresenceEntry;
  c.gossip = std::is_same_v<T, core::Heartbeat> || std::is_same_v<T, core::LeaveNotice> ||
             std::is_same_v<T, core::ReplicaDelta<PresenceEntry>> ||
             std::is_same_v<T, core::ReplicaDelta<ClaimEntry>> ||
             std::is_same_v<T, core::ReplicaClock> || std::is_same_v<T, core::DataUpdate>;
}

Claimed Describe(const ClusterMessage& message) {
  Claimed c;
  std::visit(
      [&](const auto& group) {
        using G = std::decay_t<decltype(group)>;
        std::visit(
            [&](const auto& m) {
              using T = std::decay_t<decltype(m)>;
              if constexpr (std::is_same_v<T, core::ClaimsMessage>) {
                std::visit([&](const auto& inner) { Describe(inner, c); }, m.m);
              } else {
                Describe(m, c);
              }
            },
            group);
        c.members_only = std::is_same_v<G, DataMessage> || std::is_same_v<G, AdminMessage>;
      },
      message);
  return c;
}

}  // namespace

bool Cluster::Admit(const ClusterTransport::Frame& f, const ClusterFrame& frame) {
  const Claimed c = Describe(frame.message);
  if (c.gossip != (f.from == ClusterTransport::Frame::From::kGossip)) {
    counters_.cluster_frames_wrong_socket++;
    spdlog::debug("cluster frame from {} on the wrong socket (a {} type on {})", f.peer,
                  c.gossip ? "gossip" : "rpc", c.gossip ? "rpc" : "gossip");
    return false;
  }
  // The key that made the connection is the identity: the envelope and the body must name it.
  if (f.peer.empty() || frame.from != f.peer || c.name != f.peer) {
    counters_.cluster_frames_forged++;
    spdlog::debug("dropped a cluster frame from node '{}' claiming to be '{}' ('{}' in its body)",
                  f.peer, frame.from, c.name);
    return false;
  }
  // Members this node knows and that have not left: a dead verdict may be stale (a node just back
  // from SIGSTOP or a partition asks its owners for snapshots before they have heard it refute;
  // dropping those asks left its watchers stale until the data changed again: the chaos soak,
  // seed 103), and the key already proves who sent it.
  if (c.members_only) {
    std::optional<core::Membership::Member> m = node_.cluster()->membership().Find(f.peer);
    if (!m || m->claim.state == core::MemberState::kLeft) {
      counters_.cluster_frames_not_member++;
      return false;
    }
  }
  if (const auto* mm = std::get_if<core::MembershipMessage>(&frame.message)) {
    if (const auto* join = std::get_if<core::JoinRequest>(mm)) {
      if (joiners_.size() >= 1024) joiners_.clear();
      joiners_[join->self.rpc_endpoint] = f.peer;
    }
  }
  return true;
}

}  // namespace livepoll::net
