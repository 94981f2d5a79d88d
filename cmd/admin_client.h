// One admin request and its reply (PROTOCOL.md, "Admin endpoint messages"), and the error
// reporting every admin command shares, so they all fail with the same words and exit codes.
#pragma once

#include <optional>
#include <string>
#include <zmq.hpp>

#include "command.h"
#include "connection.h"
#include "livepoll/status.h"
#include "proto/messages.h"

namespace livepoll::cli {

// Sends `command` to the admin endpoint and waits up to `timeout` for its admin_reply. An `error`
// answer is returned as a reply with its code and message. Errors: Timeout (nobody answered),
// InvalidArgument (a bad endpoint), Malformed (the answer did not decode). `curve`: CurveZMQ on a
// tcp:// endpoint (--server-key).
Result<proto::AdminReply> CallAdmin(zmq::context_t& context, const std::string& endpoint,
                                    std::chrono::milliseconds timeout, const std::string& command,
                                    const proto::Params& args = {},
                                    const std::optional<CurveClient>& curve = {});

// CallAdmin with ctx's endpoint and timeout; on failure writes one line to ctx.err and sets
// *exit_code (kExitUnreachable, kExitUsage for a bad endpoint, else kExitFailure), returning
// nullopt. A reply with a non-empty code is a failure.
std::optional<proto::AdminReply> CallAdminOrReport(const CommandContext& ctx,
                                                   zmq::context_t& context,
                                                   const std::string& command,
                                                   const proto::Params& args, int* exit_code);

// A cluster-wide command (status, subs, zombies, reap, ...): CallAdminOrReport with the
// daemon's per-node wait (--node-timeout) and, when the command has --node, the nodes to ask.
// The daemon names the nodes that did not answer: each is written to ctx.err as
// "livepoll: NODE: why (the output lacks its part)" and *partial is set.
std::optional<proto::AdminReply> CallClusterOrReport(const CommandContext& ctx,
                                                     zmq::context_t& context,
                                                     const std::string& command, proto::Params args,
                                                     int* exit_code, bool* partial);

// "cannot reach livepolld at ENDPOINT (no answer within 2s)", with a hint when the silence may be
// CurveZMQ's: a node with keys answers a plain client on tcp:// with nothing, and a keyed client
// whose --server-key is wrong (or whose --key the node refuses) with nothing either.
std::string UnreachableMessage(const std::string& endpoint, std::chrono::milliseconds timeout,
                               bool curve);

}  // namespace livepoll::cli
