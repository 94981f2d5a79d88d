#include "net/admin_zombies.h"

#include <algorithm>
#include <set>

#include "core/claims.h"
#include "livepoll/strings.h"

namespace livepoll::net {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

Value Ms(std::optional<Duration> d) {
  if (!d) return Value(Null{});
  return Value(static_cast<int64_t>(duration_cast<milliseconds>(*d).count()));
}

std::string Claim(const core::Claim& c) { return c.owner.name + "@" + std::to_string(c.epoch); }

std::vector<core::Claim> VisibleClaims(const core::ClusterState& cluster,
                                       const std::string& topic) {
  std::vector<core::Claim> v = cluster.registry().Claims(topic);
  std::erase_if(v, [](const core::Claim& c) { return !c.visible; });
  return v;
}

bool Flag(const proto::Params& args, const char* key) {
  for (const auto& [k, v] : args)
    if (k == key) return v != "0" && v != "false";
  return false;
}

struct Zombie {
  std::string node, topic, reason;
  std::optional<Duration> age;
  std::string detail;
};

std::vector<Zombie> Zombies(const AdminContext& ctx) {
  std::vector<Zombie> zombies;
  if (const core::ClusterState* cluster = ctx.node.cluster()) {
    for (core::RegistryZombie& z : cluster->registry().Zombies(ctx.now))
      zombies.push_back({z.node, z.topic, z.reason, z.age, z.detail});
  }
  for (core::StalledPoller& p : ctx.node.subscriptions().Stalled(ctx.now, ctx.stall_after))
    zombies.push_back({ctx.node.name(), p.topic, "stalled", p.age, p.detail});
  std::sort(zombies.begin(), zombies.end(), [](const Zombie& a, const Zombie& b) {
    return std::tie(a.topic, a.reason, a.node) < std::tie(b.topic, b.reason, b.node);
  });
  return zombies;
}

}  // namespace

proto::AdminReply ListZombies(const AdminContext& ctx) {
  proto::AdminReply r;
  r.columns = {"node", "topic", "reason", "age_ms", "detail"};
  for (const Zombie& z : Zombies(ctx))
    r.rows.push_back({z.node, z.topic, z.reason, Ms(z.age), z.detail});
  return r;
}

proto::AdminReply ReapTopics(AdminContext& ctx, const proto::Params& args) {
  proto::AdminReply r;
  r.columns = {"node", "topic", "action", "detail"};
  const bool dry_run = Flag(args, "dry_run"), force = Flag(args, "force");
  const std::vector<Zombie> all = Zombies(ctx);
  const std::string& self = ctx.node.name();
  const core::ClusterState* cluster = ctx.node.cluster();
  std::set<std::string> seen;
  for (const auto& [key, topic] : args) {
    if (key != "topic" || !seen.insert(topic).second) continue;
    // `topic` captured by name: clang before 16 (the fuzz build) cannot capture a binding.
    auto row = [&, &topic = topic](const std::string& action, const std::string& detail) {
      r.rows.push_back({self, topic, action, detail});
    };
    // This node's part of the topic's zombies: its own pollers' (idle, orphan, stalled), and the
    // claims its replica holds (dead-owner, clash).
    std::set<std::string> reasons;
    std::vector<std::string> whys;
    for (const Zombie& z : all) {
      if (z.topic != topic) continue;
      if (z.node != self && z.reason != "dead-owner" && z.reason != "clash") continue;
      if (!reasons.insert(z.reason).second) continue;
      whys.push_back(z.reason + " (" + z.detail + ")");
    }
    std::string why = Join(whys, "; ");
    const std::map<std::string, uint64_t> running = ctx.node.subscriptions().RunningPollers();
    const auto poller = running.find(topic);
    const bool own = cluster && cluster->registry().OwnClaims().count(topic);
    bool known = poller != running.end() || own;
    if (cluster) {
      known |= cluster->registry().Topics().count(topic) > 0 ||
               cluster->presence().SubscriberCount(topic) > 0;
    }
    for (const core::TopicInfo& t : ctx.node.subscriptions().Topics(ctx.now))
      known |= t.topic == topic;

    if (reasons.empty()) {
      if ((poller != running.end() || own) && !force) {
        row("refused", "a healthy poller (epoch " +
                           std::to_string(poller != running.end() ? poller->second : 0) +
                           "): not a zombie; --force reaps it anyway");
        continue;
      }
      if (poller == running.end() && !own) {
        row(known ? "none" : "unknown", "");
        continue;
      }
      why = "forced";
    }
    if (dry_run) {
      row("would-reap", why);
      continue;
    }
    std::vector<std::string> done;
    if (reasons.count("clash") && cluster) {
      // The claimant Owner() names stays (under `manual` too: as `oldest` would choose), so that
      // every node that reaps picks the same.
      std::optional<core::Claim> keep = cluster->registry().Owner(topic);
      const bool had = own;
      if (keep &&
          ctx.node.Resolve(ctx.now, topic, keep->owner.name, core::ClashPolicy::kOldest, ctx.out)
              .ok() &&
          had && !cluster->registry().OwnClaims().count(topic))
        done.push_back("released its claim, clash resolved for " + Claim(*keep));
    }
    // Standalone, a release restarts the poller at a new epoch for the subscribers still there.
    const bool release = force || reasons.count("idle") || reasons.count("stalled");
    for (std::string& d : ctx.node.Reap(ctx.now, topic, release, ctx.out))
      done.push_back(std::move(d));
    if (done.empty()) {
      row("none", why);
      continue;
    }
    row("reaped", why + ": " + Join(done, "; "));
  }
  return r;
}

