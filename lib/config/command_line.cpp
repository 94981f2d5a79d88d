// livepolld's command line, parsed by Boost.Program_options against option groups built once
// (Options()), so that --help, the parser and man/livepolld.8 list the same options. Every [node]
// key is also an option (node_keys.h); the file given with --config is applied first and the
// options after it, so the command line wins.
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <sstream>

#include "config/config.h"
#include "config/config_file.h"
#include "config/node_keys.h"

namespace livepoll::config {
namespace po = boost::program_options;
namespace {

constexpr char kPercentStandIn = '\x1e';  // in ParseDaemonArgs' error path only

// The option groups, built once: the parser and --help both use this.
const po::options_description& Options() {
  static const po::options_description all = [] {
    po::options_description general("General");
    // clang-format off
    general.add_options()
        ("config", po::value<std::string>()->value_name("FILE"),
         "read node options, sources and queries from FILE (see livepoll.conf(5))")
        ("demo", "serve the built-in demo: a SQLite orders table that changes every second")
        ("demo-db", po::value<std::string>()->value_name("PATH"),
         "with --demo, the SQLite file to create (default: a temporary one)")
        ("demo-plugin", po::value<std::string>()->value_name("NAME"),
         "with --demo, the plugin of the demo's source (default soci)")
        ("demo-dsn", po::value<std::string>()->value_name("DSN"),
         "with --demo, the demo's database instead of SQLite, e.g. a PostgreSQL connection "
         "string with --demo-plugin postgres; its orders table is replaced")
        ("help,h", "print this help and exit")
        ("version", "print the version and exit");
    // clang-format on
    po::options_description node("Node (also the [node] keys of the file; the command line wins)");
    for (const auto& k : NodeKeys()) {
      auto* value = po::value<std::string>()->value_name(k.arg);
      if (k.implicit != nullptr) value->implicit_value(k.implicit);
      node.add_options()(k.cli, value, k.help);
    }
    po::options_description out;
    out.add(general).add(node);
    return out;
  }();
  return all;
}

std::string Help() {
  std::ostringstream s;
  s << "Usage: livepolld [OPTIONS]\n"
       "Serve live SQL query results to subscribers, as one node of a livepoll cluster.\n\n"
    << Options() << "\nDurations: 500ms, 2s, 1m or 1.5s. See livepolld(8) and livepoll.conf(5).\n";
  // Boost pads wrapped lines with a trailing space and opens each group with a blank line.
  std::string text, line;
  for (std::istringstream in(s.str()); std::getline(in, line);) {
    line.erase(line.find_last_not_of(' ') + 1);
    if (line.empty() && text.ends_with("\n\n")) continue;
    text += line + '\n';
  }
  return text;
}

// The file's text through the Env, its errors as users know them: "PATH: cannot read: REASON".
Result<std::string> ReadConfigFile(Env& env, const std::string& path) {
  Result<std::string> text = env.ReadFile(path);
  if (text.ok()) return text;
  std::string why = text.status().message();  // "PATH: REASON"
  if (why.starts_with(path + ": ")) why.erase(0, path.size() + 2);
  return Status::InvalidArgument(path + ": cannot read: " + why);
}

// The key of [node] token_secret, read whole: no newline is trimmed, so the key is the file's
// bytes as any other tool (a JWT library minting tokens) reads them.
Status ReadTokenSecret(Env& env, NodeConfig& node) {
  if (node.token_secret.empty()) return Status::Ok();
  const std::string& path = node.token_secret;
  Result<std::string> key = env.ReadFile(path);
  if (!key.ok()) {
    std::string why = key.status().message();
    if (why.starts_with(path + ": ")) why.erase(0, path.size() + 2);
    return Status::InvalidArgument("token_secret: " + path + ": cannot read: " + why);
  }
  // HMAC-SHA256's output size (RFC 7518, 3.2; auth::kMinSecretBytes, a layer this one does not
  // see): a shorter key is guessable offline from one token.
  constexpr size_t kMinBytes = 32;
  if (key->size() < kMinBytes)
    return Status::InvalidArgument(
        "token_secret: " + path + " holds " + std::to_string(key->size()) +
        " bytes; a token secret needs at least " + std::to_string(kMinBytes) +
        " (e.g. head -c 32 /dev/urandom > " + path + ")");
  node.token_key = std::move(*key);
  return Status::Ok();
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "livepolld";
  return buf;
}

}  // namespace

Result<DaemonArgs> ParseDaemonArgs(Env& env, int argc, const char* const argv[]) {
  po::variables_map vm;
  // No abbreviations: `--log` must not silently mean --log-level today and fail tomorrow.
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  auto parse = [&](const char* const* args) {
    const auto parsed = po::command_line_parser(argc, args).options(Options()).style(style).run();
    po::store(parsed, vm);
    return parsed;
  };
  try {
    const auto parsed = parse(argv);
    // Without a positional description Boost keeps stray words and store() drops them silently.
    const auto extra = po::collect_unrecognized(parsed.options, po::include_positional);
    if (!extra.empty()) {
      return Status::InvalidArgument("unexpected argument '" + extra.front() +
                                     "' (livepolld takes options only)");
    }
  } catch (const po::error&) {
    // Boost's what() substitutes placeholders such as %canonical_option% in a loop that never
    // ends when an argument holds one itself (`--x%canonical_option%`). '%' means nothing to
    // the parser, so the arguments with every '%' swapped for a stand-in fail the same way, and
    // that error's text is safe to build; the stand-in is swapped back.
    std::vector<std::string> safe(argv, argv + argc);
    std::vector<const char*> safe_argv;
    for (auto& a : safe) {
      std::replace(a.begin(), a.end(), '%', kPercentStandIn);
      safe_argv.push_back(a.c_str());
    }
    try {
      vm.clear();
      parse(safe_argv.data());
    } catch (const po::error& e) {
      std::string what = e.what();
      std::replace(what.begin(), what.end(), kPercentStandIn, '%');
      return Status::InvalidArgument(what);
    }
    return Status::InvalidArgument("invalid command line");  // not reached: the same error
  }

  DaemonArgs args;
  args.argv.assign(argv, argv + argc);
  if (vm.count("help")) {
    args.action = DaemonArgs::Action::kHelp;
    args.help = Help();
    return args;
  }
  if (vm.count("version")) {
    args.action = DaemonArgs::Action::kVersion;
    return args;
  }
  args.demo = vm.count("demo") > 0;
  for (const char* key : {"demo-db", "demo-plugin", "demo-dsn"}) {
    if (vm.count(key) && !args.demo)
      return Status::InvalidArgument(std::string("--") + key + ": only with --demo");
  }
  if (vm.count("demo-db") && vm.count("demo-dsn"))
    return Status::InvalidArgument("--demo-db and --demo-dsn: give one or the other");
  if (vm.count("demo-plugin")) args.demo_plugin = vm["demo-plugin"].as<std::string>();
  if (vm.count("demo-dsn")) args.demo_dsn = vm["demo-dsn"].as<std::string>();
  if (vm.count("demo-db")) {
    args.demo_db = vm["demo-db"].as<std::string>();
  }
  if (vm.count("config")) {
    args.config_file = vm["config"].as<std::string>();
    Result<std::string> text = ReadConfigFile(env, args.config_file);
    if (!text.ok()) return text.status();
    Status s = ApplyFileText(args.config_file, *text, args.config);
    if (!s.ok()) return s;
  }
  for (const auto& k : NodeKeys()) {
    if (!vm.count(k.cli)) continue;
    Status s = k.set(args.config.node, vm[k.cli].as<std::string>());
    if (!s.ok()) return Status::InvalidArgument(std::string("--") + k.cli + ": " + s.message());
  }
  if (args.config.node.name.empty()) args.config.node.name = HostName();
  if (Status s = CheckCluster(args.config.node); !s.ok()) return s;
  if (Status s = CheckAccess(args.config); !s.ok()) return s;
  if (Status s = ReadTokenSecret(env, args.config.node); !s.ok()) return s;
  return args;
}

}  // namespace livepoll::config
