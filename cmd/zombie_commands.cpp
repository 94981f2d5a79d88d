// Commands about zombies (DESIGN.md, "Lifecycle and zombies"), cluster-wide: zombies lists them,
// reap removes them, resolve ends clashes.
#include <istream>
#include <ostream>
#include <set>

#include "admin_client.h"
#include "command.h"
#include "inspect_commands.h"

namespace livepoll::cli {
namespace {

namespace po = boost::program_options;

const std::set<std::string> kReasons = {"idle", "orphan", "dead-owner", "stalled", "clash"};

int Usage(const CommandContext& ctx, const std::string& command, const std::string& message) {
  ctx.err << "livepoll " << command << ": " << message << '\n'
          << "Try 'livepoll " << command << " --help' for more information.\n";
  return kExitUsage;
}

// ---- zombies ----

void DefineZombies(po::options_description& o, po::positional_options_description&) {
  DefineNodeFilter(o);
  // clang-format off
  o.add_options()
      ("query", po::value<std::vector<std::string>>()->value_name("QUERY"),
       "only topics of this query (repeatable)")
      ("reason", po::value<std::vector<std::string>>()->value_name("REASON"),
       "only this reason (repeatable): idle, orphan, dead-owner, stalled, clash")
      ("exit-status", po::bool_switch(), "exit 1 when any zombie is found, 0 when none");
  // clang-format on
}

int RunZombies(const CommandContext& ctx) {
  if (ctx.vm.count("reason")) {
    for (const std::string& r : ctx.vm["reason"].as<std::vector<std::string>>())
      if (!kReasons.count(r))
        return Usage(ctx, "zombies",
                     "unknown reason '" + r + "' (idle, orphan, dead-owner, stalled, clash)");
  }
  zmq::context_t context;
  int code = kExitOk;
  bool partial = false;
  std::optional<proto::AdminReply> reply =
      CallClusterOrReport(ctx, context, "zombies", {}, &code, &partial);
  if (!reply) return code;
  code = PrintReply(ctx, *reply, partial);
  if (ctx.vm["exit-status"].as<bool>() && !reply->rows.empty()) return kExitFailure;
  return code;
}

// ---- reap ----

void DefineReap(po::options_description& o, po::positional_options_description& pos) {
  // clang-format off
  o.add_options()
      ("topic", po::value<std::vector<std::string>>()->value_name("TOPIC"),
       "a topic to reap; - reads topics from stdin")
      ("dry-run", po::bool_switch(), "say what would be done, do nothing")
      ("force", po::bool_switch(), "reap a healthy poller too (it is registered afresh)");
  // clang-format on
  pos.add("topic", -1);
}

std::string UnescapeTsv(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    out += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
  }
  return out;
}

// The "topic" of a JSON line from `livepoll zombies --json` (or subs --json); empty if none.
std::string JsonTopic(const std::string& line) {
  const std::string key = "\"topic\": \"";
  size_t at = line.find(key);
  if (at == std::string::npos) return "";
  std::string topic;
  for (size_t i = at + key.size(); i < line.size(); ++i) {
    if (line[i] == '"') return topic;
    if (line[i] == '\\' && i + 1 < line.size()) ++i;
    topic += line[i];
  }
  return "";
}

// Topics from stdin: one a line, or the lines of `livepoll zombies` (TSV: the topic is the second
// field; a header line is skipped; JSON lines: their "topic").
std::vector<std::string> ReadTopics(std::istream& in) {
  std::vector<std::string> topics;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t b = line.find_first_not_of(" \t"), e = line.find_last_not_of(" ");
    if (b == std::string::npos) continue;
    if (line[b] == '{') {
      if (std::string t = JsonTopic(line); !t.empty()) topics.push_back(t);
      continue;
    }
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      topics.push_back(line.substr(b, e - b + 1));
      continue;
    }
    const size_t end = line.find('\t', tab + 1);
    const std::string first = line.substr(0, tab);
    const std::string second = line.substr(tab + 1, end == std::string::npos ? end : end - tab - 1);
    if (first == "node" && second == "topic") continue;  // --header
    if (!second.empty()) topics.push_back(UnescapeTsv(second));
  }
  return topics;
}

