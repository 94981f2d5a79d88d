// Commands that act on the cluster: fault (testing: cut this daemon off from named peers).
#include <ostream>

#include "admin_client.h"
#include "command.h"
#include "livepoll/strings.h"

namespace livepoll::cli {
namespace {

namespace po = boost::program_options;

void DefineFault(po::options_description& options, po::positional_options_description& pos) {
  // clang-format off
  options.add_options()
      ("action", po::value<std::string>()->value_name("ACTION"), "cut or heal")
      ("peer", po::value<std::vector<std::string>>()->value_name("NODE"), "a peer to cut off");
  // clang-format on
  pos.add("action", 1).add("peer", -1);
}

// fault cut NODE...: the daemon drops every frame from, and every rpc to, the named nodes (as if
// the network between them were cut); fault heal: it stops. The daemon refuses unless its config
// sets fault_injection = true. Prints the peers cut off afterwards, one a line.
int RunFault(const CommandContext& ctx) {
  const std::string action = ctx.vm.count("action") ? ctx.vm["action"].as<std::string>() : "";
  std::vector<std::string> peers;
  if (ctx.vm.count("peer")) peers = ctx.vm["peer"].as<std::vector<std::string>>();
  proto::Params args;
  if (action == "heal" && peers.empty()) {
    args.emplace_back("heal", "");
  } else if (action == "cut" && !peers.empty()) {
    args.emplace_back("cut", Join(peers));
  } else {
    ctx.err << "livepoll fault: give 'cut NODE...' or 'heal'\n";
    return kExitUsage;
  }
  zmq::context_t context;
  int code = kExitOk;
  std::optional<proto::AdminReply> reply = CallAdminOrReport(ctx, context, "fault", args, &code);
  if (!reply) return code;
  WriteRows(ctx.out, reply->columns, reply->rows, ctx.global.mode,
            ctx.global.mode == OutputMode::kTable || ctx.global.header);
  return kExitOk;
}

}  // namespace

std::vector<Command> ClusterCommands() {
  return {
      {"fault", "cut NODE... | heal",
       "testing: cut the daemon off from named peers, or heal (needs fault_injection = true)",
       DefineFault, RunFault},
  };
}

}  // namespace livepoll::cli
