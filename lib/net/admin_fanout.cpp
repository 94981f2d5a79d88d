#include "net/admin_fanout.h"

#include <algorithm>
#include <tuple>

#include "livepoll/json.h"
#include "livepoll/strings.h"

namespace livepoll::net {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

size_t Col(const proto::AdminReply& r, const std::string& name) {
  auto it = std::find(r.columns.begin(), r.columns.end(), name);
  return static_cast<size_t>(it - r.columns.begin());
}
const Value& At(const Row& row, size_t i) {
  static const Value kNull = Null{};
  return i < row.size() ? row[i] : kNull;
}
std::string Text(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  return "";
}
// A cell as text that tells every value apart (for grouping equal rows).
std::string Key(const Row& row) {
  std::string key;
  for (const Value& v : row) {
    AppendJsonValue(key, v);
    key += '\x1f';
  }
  return key;
}

// Every node's rows under the first answer's columns, nodes by name.
proto::AdminReply Concat(const std::map<std::string, proto::AdminReply>& answers) {
  proto::AdminReply r;
  for (const auto& [node, a] : answers) {
    if (r.columns.empty()) r.columns = a.columns;
    if (a.columns != r.columns) continue;  // another daemon version: shown by its own command
    r.rows.insert(r.rows.end(), a.rows.begin(), a.rows.end());
  }
  return r;
}

proto::AdminReply MergeQueries(const std::map<std::string, proto::AdminReply>& answers) {
  proto::AdminReply r;
  std::map<std::string, std::pair<Row, std::vector<std::string>>> by_definition;
  for (const auto& [node, a] : answers) {
    if (r.columns.empty()) r.columns = a.columns;
    if (a.columns != r.columns) continue;
    for (const Row& row : a.rows) {
      auto& [first, nodes] = by_definition[Text(At(row, 0)) + '\x1e' + Key(row)];
      if (first.empty()) first = row;
      nodes.push_back(node);
    }
  }
  r.columns.push_back("nodes");
  for (auto& [key, entry] : by_definition) {
    entry.first.push_back(Join(entry.second));
    r.rows.push_back(std::move(entry.first));
  }
  return r;
}

proto::AdminReply MergeSubs(const std::string& self,
                            const std::map<std::string, proto::AdminReply>& answers) {
  auto base_it = answers.find(self);
  if (base_it == answers.end()) base_it = answers.begin();
  proto::AdminReply r = base_it->second;
  const size_t topic = 0, owner = Col(r, "owner"), polls = Col(r, "polls"),
               errors = Col(r, "errors"), last = Col(r, "last_poll_ms");
  // Topics the base does not know (a lagging replica, or --node asked others only).
  std::set<std::string> known;
  for (const Row& row : r.rows) known.insert(Text(At(row, topic)));
  for (const auto& [node, a] : answers) {
    if (a.columns != r.columns) continue;
    for (const Row& row : a.rows)
      if (known.insert(Text(At(row, topic))).second) r.rows.push_back(row);
  }
  std::sort(r.rows.begin(), r.rows.end(),
            [](const Row& a, const Row& b) { return Text(At(a, 0)) < Text(At(b, 0)); });
  // topic -> node -> its own row (polls set: it polls the topic)
  std::map<std::string, std::map<std::string, const Row*>> polled;
  for (const auto& [node, a] : answers) {
    if (a.columns != r.columns) continue;
    for (const Row& row : a.rows)
      if (!std::holds_alternative<Null>(At(row, polls))) polled[Text(At(row, topic))][node] = &row;
  }
  r.columns.push_back("pollers");
  for (Row& row : r.rows) {
    row.resize(r.columns.size() - 1, Value(Null{}));
    const auto& by_node = polled[Text(At(row, topic))];
    const std::string pollers = Join(by_node, ",", [](const auto& kv) { return kv.first; });
    if (std::holds_alternative<Null>(At(row, polls)) && polls < row.size()) {
      // The owner's figures, else any poller's.
      auto it = by_node.find(Text(At(row, owner)));
      const Row* source = it != by_node.end() ? it->second
                          : by_node.empty()   ? nullptr
                                              : by_node.begin()->second;
      if (source != nullptr) {
        for (size_t c : {polls, errors, last})
          if (c < row.size()) row[c] = At(*source, c);
      }
    }
    row.push_back(pollers);
  }
  return r;
}

proto::AdminReply MergeZombies(const std::map<std::string, proto::AdminReply>& answers) {
  proto::AdminReply r;
  // (topic, reason, node) -> row; the oldest age wins when nodes saw it at different times.
  std::map<std::tuple<std::string, std::string, std::string>, Row> unique;
  for (const auto& [node, a] : answers) {
    if (r.columns.empty()) r.columns = a.columns;
    if (a.columns != r.columns) continue;
    const size_t n = Col(a, "node"), t = Col(a, "topic"), why = Col(a, "reason"),
                 age = Col(a, "age_ms");
    for (const Row& row : a.rows) {
      auto [it, inserted] =
          unique.try_emplace({Text(At(row, t)), Text(At(row, why)), Text(At(row, n))}, row);
      if (inserted) continue;
      const auto* mine = std::get_if<int64_t>(&At(it->second, age));
      const auto* theirs = std::get_if<int64_t>(&At(row, age));
      if (theirs && (!mine || *theirs > *mine)) it->second = row;
    }
  }
  for (auto& [key, row] : unique) r.rows.push_back(std::move(row));
  return r;
}

std::vector<std::string> Topics(const proto::Params& args) {
  std::vector<std::string> topics;
  for (const auto& [k, v] : args)
    if (k == "topic" && std::find(topics.begin(), topics.end(), v) == topics.end())
      topics.push_back(v);
  return topics;
}

proto::AdminReply MergeReap(const proto::Params& args,
                            const std::map<std::string, proto::AdminReply>& answers) {
  proto::AdminReply r;
  r.columns = {"node", "topic", "action", "detail"};
  for (const std::string& topic : Topics(args)) {
    bool acted = false, known = false;
    for (const auto& [node, a] : answers) {
      if (a.columns != r.columns) continue;
      for (const Row& row : a.rows) {
        if (Text(At(row, 1)) != topic) continue;
        const std::string action = Text(At(row, 2));
        if (action == "none") {
          known = true;
        } else if (action != "unknown") {
          acted = true;
          r.rows.push_back(row);
        }
      }
    }
    if (acted) continue;
    r.rows.push_back(
        {Value(Null{}), topic, std::string(known ? "none" : "not-found"),
         std::string(known ? "no zombie of it on any node" : "no node knows this topic")});
  }
  return r;
}

proto::AdminReply MergeResolve(const proto::AdminReply& plan,
                               const std::map<std::string, proto::AdminReply>& answers) {
  proto::AdminReply r;
  r.columns = {"topic", "winner", "loser", "result"};
  auto node_of = [](const std::string& claim) { return claim.substr(0, claim.rfind('@')); };
  for (const Row& p : plan.rows) {
    const std::string topic = Text(At(p, 0)), winner = Text(At(p, 1)), loser = Text(At(p, 2));
    if (loser.empty()) {
      r.rows.push_back({topic, At(p, 1), Value(Null{}), Text(At(p, 3))});
      continue;
    }
    std::string result = "no-answer";
    auto a = answers.find(node_of(loser));
    if (a != answers.end()) {
      result = "not-released";
      for (const Row& row : a->second.rows)
        if (Text(At(row, 1)) == topic) result = Text(At(row, 2));
    }
    r.rows.push_back({topic, winner, loser, result});
  }
  return r;
}

}  // namespace

