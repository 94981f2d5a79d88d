// `livepoll token --secret FILE [--ttl 1h] [--claim NAME=VALUE]...`: prints a client token (a JWT
// signed with HS256, auth/token.h) that livepolld accepts under the same `token_secret` file.
// No daemon is asked: whoever holds the secret mints tokens, as any JWT library would.
#include <chrono>
#include <fstream>
#include <iterator>
#include <ostream>
#include <set>

#include "auth/token.h"
#include "command.h"
#include "duration.h"

namespace livepoll::cli {
namespace po = boost::program_options;
namespace {

void DefineToken(po::options_description& options, po::positional_options_description&) {
  // clang-format off
  options.add_options()
      ("secret", po::value<std::string>()->value_name("FILE"),
       "the key file, the daemon's token_secret (at least 32 bytes, read whole)")
      ("ttl", po::value<std::string>()->value_name("DURATION")->default_value("1h"),
       "how long the token is valid (its exp claim)")
      ("claim", po::value<std::vector<std::string>>()->value_name("NAME=VALUE"),
       "a claim, as text (e.g. sub=alice, role=admin); repeat for more");
  // clang-format on
}

int UsageError(const CommandContext& ctx, const std::string& message) {
  ctx.err << "livepoll: token: " << message << "\n"
          << "Usage: livepoll token --secret FILE [--ttl DURATION] [--claim NAME=VALUE]...\n";
  return kExitUsage;
}

// A duration (livepoll/duration.h), or whole hours or days ("12h", "7d"): tokens live that long.
Result<std::chrono::milliseconds> ParseTtl(const std::string& text) {
  for (const auto& [suffix, unit] : {std::pair<char, int64_t>{'h', 3600}, {'d', 86400}}) {
    if (text.size() < 2 || text.back() != suffix) continue;
    const std::string digits = text.substr(0, text.size() - 1);
    if (digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos) break;
    return std::chrono::milliseconds(std::stoll(digits) * unit * 1000);
  }
  Result<std::chrono::milliseconds> d = ParseDuration(text);
  if (!d.ok()) return Status::InvalidArgument("'" + text + "' is not a duration (30m, 12h, 7d)");
  return d;
}

int RunToken(const CommandContext& ctx) {
  if (!ctx.vm.count("secret")) return UsageError(ctx, "missing --secret FILE");
  const std::string path = ctx.vm["secret"].as<std::string>();
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) {
    ctx.err << "livepoll: token: cannot open " << path << "\n";
    return kExitFailure;
  }
  // Read whole, newline included: the key is the file's bytes, as livepolld reads them.
  std::string secret((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) {
    ctx.err << "livepoll: token: cannot read " << path << "\n";
    return kExitFailure;
  }
  if (secret.size() < auth::kMinSecretBytes) {
    ctx.err << "livepoll: token: " << path << " holds " << secret.size()
            << " bytes; a token secret needs at least " << auth::kMinSecretBytes << "\n";
    return kExitFailure;
  }
  Result<std::chrono::milliseconds> ttl = ParseTtl(ctx.vm["ttl"].as<std::string>());
  if (!ttl.ok()) return UsageError(ctx, "--ttl: " + ttl.status().message());
  if (ttl->count() < 1000) return UsageError(ctx, "--ttl: must be at least 1s");

  auth::NewToken t;
  if (ctx.vm.count("claim")) {
    for (const std::string& c : ctx.vm["claim"].as<std::vector<std::string>>()) {
      const size_t eq = c.find('=');
      if (eq == std::string::npos || eq == 0)
        return UsageError(ctx, "'" + c + "' is not NAME=VALUE");
      const std::string name = c.substr(0, eq);
      if (name == "exp" || name == "nbf" || name == "iat")
        return UsageError(ctx, "--claim " + name + ": set from the time and --ttl");
      if (!t.claims.emplace(name, c.substr(eq + 1)).second)
        return UsageError(ctx, "--claim " + name + ": given twice");
    }
  }
  t.issued_at = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  t.expires = t.issued_at + std::chrono::duration_cast<std::chrono::seconds>(*ttl).count();
  ctx.out << auth::MintToken(secret, t) << '\n';
  return kExitOk;
}

}  // namespace

std::vector<Command> TokenCommands() {
  return {
      {"token", "--secret FILE [--ttl DURATION] [--claim NAME=VALUE]...",
       "print a client token signed with the daemon's token_secret", DefineToken, RunToken},
  };
}

}  // namespace livepoll::cli
