// AdminFanout: the cluster-wide admin commands (`livepoll status`, `subs`, `zombies`, `reap`, ...).
// The node the CLI talks to runs the command itself, asks every other up member over rpc
// (net::AdminCall) and merges the answers (net::AdminAnswer) into one reply, naming every node
// that did not answer within the per-node timeout in AdminReply::missing. Pending fan-outs are
// kept here with their deadlines, so the event loop never blocks on a peer: it calls
// OnAnswer as answers arrive and TakeDone when an answer came or NextDeadline passed.
//
// Merging, per command (the per-node tables are admin_commands.h's):
//  - info, stats, plugins: every node's rows, by node (each table has a `node` column);
//  - queries: one row per distinct definition, with `nodes`: the nodes that have it;
//  - subs: the asking node's rows (its replica already holds every topic, owner, claim and
//    presence count); a topic's polls, errors and last_poll_ms come from the node that polls it
//    when the asking node does not, and `pollers` names every node that polls it;
//  - zombies: every node's rows, without duplicates (a dead owner's or a clash's claim shows on
//    every node), by topic;
//  - reap: per topic, what each node did; a topic no node knows is `not-found`, one every node
//    knows but holds no zombie of is `none`;
//  - resolve: per clash of the asking node's plan (AdminFanout::Start's `plan`), the winner, the
//    loser and whether the loser released its claim.
//
// Thread safety: none; the Server's event loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "livepoll/time.h"
#include "proto/messages.h"

namespace livepoll::net {

// Merges `answers` (node -> its table, the asking node's included) of `command` into the reply
// the CLI gets. `plan` is resolve's (columns topic, winner, loser); `self` the asking node.
proto::AdminReply MergeAnswers(const std::string& command, const proto::Params& args,
                               const std::string& self,
                               const std::map<std::string, proto::AdminReply>& answers,
                               const proto::AdminReply& plan);

class AdminFanout {
 public:
  struct Done {
    std::string peer;  // the CLI's ROUTER identity
    proto::AdminReply reply;
  };

  // Starts a fan-out of `request` (from the CLI at `peer`) whose asking node `self` answered
  // `self_answer` (nullopt: it was not asked, --node), and that went to `asked` (other nodes);
  // `unreachable` are nodes named that could not be asked ("NAME: why"). Returns the id the
  // calls carry (AdminCall::request.id).
  uint64_t Start(Time now, std::string peer, proto::AdminRequest request, std::string self,
                 std::optional<proto::AdminReply> self_answer,
                 const std::vector<std::string>& asked, std::vector<std::string> unreachable,
                 Duration timeout, proto::AdminReply plan);
  // An answer from `node`; ignored when late, unasked or a duplicate.
  void OnAnswer(const std::string& node, const proto::AdminReply& reply);
  // The fan-outs complete (every node answered) or past their deadline at `now`, merged.
  std::vector<Done> TakeDone(Time now);
  Time NextDeadline() const;
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    std::string peer;
    proto::AdminRequest request;  // the CLI's, with its id
    std::string self;
    std::map<std::string, proto::AdminReply> answers;
    std::set<std::string> waiting;
    std::vector<std::string> missing;
    Duration timeout{};
    Time deadline{};
    proto::AdminReply plan;
  };
  Done Finish(Pending& p);

  std::map<uint64_t, Pending> pending_;
  uint64_t next_id_ = 1;
};

}  // namespace livepoll::net
