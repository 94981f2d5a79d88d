#include "core/presence_feed.h"

#include <algorithm>
#include <tuple>

namespace livepoll::core {
namespace {

std::vector<PresenceItem> Sorted(const std::map<std::string, PresenceItem>& by_ref) {
  std::vector<PresenceItem> items;
  items.reserve(by_ref.size());
  for (const auto& [ref, item] : by_ref) items.push_back(item);
  std::sort(items.begin(), items.end(), [](const PresenceItem& a, const PresenceItem& b) {
    return std::tie(a.key, a.ref) < std::tie(b.key, b.ref);
  });
  return items;
}

}  // namespace

void PresenceFeed::Follow(const std::string& topic, ClientId client,
                          const std::vector<PresenceItem>& visible,
                          std::vector<PresenceDelivery>& out) {
  auto [it, fresh] = topics_.try_emplace(topic);
  Topic& t = it->second;
  if (fresh)
    for (const PresenceItem& item : visible) t.shown.emplace(item.ref, item);
  t.followers.insert(client);
  out.push_back(PresenceDelivery{{client}, topic, true, Sorted(t.shown), {}});
}

void PresenceFeed::Unfollow(const std::string& topic, ClientId client) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  it->second.followers.erase(client);
  if (it->second.followers.empty()) topics_.erase(it);
}

void PresenceFeed::Apply(const std::vector<PresenceChange>& changes,
                         std::vector<PresenceDelivery>& out) {
  struct Diff {
    std::map<std::string, PresenceItem> joins, leaves;  // by ref
  };
  std::map<std::string, Diff> diffs;  // by topic
  for (const PresenceChange& c : changes) {
    auto it = topics_.find(c.topic);
    if (it == topics_.end()) continue;
    std::map<std::string, PresenceItem>& shown = it->second.shown;
    Diff& d = diffs[c.topic];
    if (c.visible) {
      if (!shown.emplace(c.item.ref, c.item).second) continue;  // told already
      if (d.leaves.erase(c.item.ref) == 0) d.joins.emplace(c.item.ref, c.item);
    } else {
      auto s = shown.find(c.item.ref);
      if (s == shown.end()) continue;  // never told
      shown.erase(s);
      if (d.joins.erase(c.item.ref) == 0) d.leaves.emplace(c.item.ref, c.item);
    }
  }
  for (auto& [topic, d] : diffs) {
    if (d.joins.empty() && d.leaves.empty()) continue;
    const Topic& t = topics_.at(topic);
    out.push_back(PresenceDelivery{
        {t.followers.begin(), t.followers.end()}, topic, false, Sorted(d.joins), Sorted(d.leaves)});
  }
}

}  // namespace livepoll::core
