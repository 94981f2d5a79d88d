// Commands about keys: keygen (a CurveZMQ keypair for a node or an operator).
#include <ostream>

#include "command.h"
#include "keys.h"

namespace livepoll::cli {
namespace {

namespace po = boost::program_options;

void DefineKeygen(po::options_description& options, po::positional_options_description& pos) {
  // clang-format off
  options.add_options()
      ("out", po::value<std::string>()->value_name("DIR")->default_value("."),
       "the folder to write NAME.secret and NAME.pub in")
      ("name", po::value<std::string>()->value_name("NAME"),
       "the node's name (its key's file name in trusted_keys), or the operator's");
  // clang-format on
  pos.add("name", 1);
}

// keygen [--out DIR] NAME: writes DIR/NAME.secret (0600) and DIR/NAME.pub, never over existing
// files, and prints the public key.
int RunKeygen(const CommandContext& ctx) {
  const std::string name = ctx.vm.count("name") ? ctx.vm["name"].as<std::string>() : "";
  if (name.empty() || name.find('/') != std::string::npos || name.front() == '.') {
    ctx.err << "livepoll keygen: give a NAME (no '/', not starting with '.')\n";
    return kExitUsage;
  }
  Result<std::string> pub = WriteKeyPair(ctx.vm["out"].as<std::string>(), name);
  if (!pub.ok()) {
    ctx.err << "livepoll keygen: " << pub.status().message() << '\n';
    return kExitFailure;
  }
  ctx.out << *pub << '\n';
  return kExitOk;
}

}  // namespace

std::vector<Command> KeyCommands() {
  return {
      {"keygen", "[--out DIR] NAME",
       "write a CurveZMQ keypair: NAME.secret (mode 0600) and NAME.pub", DefineKeygen, RunKeygen},
  };
}

}  // namespace livepoll::cli
