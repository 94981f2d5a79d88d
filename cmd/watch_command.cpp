// `livepoll watch QUERY [NAME=VALUE ...]`: joins a topic on the client endpoint and prints its
// updates as JSON lines (update_json.h), flushed one by one so a pipeline sees each at once,
// across restarts and failovers (watch_stream.h).
#include <ostream>

#include "command.h"
#include "watch_stream.h"

namespace livepoll::cli {
namespace po = boost::program_options;
namespace {

void DefineWatch(po::options_description& options, po::positional_options_description& pos) {
  // clang-format off
  options.add_options()
      ("count", po::value<uint64_t>()->value_name("N"), "exit after N updates")
      ("token", po::value<std::string>()->value_name("TOKEN"),
       "prove who you are with this token (livepoll token), sent on every connection (default: "
       "$LIVEPOLL_TOKEN)")
      ("query", po::value<std::string>()->value_name("QUERY"), "the catalog query to watch")
      ("param", po::value<std::vector<std::string>>()->value_name("NAME=VALUE"),
       "a query parameter");
  // clang-format on
  pos.add("query", 1).add("param", -1);
}

int UsageError(const CommandContext& ctx, const std::string& message) {
  ctx.err << "livepoll: watch: " << message << "\n"
          << "Usage: livepoll [OPTIONS] watch QUERY [NAME=VALUE ...] [--count N] [--token TOKEN]\n";
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

  std::string token;
  if (ctx.vm.count("token")) {
    token = ctx.vm["token"].as<std::string>();
    if (token.empty()) return UsageError(ctx, "--token: empty");
  } else if (auto v = ctx.env.getenv ? ctx.env.getenv("LIVEPOLL_TOKEN") : std::nullopt) {
    token = *v;
  }

  zmq::context_t context;
  return WatchStream(ctx, context, query, std::move(params), std::move(token)).Run();
}

}  // namespace

std::vector<Command> WatchCommands() {
  return {
      {"watch", "QUERY [NAME=VALUE ...] [--count N] [--token TOKEN]",
       "join a topic and print its updates as JSON lines", DefineWatch, RunWatch},
  };
}

}  // namespace livepoll::cli
