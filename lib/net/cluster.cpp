#include "net/cluster.h"

#include <spdlog/spdlog.h>

#include "livepoll/strings.h"

namespace livepoll::net {

Cluster::Cluster(zmq::context_t& ctx, ClusterOptions options, core::Node& node)
    : options_(std::move(options)),
      node_(node),
      counters_(node.counters()),
      transport_(ctx, options_.max_message_size) {}

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
    Handle(now, f->payload, out);
  }
  for (const std::string& endpoint : transport_.TakeDisconnects())
    node_.OnPeerDisconnect(now, endpoint, out);
}

void Cluster::Handle(Time now, const std::string& payload, core::Actions& out) {
  Result<ClusterFrame> frame = DecodeCluster(payload, options_.cluster);
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
            transport_.Connect(act.gossip_endpoint);
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

Status Cluster::Cut(std::set<std::string> peers) {
  if (!options_.fault_injection)
    return Status::FailedPrecondition(
        "fault injection is disabled on this node (fault_injection = true in [node] enables it)");
  peers.erase(node_.name());
  cut_ = std::move(peers);
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
  transport_.Send(endpoint, payload);
}

}  // namespace livepoll::net
