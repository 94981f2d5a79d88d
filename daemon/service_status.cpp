#include "daemon/service_status.h"

#include <set>

#include "core/topic.h"

namespace livepoll::daemon {

std::string ServiceStatusLine(const core::Node& node, Time now) {
  const core::Subscriptions& subs = node.subscriptions();
  std::string line;
  if (const core::ClusterState* cluster = node.cluster(); cluster != nullptr) {
    size_t known = 0;
    for (const core::Membership::Member& m : cluster->membership().Members())
      known += m.claim.state != core::MemberState::kLeft ? 1 : 0;
    line = "cluster: " + std::to_string(cluster->membership().Alive().size()) + "/" +
           std::to_string(known) + " members up, ";
  } else {
    line = "standalone: ";
  }
  line += std::to_string(subs.topic_count()) + " topics, " +
          std::to_string(subs.subscription_count()) + " subscribers, ";

  std::set<std::string> failing;
  const core::Catalog& catalog = subs.catalog();
  for (const core::TopicInfo& t : subs.Topics(now)) {
    if (t.state != "error") continue;
    Result<core::ParsedTopic> parsed = core::ParseTopic(t.topic);
    if (!parsed.ok()) continue;
    if (auto q = catalog.queries.find(parsed->query); q != catalog.queries.end())
      failing.insert(q->second.source);
  }
  if (failing.empty()) return line + "no source failing";
  line += "sources failing: ";
  for (auto it = failing.begin(); it != failing.end(); ++it)
    line += (it == failing.begin() ? "" : ", ") + *it;
  return line;
}

}  // namespace livepoll::daemon