int RunReap(const CommandContext& ctx) {
  std::vector<std::string> topics;
  if (ctx.vm.count("topic")) {
    for (const std::string& t : ctx.vm["topic"].as<std::vector<std::string>>()) {
      if (t == "-") {
        for (std::string& s : ReadTopics(ctx.in)) topics.push_back(std::move(s));
      } else {
        topics.push_back(t);
      }
    }
  }
  if (!ctx.vm.count("topic")) return Usage(ctx, "reap", "give TOPIC... or - (topics on stdin)");
  if (topics.empty()) return kExitOk;  // an empty pipe: nothing to reap
  proto::Params args;
  for (const std::string& t : topics) args.emplace_back("topic", t);
  if (ctx.vm["dry-run"].as<bool>()) args.emplace_back("dry_run", "1");
  if (ctx.vm["force"].as<bool>()) args.emplace_back("force", "1");
  zmq::context_t context;
  int code = kExitOk;
  bool partial = false;
  std::optional<proto::AdminReply> reply =
      CallClusterOrReport(ctx, context, "reap", args, &code, &partial);
  if (!reply) return code;
  const size_t action = ColumnIndex(reply->columns, "action");
  bool refused = false;
  for (const Row& row : reply->rows) {
    const std::string* a = action < row.size() ? std::get_if<std::string>(&row[action]) : nullptr;
    refused |= a && *a == "refused";
  }
  code = PrintReply(ctx, *reply, partial);
  return refused ? kExitFailure : code;
}

// ---- resolve ----

void DefineResolve(po::options_description& o, po::positional_options_description& pos) {
  // clang-format off
  o.add_options()
      ("topic", po::value<std::vector<std::string>>()->value_name("TOPIC"), "a clash to resolve")
      ("all", po::bool_switch(), "every clash the daemon sees")
      ("keep", po::value<std::string>()->value_name("NODE"), "keep this node's claim")
      ("policy", po::value<std::string>()->value_name("POLICY")->default_value("oldest"),
       "without --keep, which claim to keep: oldest (lowest epoch, then name) or hashed");
  // clang-format on
  pos.add("topic", -1);
}

int RunResolve(const CommandContext& ctx) {
  const bool all = ctx.vm["all"].as<bool>();
  if (all == (ctx.vm.count("topic") > 0)) return Usage(ctx, "resolve", "give TOPIC... or --all");
  const std::string policy = ctx.vm["policy"].as<std::string>();
  if (policy != "oldest" && policy != "hashed")
    return Usage(ctx, "resolve", "--policy: oldest or hashed, not '" + policy + "'");
  proto::Params args;
  if (all) args.emplace_back("all", "1");
  if (ctx.vm.count("topic"))
    for (const std::string& t : ctx.vm["topic"].as<std::vector<std::string>>())
      args.emplace_back("topic", t);
  if (ctx.vm.count("keep")) args.emplace_back("keep", ctx.vm["keep"].as<std::string>());
  args.emplace_back("policy", policy);
  zmq::context_t context;
  int code = kExitOk;
  bool partial = false;
  std::optional<proto::AdminReply> reply =
      CallClusterOrReport(ctx, context, "resolve", args, &code, &partial);
  if (!reply) return code;
  const size_t result = ColumnIndex(reply->columns, "result");
  bool failed = false;
  for (const Row& row : reply->rows) {
    const std::string* r = result < row.size() ? std::get_if<std::string>(&row[result]) : nullptr;
    failed |= r == nullptr || (*r != "released" && *r != "no-clash");
  }
  code = PrintReply(ctx, *reply, partial);
  return failed ? kExitFailure : code;
}

}  // namespace

std::vector<Command> ZombieCommands() {
  return {
      {"zombies", "[--node NODE]... [--query QUERY]... [--reason REASON]... [--exit-status]",
       "list zombies cluster-wide: node, topic, reason, age, detail", DefineZombies, RunZombies},
      {"reap", "TOPIC... | - [--dry-run] [--force]",
       "stop zombie pollers and remove zombie entries of these topics cluster-wide", DefineReap,
       RunReap},
      {"resolve", "TOPIC... | --all [--keep NODE] [--policy oldest|hashed]",
       "resolve name clashes now: print each clash's winner and loser", DefineResolve, RunResolve},
  };
}

}  // namespace livepoll::cli
