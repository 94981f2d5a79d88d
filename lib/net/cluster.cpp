#include "net/cluster.h"

#include <spdlog/spdlog.h>

#include "net/cluster_codec.h"

namespace livepoll::net {

Cluster::Cluster(zmq::context_t& ctx, ClusterOptions options,
                 std::map<std::string, uint64_t>& counters)
    : options_(std::move(options)),
      counters_(counters),
      transport_(ctx),
      membership_(core::MemberClaim{options_.self, "", "", core::MemberState::kAlive, 0},
                  options_.membership),
      presence_(options_.self, options_.presence) {
  for (const char* name : {"cluster_frames_malformed", "cluster_frames_foreign",
                           "cluster_frames_unknown", "members_down", "gossip_bytes_sent",
                           "gossip_frames_sent", "rpc_bytes_sent"})
    counters_[name] = 0;
}

Status Cluster::Start(Time now) {
  if (Status s = transport_.Bind(options_.gossip_bind, options_.rpc_bind, options_.advertise_host);
      !s.ok())
    return s;
  // The claim needs the real endpoints, known only once bound.
  membership_ = core::Membership(
      core::MemberClaim{options_.self, transport_.gossip_endpoint(), transport_.rpc_endpoint(),
                        core::MemberState::kAlive, 0},
      options_.membership);
  core::MembershipOutputs out;
  membership_.Start(now, options_.seeds, out);
  Carry(now, out);
  spdlog::info("cluster '{}': node {} gossips at {}, rpc at {}{}", options_.cluster,
               options_.self.ToString(), transport_.gossip_endpoint(), transport_.rpc_endpoint(),
               options_.seeds.empty() ? ", first node" : ", joining");
  return Status::Ok();
}

void Cluster::OnReadable(Time now) {
  for (int i = 0; i < 1000; ++i) {  // bounded, like the Server's other sockets
    std::optional<ClusterTransport::Frame> f = transport_.Receive();
    if (!f) break;
    Handle(now, f->payload);
  }
  for (const std::string& endpoint : transport_.TakeDisconnects()) {
    for (const auto& m : membership_.Members()) {
      if (m.claim.gossip_endpoint != endpoint) continue;
      core::MembershipOutputs out;
      membership_.OnDisconnect(now, m.claim.id, out);
      Carry(now, out);
    }
  }
}

void Cluster::Handle(Time now, const std::string& payload) {
  Result<ClusterMessage> msg = DecodeCluster(payload, options_.cluster);
  if (!msg.ok()) {
    const Status& s = msg.status();
    counters_[s.code() == Status::Code::kIncompatible  ? "cluster_frames_foreign"
              : s.code() == Status::Code::kInvalidArgument ? "cluster_frames_unknown"
                                                           : "cluster_frames_malformed"]++;
    spdlog::debug("cluster frame refused: {}", s.ToString());
    return;
  }
  if (auto* m = std::get_if<core::MembershipMessage>(&*msg)) {
    core::MembershipOutputs out;
    membership_.OnMessage(now, *m, out);
    Carry(now, out);
  } else {
    const auto& pm = std::get<core::PresenceMessage>(*msg);
    if (!membership_.IsAlive(core::SenderOf(pm))) return;  // see SenderOf
    core::PresenceOutputs out;
    presence_.OnMessage(now, pm, out);
    Carry(out);
  }
}

void Cluster::Tick(Time now) {
  core::MembershipOutputs mout;
  membership_.Tick(now, mout);
  Carry(now, mout);
  core::PresenceOutputs pout;
  presence_.Tick(now, pout);
  Carry(pout);
}

Time Cluster::NextDeadline() const {
  return std::min(membership_.NextDeadline(), presence_.NextDeadline());
}

void Cluster::Leave(Time now) {
  core::MembershipOutputs out;
  membership_.Leave(now, out);
  Carry(now, out);
}

void Cluster::Subscribed(Time now, const std::string& topic, core::ClientId client) {
  core::PresenceOutputs out;
  presence_.Join(now, {topic, client}, out);
  Carry(out);
}

void Cluster::Unsubscribed(Time now, const std::string& topic, core::ClientId client) {
  core::PresenceOutputs out;
  presence_.Leave(now, {topic, client}, out);
  Carry(out);
}

void Cluster::Carry(Time now, core::MembershipOutputs& out) {
  for (const std::string& e : out.connect) transport_.Connect(e);
  for (const std::string& e : out.disconnect) transport_.Disconnect(e);
  for (const auto& m : out.broadcasts) Broadcast(EncodeCluster(options_.cluster, m));
  for (const auto& [endpoint, m] : out.sends) Send(endpoint, EncodeCluster(options_.cluster, m));
  core::PresenceOutputs pout;
  for (const core::MembershipEvent& e : out.events) {
    using K = core::MembershipEvent::Kind;
    const std::string node = e.node.ToString();
    switch (e.kind) {
      case K::kJoined: spdlog::info("joined the cluster"); break;
      case K::kJoinRefused:
        refusal_ = e.detail;  // Server::Run ends with it and the daemon reports it
        break;
      case K::kUp:
        spdlog::info("member up: {}", node);
        presence_.OnMemberUp(now, e.node, pout);
        break;
      case K::kSuspect: spdlog::info("member suspect: {}", node); break;
      case K::kAlive: spdlog::info("member alive again: {}", node); break;
      case K::kDown:
        counters_["members_down"]++;
        spdlog::warn("member down: {} ({})", node, e.detail);
        presence_.OnMemberDown(now, e.node, pout);
        break;
      case K::kForgotten: spdlog::info("member forgotten: {}", node); break;
    }
  }
  Carry(pout);
}

void Cluster::Carry(core::PresenceOutputs& out) {
  for (const auto& m : out.broadcasts) Broadcast(EncodeCluster(options_.cluster, m));
  for (const auto& [node, m] : out.sends) {
    std::optional<core::Membership::Member> member = membership_.Find(node.name);
    if (member && member->claim.id == node)
      Send(member->claim.rpc_endpoint, EncodeCluster(options_.cluster, m));
  }
}

void Cluster::Broadcast(const std::string& payload) {
  counters_["gossip_frames_sent"]++;
  counters_["gossip_bytes_sent"] += payload.size();
  transport_.Broadcast(payload);
}

void Cluster::Send(const std::string& endpoint, const std::string& payload) {
  counters_["rpc_bytes_sent"] += payload.size();
  transport_.Send(endpoint, payload);
}

}  // namespace livepoll::net
