// One node's part of `livepoll zombies`, `livepoll reap` and `livepoll resolve` (DESIGN.md,
// "Lifecycle and zombies"): what this node sees of zombies, and what it removes of them. The
// Server runs these for its own admin requests and for other nodes' AdminCalls; AdminFanout
// merges the nodes' tables.
//
// Tables (each row names the node that answered or, for a claim, the node that holds it):
//   zombies  node, topic, reason, age_ms, detail
//            reason: idle, orphan, dead-owner, clash (core::Registry::Zombies) and stalled
//            (core::Subscriptions::Stalled); age_ms nil when unknown
//   reap     node, topic, action, detail
//            action: reaped, would-reap (dry_run), refused (a healthy poller, without force),
//            none (this node knows the topic but holds no zombie of it), unknown
//   resolve  node, topic, action, detail   action: released, kept, no-clash, error
// Request arguments: reap takes topic=T (repeated), dry_run=1, force=1; resolve (between nodes)
// takes topic=T, winner=NODE pairs (PlanResolve makes them from the CLI's topic, all, keep and
// policy).
//
// Thread safety: none; the Server's event loop calls them.
#pragma once

#include "livepoll/status.h"
#include "net/admin_commands.h"
#include "proto/messages.h"

namespace livepoll::net {

proto::AdminReply ListZombies(const AdminContext& ctx);

// Reaps this node's part of each topic's zombies (idle and stalled own pollers, orphans, a dead
// owner's claims, a clash by the policy's winner); what the node decides goes to ctx.out.
proto::AdminReply ReapTopics(AdminContext& ctx, const proto::Params& args);

// The asking node's plan for `livepoll resolve`: for every clash asked of (topic=T..., or all=1
// for every clash it sees), its winner (keep=NODE, else policy=oldest|hashed, default oldest) and
// each loser, as rows topic, winner, loser, result ("node@epoch"; a topic without a clash has an
// empty loser and result "no-clash"); and the arguments the nodes resolve with (`peer_args`).
// InvalidArgument for a bad policy.
Result<proto::AdminReply> PlanResolve(const AdminContext& ctx, const proto::Params& args,
                                      proto::Params* peer_args);
// Resolves each topic=T, winner=NODE pair here: a loser releases its claim.
proto::AdminReply ResolveClashes(AdminContext& ctx, const proto::Params& args);

}  // namespace livepoll::net
