#include "net/metrics.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "core/topic.h"

namespace livepoll::net {
namespace {

// A sample's value as the text format writes it: Go's float syntax; +Inf for infinity.
std::string Number(double v) {
  if (v == std::numeric_limits<double>::infinity()) return "+Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

class Writer {
 public:
  explicit Writer(const std::string& node)
      : node_label_("node=\"" + EscapeLabelValue(node) + "\"") {}

  void Family(const std::string& name, const char* type, const std::string& help) {
    out_ += "# HELP " + name + " " + EscapeHelp(help) + "\n";
    out_ += "# TYPE " + name + " " + type + "\n";
  }
  // `labels`: more labels after node's, already written as name="escaped value".
  void Sample(const std::string& name, const std::string& labels, const std::string& value) {
    out_ += name + "{" + node_label_ + (labels.empty() ? "" : "," + labels) + "} " + value + "\n";
  }
  void Sample(const std::string& name, const std::string& labels, uint64_t value) {
    Sample(name, labels, std::to_string(value));
  }
  std::string Take() { return std::move(out_); }

 private:
  // HELP text escapes \ and newline (not quotes).
  static std::string EscapeHelp(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    return out;
  }

  std::string node_label_;
  std::string out_;
};

std::string Label(const std::string& name, const std::string& value) {
  return name + "=\"" + EscapeLabelValue(value) + "\"";
}

void WriteHistogram(Writer& w, const std::string& name, const std::string& help,
                    const Histogram& h) {
  w.Family(name, "histogram", help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds().size(); ++i) {
    cumulative += h.counts()[i];
    w.Sample(name + "_bucket", Label("le", Number(h.bounds()[i])), cumulative);
  }
  w.Sample(name + "_bucket", Label("le", "+Inf"), h.count());
  w.Sample(name + "_sum", "", Number(h.sum()));
  w.Sample(name + "_count", "", h.count());
}

}  // namespace

// ---- histograms ----

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double seconds) {
  // The first bucket whose upper bound holds it (le: less or equal).
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), seconds) -
                                       bounds_.begin());
  counts_[i]++;
  sum_ += seconds;
  count_++;
  max_ = std::max(max_, seconds);
}

void Histogram::Observe(Duration d) { Observe(std::chrono::duration<double>(d).count()); }

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// ---- /metrics ----

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

MetricsView MetricsOf(const core::Node& node, Time now) {
  MetricsView v;
  v.node = node.name();
  v.counters = node.counters();
  v.cluster = !node.standalone();
  const core::Subscriptions& subs = node.subscriptions();
  v.subscriptions = subs.subscription_count();
  v.topics = subs.topic_count();
  v.pollers = subs.RunningPollers().size();
  (void)now;
  if (const core::ClusterState* cluster = node.cluster()) {
    for (core::MemberState s : {core::MemberState::kAlive, core::MemberState::kSuspect,
                                core::MemberState::kDead, core::MemberState::kLeft})
      v.members_by_state[core::MemberStateName(s)] = 0;
    for (const core::Membership::Member& m : cluster->membership().Members())
      v.members_by_state[core::MemberStateName(m.claim.state)]++;
  }
  return v;
}