Result<proto::AdminReply> PlanResolve(const AdminContext& ctx, const proto::Params& args,
                                      proto::Params* peer_args) {
  const core::ClusterState* cluster = ctx.node.cluster();
  proto::AdminReply plan;
  plan.columns = {"topic", "winner", "loser", "result"};
  std::optional<std::string> keep;
  std::optional<core::ClashPolicy> policy = core::ClashPolicy::kOldest;
  std::string policy_name;
  bool all = false;
  std::vector<std::string> topics;
  for (const auto& [k, v] : args) {
    if (k == "topic")
      topics.push_back(v);
    else if (k == "all")
      all = v != "0";
    else if (k == "keep")
      keep = v;
    else if (k == "policy")
      policy = core::ParseClashPolicy(policy_name = v);
  }
  // `manual` chooses no winner: the operator names one with keep.
  if (!policy || *policy == core::ClashPolicy::kManual)
    return Status::InvalidArgument("resolve: policy must be oldest or hashed, not '" + policy_name +
                                   "'");
  if (all && cluster) {
    for (const std::string& t : cluster->registry().Clashes()) topics.push_back(t);
  }
  std::set<std::string> seen;
  for (const std::string& topic : topics) {
    if (!seen.insert(topic).second) continue;
    std::vector<core::Claim> visible;
    if (cluster) visible = VisibleClaims(*cluster, topic);
    if (visible.size() < 2) {
      plan.rows.push_back({topic, Value(Null{}), std::string(), std::string("no-clash")});
      continue;
    }
    std::optional<core::Claim> winner;
    if (keep) {
      for (const core::Claim& c : visible)
        if (c.owner.name == *keep) winner = c;
      if (!winner) {
        plan.rows.push_back({topic, Value(Null{}), std::string(),
                             "error: " + *keep + " does not claim this topic"});
        continue;
      }
    } else {
      winner = core::Winner(topic, visible, *policy);
    }
    peer_args->emplace_back("topic", topic);
    peer_args->emplace_back("winner", winner->owner.name);
    for (const core::Claim& c : visible)
      if (c.owner != winner->owner)
        plan.rows.push_back({topic, Claim(*winner), Claim(c), std::string()});
  }
  return plan;
}

proto::AdminReply ResolveClashes(AdminContext& ctx, const proto::Params& args) {
  const core::ClusterState* cluster = ctx.node.cluster();
  const std::string& self = ctx.node.name();
  proto::AdminReply r;
  r.columns = {"node", "topic", "action", "detail"};
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i].first != "topic" || args[i + 1].first != "winner") continue;
    const std::string& topic = args[i].second;
    const std::string& winner = args[i + 1].second;
    if (cluster == nullptr) {
      r.rows.push_back({self, topic, std::string("no-clash"), std::string("a standalone node")});
      continue;
    }
    const bool had = cluster->registry().OwnClaims().count(topic) > 0;
    Status st = ctx.node.Resolve(ctx.now, topic, winner, core::ClashPolicy::kOldest, ctx.out);
    const bool has = cluster->registry().OwnClaims().count(topic) > 0;
    std::string action = !st.ok() ? (st.code() == Status::Code::kNotFound ? "no-clash" : "error")
                         : had && !has ? "released"
                         : has         ? "kept"
                                       : "none";
    r.rows.push_back({self, topic, action, st.ok() ? "kept " + winner : st.message()});
  }
  return r;
}

}  // namespace livepoll::net
