// `livepoll watch`'s stream: one topic's updates printed as JSON lines (update_json.h), kept going
// across daemon restarts and node failures (lib/proto/PROTOCOL.md, "Sessions and resume").
//
// It follows one node at a time, through that node's client endpoint (learnt from its admin
// endpoint's `info`). It notices that the node is gone from the connection (a TCP close, at once),
// from silence (no answer to three heartbeats in a row, or for --timeout if longer: a hung
// process), or from the node itself (another session in a heartbeat: the process was restarted;
// or an error saying it does not know the client). Then it joins again, through the next endpoint
// of -c first (a restart is tried there too, as the list wraps), and resumes from the last update
// it printed: the node sends exactly the updates missed, or, when it cannot (outside its history,
// or a new process that has none), a snapshot. So its standard output carries on as one stream a
// script can keep reading; what happened is said on standard error.
//
// With a token, every connection (the first and each one joining again) sends `auth` before its
// `join` (PROTOCOL.md, "Tokens"): a daemon knows a token only for the connection it came on.
//
// Thread safety: none; it runs on the CLI's thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "command.h"
#include "connection.h"
#include "proto/messages.h"

namespace livepoll::cli {

class WatchStream {
 public:
  // `token`: sent with `auth` on each connection; empty: none.
  WatchStream(const CommandContext& ctx, zmq::context_t& context, std::string query,
              proto::Params params, std::string token);

  // Prints the topic's updates until --count of them, a stop request, a closed standard output
  // (exit code kExitOk), or a failure that joining again cannot mend: no endpoint answered the
  // first time (kExitUnreachable), the join was refused (kExitFailure), another protocol version.
  int Run();

 private:
  using Clock = std::chrono::steady_clock;

  // Joins through the endpoints from `first` on, round and round, until one answers `info` and
  // takes the join; nullopt when joined, else an exit code (first join only: later ones retry
  // until stopped). `why` is the reason, written to stderr once a join is being retried.
  std::optional<int> Attach(size_t first, const std::string& why);
  // Opens the node's client endpoint and sends the join (resuming when anything was printed).
  bool SendJoin(const std::string& admin_endpoint, const std::string& client_endpoint);
  // nullopt: carry on; else the exit code.
  std::optional<int> Handle(const proto::Message& m);
  // Reports that the node at `endpoints[current_]` was lost, and joins again: through the same
  // endpoint first when the node is there but another process (`same_first`), else the next.
  std::optional<int> Rejoin(const std::string& why, bool same_first);
  int Leave(int code);
  bool Stopping() const;
  // How long a silent node is waited for: before the first join is taken, three --timeouts (then
  // watch gives up); once following, three missed heartbeat answers, or --timeout if longer (a
  // hung daemon is left within a few heartbeats, but never sooner than the user asked).
  std::chrono::milliseconds SilenceLimit() const;

  const CommandContext& ctx_;
  zmq::context_t& context_;
  const std::string query_;
  const proto::Params params_;
  const std::string token_;
  const std::vector<std::string>& endpoints_;

  size_t current_ = 0;  // the index in endpoints_ of the node followed
  std::unique_ptr<Connection> conn_;
  uint64_t join_id_ = 0;  // of the join in flight or answered; a new id for every join
  uint64_t auth_id_ = 0;  // of the last auth sent (the id before its join's)
  bool joined_once_ = false;
  bool rejoining_ = false;             // the join in flight is a join again: its answer is reported
  std::string topic_;                  // set by `joined`
  uint64_t session_ = 0;               // the followed daemon's, from `joined`
  std::optional<proto::Update> last_;  // the last update printed (its position: the resume)
  uint64_t printed_ = 0;
  Clock::time_point last_heard_;
};

}  // namespace livepoll::cli
