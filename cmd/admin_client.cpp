#include "admin_client.h"

#include <ostream>

#include "connection.h"
#include "duration.h"
#include "livepoll/strings.h"
#include "output.h"

namespace livepoll::cli {

Result<proto::AdminReply> CallAdmin(zmq::context_t& context, const std::string& endpoint,
                                    std::chrono::milliseconds timeout, const std::string& command,
                                    const proto::Params& args,
                                    const std::optional<CurveClient>& curve) {
  using Clock = std::chrono::steady_clock;
  // Linger 0: a CLI that gave up must exit at once, not wait to deliver to a daemon that is gone.
  Result<std::unique_ptr<Connection>> conn = Connection::Open(context, endpoint, {}, false, curve);
  if (!conn.ok()) return conn.status();
  constexpr uint64_t kRequestId = 1;
  Status sent = (*conn)->Send(proto::AdminRequest{kRequestId, command, args});
  if (!sent.ok()) return Status::Timeout(sent.message());
  const Clock::time_point deadline = Clock::now() + timeout;
  for (Clock::time_point now = Clock::now(); now < deadline; now = Clock::now()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    Result<std::optional<proto::Message>> m = (*conn)->Receive(left);
    if (!m.ok()) return m.status();
    if (!m->has_value()) continue;
    if (auto* reply = std::get_if<proto::AdminReply>(&**m); reply && reply->id == kRequestId) {
      return std::move(*reply);
    }
    if (auto* error = std::get_if<proto::Error>(&**m)) {
      return proto::AdminReply{kRequestId, error->code, error->message, {}, {}, {}};
    }
    // Anything else (another id, another type) is not the answer: keep waiting.
  }
  return Status::Timeout(UnreachableMessage(endpoint, timeout, curve.has_value()));
}

std::string UnreachableMessage(const std::string& endpoint, std::chrono::milliseconds timeout,
                               bool curve) {
  std::string hint;
  if (curve)
    hint = "; with keys, a wrong --server-key or a --key the node refuses gets no answer either";
  else if (endpoint.find("tcp://") != std::string::npos)
    hint = "; a node that uses keys answers only a client given its --server-key";
  return "cannot reach livepolld at " + endpoint + " (no answer within " + FormatDuration(timeout) +
         hint + ")";
}

std::optional<proto::AdminReply> CallAdminOrReport(const CommandContext& ctx,
                                                   zmq::context_t& context,
                                                   const std::string& command,
                                                   const proto::Params& args, int* exit_code) {
  // The endpoints in turn, until one answers: -c names several nodes of one cluster, any of
  // which can answer for all.
  Result<proto::AdminReply> reply = Status::InvalidArgument("no endpoint");
  for (const std::string& endpoint : ctx.global.endpoints) {
    reply = CallAdmin(context, endpoint, ctx.global.timeout, command, args, ctx.global.curve);
    if (reply.ok() || reply.status().code() != Status::Code::kTimeout) break;
  }
  if (!reply.ok()) {
    switch (reply.status().code()) {
      case Status::Code::kTimeout:
        ctx.err << "livepoll: "
                << UnreachableMessage(Join(ctx.global.endpoints, ", "), ctx.global.timeout,
                                      ctx.global.curve.has_value())
                << '\n';
        *exit_code = kExitUnreachable;
        break;
      case Status::Code::kInvalidArgument:
        ctx.err << "livepoll: " << Printable(reply.status().message()) << '\n';
        *exit_code = kExitUsage;
        break;
      default:
        ctx.err << "livepoll: " << command << ": " << Printable(reply.status().ToString()) << '\n';
        *exit_code = kExitFailure;
    }
    return std::nullopt;
  }
  if (!reply->code.empty()) {
    ctx.err << "livepoll: " << command << ": " << Printable(reply->message) << " ("
            << Printable(reply->code) << ")\n";
    *exit_code = kExitFailure;
    return std::nullopt;
  }
  return std::move(reply).value();
}

}  // namespace livepoll::cli

namespace livepoll::cli {

std::optional<proto::AdminReply> CallClusterOrReport(const CommandContext& ctx,
                                                     zmq::context_t& context,
                                                     const std::string& command, proto::Params args,
                                                     int* exit_code, bool* partial) {
  args.emplace_back("node_timeout", std::to_string(ctx.global.node_timeout.count()));
  if (ctx.vm.count("node")) {
    args.emplace_back("nodes", Join(ctx.vm["node"].as<std::vector<std::string>>()));
  }
  std::optional<proto::AdminReply> reply =
      CallAdminOrReport(ctx, context, command, args, exit_code);
  if (!reply) return reply;
  for (const std::string& m : reply->missing)
    ctx.err << "livepoll: " << m << " (the output lacks its part)\n";
  *partial = !reply->missing.empty();
  return reply;
}

}  // namespace livepoll::cli
