// `livepoll watch QUERY [NAME=VALUE ...]`: joins a topic on the client endpoint and prints its
// updates as JSON lines (update_json.h), flushed one by one so a pipeline sees each at once.
#include <ostream>

#include "admin_client.h"
#include "command.h"
#include "connection.h"
#include "duration.h"
#include "update_json.h"

namespace livepoll::cli {
namespace po = boost::program_options;
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A client must be heard at least every client_timeout / 3 (PROTOCOL.md); the daemon's default
// client_timeout is 10s, so once a second leaves a wide margin.
constexpr milliseconds kHeartbeatEvery{1000};
// The longest single wait, so a stop request (signal, test) is noticed quickly.
constexpr milliseconds kWaitSlice{100};
constexpr uint64_t kJoinId = 1, kLeaveId = 2;

void DefineWatch(po::options_description& options, po::positional_options_description& pos) {
  // clang-format off
  options.add_options()
      ("count", po::value<uint64_t>()->value_name("N"), "exit after N updates")
      ("query", po::value<std::string>()->value_name("QUERY"), "the catalog query to watch")
      ("param", po::value<std::vector<std::string>>()->value_name("NAME=VALUE"),
       "a query parameter");
  // clang-format on
  pos.add("query", 1).add("param", -1);
}

// The client endpoint the daemon reported, made connectable: a wildcard bind ("tcp://*:7470",
// "tcp://0.0.0.0:7470") is reached at the host the admin endpoint named.
std::string ConnectableEndpoint(const std::string& client, const std::string& admin) {
  std::string host = "127.0.0.1";
  if (admin.rfind("tcp://", 0) == 0) {
    const std::string rest = admin.substr(6);
    host = rest.substr(0, rest.rfind(':'));
  }
  for (const char* wildcard : {"tcp://*:", "tcp://0.0.0.0:"}) {
    const std::string w = wildcard;
    if (client.rfind(w, 0) == 0) return "tcp://" + host + ":" + client.substr(w.size());
  }
  return client;
}

class Watch {
 public:
  Watch(const CommandContext& ctx, Connection& conn, std::string query)
      : ctx_(ctx), conn_(conn), query_(std::move(query)) {}

  int Run(const proto::Params& params) {
    if (!conn_.Send(proto::Join{kJoinId, query_, params}).ok()) return Lost();
    Clock::time_point next_heartbeat = Clock::now();
    last_heard_ = Clock::now();
    const uint64_t limit = ctx_.vm.count("count") ? ctx_.vm["count"].as<uint64_t>() : 0;
    if (ctx_.vm.count("count") && limit == 0) return kExitOk;
    while (!Stopping()) {
      const Clock::time_point now = Clock::now();
      if (now >= next_heartbeat) {
        if (!conn_.Send(proto::Heartbeat{}).ok()) return Lost();
        next_heartbeat = now + kHeartbeatEvery;
      }
      if (now - last_heard_ > SilenceLimit()) return Lost();
      Result<std::optional<proto::Message>> m = conn_.Receive(kWaitSlice);
      if (!m.ok()) {
        ctx_.err << "livepoll: dropped a frame from livepolld: " << m.status().ToString() << '\n';
        continue;
      }
      if (!m->has_value()) continue;
      last_heard_ = Clock::now();
      if (std::optional<int> done = Handle(**m)) return *done;
      if (limit > 0 && printed_ >= limit) return Leave(kExitOk);
    }
    return Leave(kExitOk);
  }

 private:
  // nullopt: keep watching; else the exit code.
  std::optional<int> Handle(const proto::Message& m) {
    if (auto* joined = std::get_if<proto::Joined>(&m)) {
      if (joined->id == kJoinId) topic_ = joined->topic;
    } else if (auto* u = std::get_if<proto::Update>(&m)) {
      if (!topic_.empty() && u->topic != topic_) return std::nullopt;
      ctx_.out << UpdateToJson(*u) << '\n';
      ctx_.out.flush();
      // stdout closed (`| head -1`): the reader has what it wanted, so this is a normal end.
      if (!ctx_.out) return Leave(kExitOk);
      ++printed_;
    } else if (auto* e = std::get_if<proto::Error>(&m)) {
      if (e->id == kJoinId && topic_.empty()) {
        ctx_.err << "livepoll: watch " << query_ << ": " << e->message << " (" << e->code << ")\n";
        return kExitFailure;
      }
      ctx_.err << "livepoll: livepolld: " << e->message << " (" << e->code << ")\n";
      // Another protocol version will refuse every frame we send: no point in going on.
      if (e->code == "incompatible") return kExitFailure;
    }
    return std::nullopt;  // heartbeat, left, anything newer: being heard is all that counts
  }