std::string RenderMetrics(const MetricsView& v) {
  Writer w(v.node);
  for (const core::CounterName& c : core::kCounters) {
    if (c.cluster_only && !v.cluster) continue;
    const std::string name = std::string("livepoll_") + c.name + "_total";
    w.Family(name, "counter",
             std::string("The node's ") + c.name + " counter, as `livepoll stats` shows it.");
    w.Sample(name, "", v.counters.*c.field);
  }
  w.Family("livepoll_clients", "gauge", "Clients connected to this node, by protocol.");
  for (const auto& [protocol, n] : v.clients_by_protocol)
    w.Sample("livepoll_clients", Label("protocol", protocol), n);
  w.Family("livepoll_subscriptions", "gauge", "Client subscriptions on this node.");
  w.Sample("livepoll_subscriptions", "", v.subscriptions);
  w.Family("livepoll_topics", "gauge", "Topics this node polls or has local subscribers of.");
  w.Sample("livepoll_topics", "", v.topics);
  w.Family("livepoll_pollers", "gauge", "Pollers running on this node.");
  w.Sample("livepoll_pollers", "", v.pollers);
  if (v.cluster) {
    w.Family("livepoll_members", "gauge",
             "Members of the cluster as this node sees them (itself included), by state.");
    for (const auto& [state, n] : v.members_by_state)
      w.Sample("livepoll_members", Label("state", state), n);
  }
  if (v.histograms != nullptr) {
    WriteHistogram(w, "livepoll_poll_duration_seconds",
                   "Polls of this node's pollers, from their submission to the workers to their "
                   "result on the event loop (the query, and the wait for a worker and the "
                   "source's cap).",
                   v.histograms->poll_duration);
    WriteHistogram(w, "livepoll_poll_to_delivery_seconds",
                   "Updates handed to this node's clients, from the moment this node had their "
                   "data (its own poll's result, or the frame carrying another owner's update) "
                   "to the moment they were handed to the client transport. Not the poll "
                   "interval, nor the owner's share or the network for a relayed update.",
                   v.histograms->poll_to_delivery);
    WriteHistogram(w, "livepoll_loop_busy_seconds",
                   "Turns of this node's event loop, by how long each worked between two waits: "
                   "what delays heartbeats, rpc and clients.",
                   v.histograms->loop_busy);
  }
  return w.Take();
}

// ---- /healthz ----

HealthView HealthOf(const core::Node& node, Time now) {
  HealthView v;
  v.cluster = !node.standalone();
  if (const core::ClusterState* cluster = node.cluster()) {
    const core::Membership& membership = cluster->membership();
    if (!membership.joined()) {
      v.joining = true;
      v.joining_why = membership.refused() ? "refused by the cluster" : "not a member";
    } else if (membership.alone() && membership.UnansweredSeeds() > 0) {
      const size_t unmet = membership.UnansweredSeeds();
      v.joining = true;
      v.joining_why = std::to_string(unmet) + (unmet == 1 ? " seed has" : " seeds have") +
                      " not answered and no other member is up";
    }
    v.not_owning = cluster->registry().WhyNotOwning();
  } else if (v.cluster) {
    v.joining = true;  // before Start
    v.joining_why = "not started";
  }
  // Per source, this node's pollers and those in error.
  std::map<std::string, std::pair<size_t, size_t>> by_source;
  const core::Catalog& catalog = node.subscriptions().catalog();
  for (const core::TopicInfo& t : node.subscriptions().Topics(now)) {
    if (!t.polling) continue;
    Result<core::ParsedTopic> parsed = core::ParseTopic(t.topic);
    if (!parsed.ok()) continue;
    auto q = catalog.queries.find(parsed->query);
    if (q == catalog.queries.end()) continue;
    auto& [pollers, failing] = by_source[q->second.source];
    pollers++;
    if (t.state == "error") failing++;
  }
  for (const auto& [source, counts] : by_source)
    if (counts.first > 0 && counts.first == counts.second) v.failing_sources.push_back(source);
  return v;
}

Health CheckHealth(const HealthView& v) {
  std::vector<std::string> why;
  if (v.joining) why.push_back("joining: " + v.joining_why);
  if (!v.not_owning.empty()) why.push_back("stale: " + v.not_owning);
  if (!v.failing_sources.empty()) {
    std::string s = v.failing_sources.size() == 1 ? "source failing: " : "sources failing: ";
    for (size_t i = 0; i < v.failing_sources.size(); ++i)
      s += (i ? ", " : "") + v.failing_sources[i];
    why.push_back(s);
  }
  if (why.empty()) return {};
  Health h;
  h.status = 503;
  h.reason.clear();
  for (size_t i = 0; i < why.size(); ++i) h.reason += (i ? "; " : "") + why[i];
  return h;
}

}  // namespace livepoll::net
