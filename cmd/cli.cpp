// Run(): global options, the command table, usage errors. Commands live in their group files.
#include "cli.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <exception>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <string_view>

#include "command.h"
#include "duration.h"
#include "keys.h"

#ifndef LIVEPOLL_VERSION
#define LIVEPOLL_VERSION "unknown"
#endif

namespace livepoll::cli {
namespace po = boost::program_options;
namespace {

constexpr const char* kDefaultEndpoint = "tcp://127.0.0.1:7471";

// The global options, defined once: `--help`, the parser and man/livepoll.1 all follow this list.
po::options_description GlobalOptionsDescription() {
  po::options_description d("Global options");
  // One option per line reads like the --help it prints, so clang-format keeps its hands off.
  // clang-format off
  d.add_options()
      ("connect,c", po::value<std::string>()->value_name("ENDPOINT[,...]"),
       "livepolld's admin endpoint, or several, comma-separated: commands ask the first that "
       "answers, watch moves on when its node dies (default: $LIVEPOLL_CONNECT, else "
       "tcp://127.0.0.1:7471)")
      ("timeout", po::value<std::string>()->value_name("DURATION")->default_value("2s"),
       "how long to wait for livepolld (200ms, 2s, 1m)")
      ("node-timeout", po::value<std::string>()->value_name("DURATION"),
       "how long livepolld waits for each other node of a cluster-wide answer (default: half "
       "of --timeout)")
      ("key", po::value<std::string>()->value_name("FILE"),
       "your CurveZMQ secret key file (livepoll keygen), for a daemon with admin_keys; its "
       "public key is derived (default: $LIVEPOLL_KEY; with --server-key and no key, a fresh "
       "keypair: enough for watch, refused by the admin endpoint)")
      ("server-key", po::value<std::string>()->value_name("KEY|FILE"),
       "the daemon's CurveZMQ public key, as Z85 text or its NAME.pub file: speak CurveZMQ on "
       "tcp:// endpoints (default: $LIVEPOLL_SERVER_KEY)")
      ("json", po::bool_switch(), "one JSON object per line")
      ("header", po::bool_switch(), "print a header line on tab-separated output too")
      ("help,h", po::bool_switch(), "show help (after a command: that command's help)")
      ("version", po::bool_switch(), "show the version");
  // clang-format on
  return d;
}

const Command* FindCommand(const std::string& name) {
  for (const Command& c : AllCommands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

// The index in argv of the command name: the first word that is neither an option nor the value
// of a global option that takes one ("-c ENDPOINT", "--timeout 2s"). 0 when there is none.
int FindCommandIndex(int argc, const char* const argv[], const po::options_description& global) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return i + 1 < argc ? i + 1 : 0;
    if (arg.size() < 2 || arg[0] != '-') return i;
    const bool long_form = arg.compare(0, 2, "--") == 0;
    // Boost keeps a short name with its dash ("-c"), a long one without.
    std::string name = long_form ? arg.substr(2, arg.find('=') - 2) : arg.substr(0, 2);
    const bool value_attached = long_form ? arg.find('=') != std::string::npos : arg.size() > 2;
    const po::option_description* o = global.find_nothrow(name, false, false, !long_form);
    if (o != nullptr && o->semantic()->max_tokens() > 0 && !value_attached) ++i;
  }
  return 0;
}

void PrintUsage(std::ostream& os) { os << "Usage: livepoll [OPTIONS] COMMAND [ARGS...]\n"; }

int UsageError(std::ostream& err, const std::string& message) {
  err << "livepoll: " << message << '\n';
  PrintUsage(err);
  err << "Try 'livepoll --help' for more information.\n";
  return kExitUsage;
}

void PrintHelp(std::ostream& out, const po::options_description& global) {
  PrintUsage(out);
  out << "\nLive SQL query results from a livepolld cluster, for operators and shell pipelines.\n"
      << "On a terminal the output is a table; piped, tab-separated rows; --json, JSON lines.\n"
      << "\nCommands:\n";
  auto head = [](const Command& c) {
    return std::string(c.name) + (*c.synopsis ? " " : "") + c.synopsis;
  };
  size_t width = 0;
  for (const Command& c : AllCommands()) width = std::max(width, head(c).size());
  for (const Command& c : AllCommands()) {
    out << "  " << std::left << std::setw(static_cast<int>(width)) << head(c) << "  " << c.summary
        << '\n';
  }
  out << '\n' << global << "\nRun 'livepoll COMMAND --help' for a command's options.\n";
}

void PrintCommandHelp(std::ostream& out, const Command& c, const po::options_description& own,
                      const po::options_description& global) {
  std::string summary = c.summary;  // a table cell in --help, a sentence here
  if (!summary.empty()) summary[0] = static_cast<char>(std::toupper(summary[0]));
  out << "Usage: livepoll [OPTIONS] " << c.name << (*c.synopsis ? " " : "") << c.synopsis << "\n\n"
      << summary << ".\n";
  if (!own.options().empty()) out << '\n' << own;
  out << '\n' << global;
}

// Applies defaults, LIVEPOLL_CONNECT and the terminal check. Usage errors go to `err`.
std::optional<GlobalOptions> ResolveGlobals(const po::variables_map& vm, const CliEnv& env,
                                            std::ostream& err) {
  GlobalOptions g;
  std::string connect = kDefaultEndpoint;
  if (vm.count("connect")) {
    connect = vm["connect"].as<std::string>();
  } else if (auto v = env.getenv ? env.getenv("LIVEPOLL_CONNECT") : std::nullopt;
             v && !v->empty()) {
    connect = *v;
  }
  for (std::string_view rest = connect;;) {
    const size_t comma = rest.find(',');
    std::string_view e = rest.substr(0, comma);
    while (!e.empty() && e.front() == ' ') e.remove_prefix(1);
    while (!e.empty() && e.back() == ' ') e.remove_suffix(1);
    if (e.empty()) {
      UsageError(err, "--connect: an empty endpoint in '" + connect + "'");
      return std::nullopt;
    }
    g.endpoints.emplace_back(e);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  Result<std::chrono::milliseconds> timeout = ParseDuration(vm["timeout"].as<std::string>());
  if (!timeout.ok() || timeout->count() <= 0) {
    UsageError(err, "--timeout: " + (timeout.ok() ? std::string("must be positive")
                                                  : timeout.status().message()));
    return std::nullopt;
  }
  g.timeout = *timeout;
  g.node_timeout = g.timeout / 2;
  if (vm.count("node-timeout")) {
    Result<std::chrono::milliseconds> t = ParseDuration(vm["node-timeout"].as<std::string>());
    if (!t.ok() || t->count() <= 0 || *t >= g.timeout) {
      UsageError(err, "--node-timeout: " + (t.ok() ? std::string("must be positive and shorter "
                                                                 "than --timeout")
                                                   : t.status().message()));
      return std::nullopt;
    }
    g.node_timeout = *t;
  }
  auto option = [&](const char* name, const char* var) -> std::string {
    if (vm.count(name)) return vm[name].as<std::string>();
    std::optional<std::string> v = env.getenv ? env.getenv(var) : std::nullopt;
    return v ? *v : "";
  };
  const std::string key = option("key", "LIVEPOLL_KEY");
  const std::string server_key = option("server-key", "LIVEPOLL_SERVER_KEY");
  if (!key.empty() && server_key.empty()) {
    UsageError(err, "--key: needs --server-key (the daemon's public key)");
    return std::nullopt;
  }
  if (!server_key.empty()) {
    Result<CurveClient> curve = LoadCurveClient(server_key, key);
    if (!curve.ok()) {
      UsageError(err, curve.status().message());
      return std::nullopt;
    }
    g.curve = std::move(*curve);
  }
  g.mode = ChooseOutputMode(vm["json"].as<bool>(), env.stdout_is_terminal);
  g.header = vm["header"].as<bool>();
  return g;
}

int RunParsed(int argc, const char* const argv[], std::istream& in, std::ostream& out,
              std::ostream& err, const CliEnv& env) {
  const po::options_description global = GlobalOptionsDescription();
  const int command_index = FindCommandIndex(argc, argv, global);
  const Command* command = nullptr;
  if (command_index > 0) {
    command = FindCommand(argv[command_index]);
    if (command == nullptr) {
      return UsageError(err, "unknown command '" + std::string(argv[command_index]) + "'");
    }
  }

  po::options_description own(command ? std::string(command->name) + " options" : "");
  po::positional_options_description positional;
  if (command && command->define) command->define(own, positional);
  po::options_description all;
  all.add(global).add(own);

  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (i != command_index) args.emplace_back(argv[i]);
  }
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error&) {
    // Boost's what() substitutes placeholders such as %canonical_option% in a loop that never
    // ends when an argument holds one itself (`--x%canonical_option%`; found by fuzzing the
    // daemon's parser). '%' means nothing to the parser, so the arguments with every '%'
    // swapped for a stand-in fail the same way, and that error's text is safe to build.
    constexpr char kPercentStandIn = '\x1e';
    for (std::string& a : args) std::replace(a.begin(), a.end(), '%', kPercentStandIn);
    try {
      po::variables_map again;
      po::store(po::command_line_parser(args).options(all).positional(positional).run(), again);
      po::notify(again);
    } catch (const po::error& e) {
      std::string what = e.what();
      std::replace(what.begin(), what.end(), kPercentStandIn, '%');
      return UsageError(err, what);
    }
    return UsageError(err, "invalid arguments");  // not reached: the same error
  }

  if (vm["help"].as<bool>()) {
    if (command) {
      PrintCommandHelp(out, *command, own, global);
    } else {
      PrintHelp(out, global);
    }
    return kExitOk;
  }
  if (vm["version"].as<bool>()) {
    out << "livepoll " << LIVEPOLL_VERSION << '\n';
    return kExitOk;
  }
  if (command == nullptr) return UsageError(err, "no command given");

  std::optional<GlobalOptions> g = ResolveGlobals(vm, env, err);
  if (!g) return kExitUsage;
  return command->run(CommandContext{*g, vm, in, out, err, env});
}

}  // namespace

int Run(int argc, const char* const argv[], std::istream& in, std::ostream& out, std::ostream& err,
        const CliEnv& env) {
  try {
    return RunParsed(argc, argv, in, out, err, env);
  } catch (const std::exception& e) {
    // A bug or an unexpected library failure: still one line and a non-zero exit, never abort.
    err << "livepoll: internal error: " << e.what() << '\n';
    return kExitFailure;
  }
}

}  // namespace livepoll::cli
