#include "net/admin_zombies.h"

#include <algorithm>
#include <set>

#include "core/placement.h"

namespace livepoll::net {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

Value Ms(std::optional<Duration> d) {
  if (!d) return Value(Null{});
  return Value(static_cast<int64_t>(duration_cast<milliseconds>(*d).count()));
}

std::string Claim(const core::Claim& c) { return c.owner.name + "@" + std::to_string(c.epoch); }

std::vector<core::Claim> VisibleClaims(const Cluster& cluster, const std::string& topic) {
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

std::vector<Zombie> Zombies(const AdminScope& s) {
  std::vector<Zombie> zombies;
  if (s.cluster) {
    for (core::RegistryZombie& z : s.cluster->registry().Zombies(s.now))
      zombies.push_back({z.node, z.topic, z.reason, z.age, z.detail});
  }
  for (core::StalledPoller& p : s.subs.Stalled(s.now, s.stall_after))
    zombies.push_back({s.node, p.topic, "stalled", p.age, p.detail});
  std::sort(zombies.begin(), zombies.end(), [](const Zombie& a, const Zombie& b) {
    return std::tie(a.topic, a.reason, a.node) < std::tie(b.topic, b.reason, b.node);
  });
  return zombies;
}

}  // namespace

proto::AdminReply ListZombies(const AdminScope& s) {
  proto::AdminReply r;
  r.columns = {"node", "topic", "reason", "age_ms", "detail"};
  for (const Zombie& z : Zombies(s)) r.rows.push_back({z.node, z.topic, z.reason, Ms(z.age), z.detail});
  return r;
}

proto::AdminReply ReapTopics(const AdminScope& s, const proto::Params& args, core::Outputs& out) {
  proto::AdminReply r;
  r.columns = {"node", "topic", "action", "detail"};
  const bool dry_run = Flag(args, "dry_run"), force = Flag(args, "force");
  const std::vector<Zombie> all = Zombies(s);
  std::set<std::string> seen;
  for (const auto& [key, topic] : args) {
    if (key != "topic" || !seen.insert(topic).second) continue;
    // `topic` captured by name: clang before 16 (the fuzz build) cannot capture a binding.
    auto row = [&, &topic = topic](const std::string& action, const std::string& detail) {
      r.rows.push_back({s.node, topic, action, detail});
    };
    // This node's part of the topic's zombies: its own pollers' (idle, orphan, stalled), and the
    // claims its replica holds (dead-owner, clash).
    std::set<std::string> reasons;
    std::string why;
    for (const Zombie& z : all) {
      if (z.topic != topic) continue;
      if (z.node != s.node && z.reason != "dead-owner" && z.reason != "clash") continue;
      if (!reasons.insert(z.reason).second) continue;
      why += (why.empty() ? "" : "; ") + z.reason + " (" + z.detail + ")";
    }
    const std::map<std::string, uint64_t> running = s.subs.RunningPollers();
    const auto poller = running.find(topic);
    const bool own = s.cluster && s.cluster->registry().OwnClaims().count(topic);
    bool known = poller != running.end() || own;
    if (s.cluster) {
      known |= s.cluster->registry().Topics().count(topic) > 0 ||
               s.cluster->presence().SubscriberCount(topic) > 0;
    }
    for (const core::TopicInfo& t : s.subs.Topics(s.now)) known |= t.topic == topic;

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
    if (reasons.count("clash") && s.cluster) {
      // The claimant Owner() names stays (under `manual` too: as `oldest` would choose), so that
      // every node that reaps picks the same.
      std::optional<core::Claim> keep = s.cluster->registry().Owner(topic);
      const bool had = own;
      if (keep && s.cluster->Resolve(s.now, topic, keep->owner.name, core::ClashPolicy::kOldest, out).ok() &&
          had && !s.cluster->registry().OwnClaims().count(topic))
        done.push_back("released its claim, clash resolved for " + Claim(*keep));
    }
    const bool release = force || reasons.count("idle") || reasons.count("stalled");
    if (s.cluster) {
      for (std::string& d : s.cluster->Reap(s.now, topic, release, out)) done.push_back(std::move(d));
    } else if (release && poller != running.end()) {
      // Standalone: a fresh poller at a new epoch, for the subscribers still there.
      s.subs.StopPoller(s.now, topic, out);
      if (s.subs.StartPoller(s.now, topic, poller->second + 1, out).ok())
        done.push_back("restarted its poller at epoch " + std::to_string(poller->second + 1));
      else
        done.push_back("stopped its poller");
    }
    if (done.empty()) {
      row("none", why);
      continue;
    }
    std::string what;
    for (const std::string& d : done) what += (what.empty() ? "" : "; ") + d;
    row("reaped", why + ": " + what);
  }
  return r;
}

Result<proto::AdminReply> PlanResolve(const AdminScope& s, const proto::Params& args,
                                      proto::Params* peer_args) {
  proto::AdminReply plan;
  plan.columns = {"topic", "winner", "loser", "result"};
  std::optional<std::string> keep;
  std::string policy = "oldest";
  bool all = false;
  std::vector<std::string> topics;
  for (const auto& [k, v] : args) {
    if (k == "topic") topics.push_back(v);
    else if (k == "all") all = v != "0";
    else if (k == "keep") keep = v;
    else if (k == "policy") policy = v;
  }
  if (policy != "oldest" && policy != "hashed")
    return Status::InvalidArgument("resolve: policy must be oldest or hashed, not '" + policy + "'");
  if (all && s.cluster) {
    for (const std::string& t : s.cluster->registry().Clashes()) topics.push_back(t);
  }
  std::set<std::string> seen;
  for (const std::string& topic : topics) {
    if (!seen.insert(topic).second) continue;
    std::vector<core::Claim> visible;
    if (s.cluster) visible = VisibleClaims(*s.cluster, topic);
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
    } else if (policy == "hashed") {
      std::vector<std::string> names;
      for (const core::Claim& c : visible) names.push_back(c.owner.name);
      const std::string first = core::RendezvousOrder(topic, names).front();
      for (const core::Claim& c : visible)
        if (c.owner.name == first) winner = c;
    } else {
      winner = *std::min_element(visible.begin(), visible.end(),
                                 [](const core::Claim& a, const core::Claim& b) {
                                   return std::tie(a.epoch, a.owner.name) <
                                          std::tie(b.epoch, b.owner.name);
                                 });
    }
    peer_args->emplace_back("topic", topic);
    peer_args->emplace_back("winner", winner->owner.name);
    for (const core::Claim& c : visible)
      if (c.owner != winner->owner) plan.rows.push_back({topic, Claim(*winner), Claim(c), std::string()});
  }
  return plan;
}

proto::AdminReply ResolveClashes(const AdminScope& s, const proto::Params& args,
                                 core::Outputs& out) {
  proto::AdminReply r;
  r.columns = {"node", "topic", "action", "detail"};
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i].first != "topic" || args[i + 1].first != "winner") continue;
    const std::string& topic = args[i].second;
    const std::string& winner = args[i + 1].second;
    if (s.cluster == nullptr) {
      r.rows.push_back({s.node, topic, std::string("no-clash"), std::string("a standalone node")});
      continue;
    }
    const bool had = s.cluster->registry().OwnClaims().count(topic) > 0;
    Status st = s.cluster->Resolve(s.now, topic, winner, core::ClashPolicy::kOldest, out);
    const bool has = s.cluster->registry().OwnClaims().count(topic) > 0;
    std::string action = !st.ok()  ? (st.code() == Status::Code::kNotFound ? "no-clash" : "error")
                         : had && !has ? "released"
                         : has         ? "kept"
                                       : "none";
    r.rows.push_back({s.node, topic, action, st.ok() ? "kept " + winner : st.message()});
  }
  return r;
}

}  // namespace livepoll::net