  // Says goodbye so the daemon frees the subscription now rather than after client_timeout,
  // waiting briefly for `left`; then returns `code`.
  int Leave(int code) {
    if (topic_.empty() || !conn_.Send(proto::Leave{kLeaveId, topic_}).ok()) return code;
    const Clock::time_point deadline =
        Clock::now() + std::min(ctx_.global.timeout, milliseconds(1000));
    while (Clock::now() < deadline) {
      Result<std::optional<proto::Message>> m = conn_.Receive(kWaitSlice);
      if (m.ok() && m->has_value()) {
        auto* left = std::get_if<proto::Left>(&**m);
        if (left && left->id == kLeaveId) break;
      }
    }
    return code;
  }

  int Lost() {
    ctx_.err << "livepoll: " << (topic_.empty() ? "cannot reach" : "lost") << " livepolld at "
             << conn_.endpoint() << " (no answer within " << FormatDuration(SilenceLimit())
             << ")\n";
    return kExitUnreachable;
  }

  milliseconds SilenceLimit() const { return ctx_.global.timeout * 3; }
  bool Stopping() const { return ctx_.env.stop != nullptr && ctx_.env.stop->load(); }

  const CommandContext& ctx_;
  Connection& conn_;
  const std::string query_;
  std::string topic_;  // set by `joined`
  uint64_t printed_ = 0;
  Clock::time_point last_heard_;
};

int UsageError(const CommandContext& ctx, const std::string& message) {
  ctx.err << "livepoll: watch: " << message << "\n"
          << "Usage: livepoll [OPTIONS] watch QUERY [NAME=VALUE ...] [--count N]\n";
  return kExitUsage;
}

int RunWatch(const CommandContext& ctx) {
  if (!ctx.vm.count("query")) return UsageError(ctx, "missing QUERY");
  const std::string query = ctx.vm["query"].as<std::string>();
  proto::Params params;
  if (ctx.vm.count("param")) {
    for (const std::string& p : ctx.vm["param"].as<std::vector<std::string>>()) {
      const size_t eq = p.find('=');
      if (eq == std::string::npos || eq == 0) {
        return UsageError(ctx, "'" + p + "' is not NAME=VALUE");
      }
      params.emplace_back(p.substr(0, eq), p.substr(eq + 1));
    }
  }

  zmq::context_t context;
  int code = kExitOk;
  std::optional<proto::AdminReply> info =
      CallAdminOrReport(ctx, context, "info", {{"local", "1"}}, &code);
  if (!info) return code;
  size_t column = 0;
  while (column < info->columns.size() && info->columns[column] != "client_endpoint") ++column;
  const std::string* client = nullptr;
  if (!info->rows.empty() && column < info->rows[0].size()) {
    client = std::get_if<std::string>(&info->rows[0][column]);
  }
  if (client == nullptr || client->empty()) {
    ctx.err << "livepoll: livepolld at " << ctx.global.endpoint
            << " did not say its client endpoint (info has no client_endpoint)\n";
    return kExitFailure;
  }
  Result<std::unique_ptr<Connection>> conn =
      Connection::Open(context, ConnectableEndpoint(*client, ctx.global.endpoint), {});
  if (!conn.ok()) {
    ctx.err << "livepoll: " << conn.status().message() << '\n';
    return kExitFailure;
  }
  return Watch(ctx, **conn, query).Run(params);
}

}  // namespace

std::vector<Command> WatchCommands() {
  return {
      {"watch", "QUERY [NAME=VALUE ...] [--count N]",
       "join a topic and print its updates as JSON lines", DefineWatch, RunWatch},
  };
}

}  // namespace livepoll::cli