proto::AdminReply MergeAnswers(const std::string& command, const proto::Params& args,
                               const std::string& self,
                               const std::map<std::string, proto::AdminReply>& answers,
                               const proto::AdminReply& plan) {
  if (command == "resolve") return MergeResolve(plan, answers);
  if (command == "reap") return MergeReap(args, answers);
  if (answers.empty()) return {};
  if (command == "queries") return MergeQueries(answers);
  if (command == "subs") return MergeSubs(self, answers);
  if (command == "zombies") return MergeZombies(answers);
  return Concat(answers);
}

uint64_t AdminFanout::Start(Time now, std::string peer, proto::AdminRequest request,
                            std::string self, std::optional<proto::AdminReply> self_answer,
                            const std::vector<std::string>& asked,
                            std::vector<std::string> unreachable, Duration timeout,
                            proto::AdminReply plan) {
  const uint64_t id = next_id_++;
  Pending& p = pending_[id];
  p.peer = std::move(peer);
  p.request = std::move(request);
  p.self = std::move(self);
  if (self_answer) p.answers[p.self] = std::move(*self_answer);
  p.waiting.insert(asked.begin(), asked.end());
  p.missing = std::move(unreachable);
  p.timeout = timeout;
  p.deadline = now + timeout;
  p.plan = std::move(plan);
  return id;
}

void AdminFanout::OnAnswer(const std::string& node, const proto::AdminReply& reply) {
  auto it = pending_.find(reply.id);
  if (it == pending_.end() || !it->second.waiting.erase(node)) return;
  Pending& p = it->second;
  if (!reply.code.empty()) {
    p.missing.push_back(node + ": " + reply.message + " (" + reply.code + ")");
    return;
  }
  p.answers[node] = reply;
}

std::vector<AdminFanout::Done> AdminFanout::TakeDone(Time now) {
  std::vector<Done> done;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!it->second.waiting.empty() && now < it->second.deadline) {
      ++it;
      continue;
    }
    done.push_back(Finish(it->second));
    it = pending_.erase(it);
  }
  return done;
}

AdminFanout::Done AdminFanout::Finish(Pending& p) {
  for (const std::string& node : p.waiting)
    p.missing.push_back(node + ": no answer within " +
                        std::to_string(duration_cast<milliseconds>(p.timeout).count()) + "ms");
  proto::AdminReply reply =
      MergeAnswers(p.request.command, p.request.args, p.self, p.answers, p.plan);
  reply.id = p.request.id;
  std::sort(p.missing.begin(), p.missing.end());
  reply.missing = std::move(p.missing);
  return {std::move(p.peer), std::move(reply)};
}

Time AdminFanout::NextDeadline() const {
  Time next = Time::max();
  for (const auto& [id, p] : pending_) next = std::min(next, p.deadline);
  return next;
}

}  // namespace livepoll::net
