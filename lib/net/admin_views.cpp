// The admin views of the cluster: `livepoll subs` and `livepoll members` (admin_commands.h).
#include <map>
#include <set>

#include "livepoll/strings.h"
#include "net/admin_commands.h"

namespace livepoll::net {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

Value Int(uint64_t n) { return Value(static_cast<int64_t>(n)); }
Value Ms(Duration d) { return Value(static_cast<int64_t>(duration_cast<milliseconds>(d).count())); }

}  // namespace

proto::AdminReply SubsView(const AdminContext& ctx) {
  proto::AdminReply r;
  // subscribers: this node's. In a cluster, every topic the registry or presence knows of, with
  // its owner and epoch (the registry's), cluster_subscribers and nodes (presence's), and claims:
  // every claim "node@epoch", marked "(down)" while its owner is down.
  r.columns = {"topic", "owner",  "epoch",        "seq",   "subscribers",
               "polls", "errors", "last_poll_ms", "state", "cluster_subscribers",
               "nodes", "claims"};
  std::map<std::string, core::TopicInfo> local;
  for (core::TopicInfo& t : ctx.node.subscriptions().Topics(ctx.now))
    local.emplace(t.topic, std::move(t));
  std::set<std::string> topics;
  for (const auto& [topic, info] : local) topics.insert(topic);
  std::set<std::string> clashes;
  const core::ClusterState* cluster = ctx.node.cluster();
  if (cluster) {
    for (const std::string& t : cluster->presence().Topics()) topics.insert(t);
    for (const std::string& t : cluster->registry().Topics()) topics.insert(t);
    for (const std::string& t : cluster->registry().Clashes()) clashes.insert(t);
  }
  const Value null{Null{}};
  for (const std::string& topic : topics) {
    auto info = local.find(topic);
    const core::TopicInfo* t = info == local.end() ? nullptr : &info->second;
    Row row = {topic,
               null,
               null,
               t ? Int(t->seq) : null,
               Int(t ? t->subscribers : 0),
               t && t->polling ? Int(t->polls) : null,
               t && t->polling ? Int(t->errors) : null,
               t && t->since_last_poll ? Ms(*t->since_last_poll) : null,
               null,
               null,
               null,
               null};
    std::string state = t ? t->state : "";
    if (!cluster) {
      row[1] = t->owner;
      row[2] = Int(t->epoch);
      row[8] = state;
      r.rows.push_back(std::move(row));
      continue;
    }
    const core::Registry& reg = cluster->registry();
    std::optional<core::Claim> owner = reg.Owner(topic);
    if (owner) {
      row[1] = owner->owner.name;
      row[2] = Int(owner->epoch);
    }
    std::vector<std::string> claims;
    bool hidden = false;
    for (const core::Claim& c : reg.Claims(topic)) {
      claims.push_back(c.owner.name + "@" + std::to_string(c.epoch) + (c.visible ? "" : "(down)"));
      hidden |= !c.visible;
    }
    const size_t everyone = cluster->presence().SubscriberCount(topic);
    if (clashes.count(topic))
      state = "clash";
    else if (state.empty())
      state = owner ? "remote" : hidden ? "dead-owner" : everyone ? "ownerless" : "idle";
    row[8] = state;
    std::vector<std::string> nodes;
    for (const auto& [node, n] : cluster->presence().SubscribersByNode(topic))
      nodes.push_back(node + "=" + std::to_string(n));
    row[9] = Int(everyone);
    row[10] = Join(nodes);
    row[11] = Join(claims);
    r.rows.push_back(std::move(row));
  }
  return r;
}

proto::AdminReply MembersView(const AdminContext& ctx) {
  proto::AdminReply r;
  // seed, answer: the seeds this node was given and what each answered. A seed met as a member
  // is on that member's row ("joined", or "this node" on its own); one not met has a row of its
  // own, state "seed", with its endpoint and its answer ("no answer", "refused: ...").
  r.columns = {"name",          "incarnation", "gossip_endpoint",
               "rpc_endpoint",  "state",       "version",
               "last_heard_ms", "seed",        "answer"};
  const Value null{Null{}};
  const core::ClusterState* cluster = ctx.node.cluster();
  if (!cluster) {  // a standalone node is a cluster of one
    r.rows.push_back(
        {ctx.node.name(), null, null, null, std::string("alive"), null, null, null, null});
    return r;
  }
  const core::Membership& membership = cluster->membership();
  std::map<std::string, std::vector<const core::SeedStatus*>> met;  // member name -> its seeds
  std::vector<const core::SeedStatus*> unmet;
  for (const core::SeedStatus& seed : membership.Seeds()) {
    using A = core::SeedStatus::Answer;
    const std::string name = seed.answer == A::kSelf     ? membership.self().name
                             : seed.answer == A::kJoined ? seed.node
                                                         : "";
    if (!name.empty() && membership.Find(name))
      met[name].push_back(&seed);
    else
      unmet.push_back(&seed);
  }
  for (const core::Membership::Member& m : membership.Members()) {
    const bool self = m.claim.id == membership.self();
    Row row = {m.claim.id.name,
               Int(m.claim.id.incarnation),
               m.claim.gossip_endpoint,
               m.claim.rpc_endpoint,
               std::string(core::MemberStateName(m.claim.state)),
               Int(m.claim.version),
               self           ? Int(0)
               : m.last_heard ? Ms(ctx.now - *m.last_heard)
                              : null,
               null,
               null};
    if (auto it = met.find(m.claim.id.name); it != met.end()) {
      std::vector<std::string> endpoints;
      for (const core::SeedStatus* seed : it->second) endpoints.push_back(seed->endpoint);
      row[7] = Join(endpoints);
      row[8] = core::SeedAnswerText(*it->second.front());
    }
    r.rows.push_back(std::move(row));
  }
  for (const core::SeedStatus* seed : unmet) {
    std::string answer = core::SeedAnswerText(*seed);
    if (seed->answer == core::SeedStatus::Answer::kJoined)
      answer += " " + seed->node + ", since forgotten";
    r.rows.push_back({null, null, null, seed->endpoint, std::string("seed"), null, null,
                      seed->endpoint,
                      answer + " (asked " + std::to_string(seed->asked) + " times)"});
  }
  return r;
}

}  // namespace livepoll::net
