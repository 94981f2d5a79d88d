// PollRunner: runs pollers' queries on worker threads, so the event loop never blocks on a
// database. Each source gets `connections` workers, each owning one plugin connection (the ABI's
// one-thread-per-connection rule), so a source never sees more concurrent queries than that.
// Completions are queued and signalled on an eventfd the event loop polls.
//
// Multiplexed polling: SubmitBatch queues the polls of several topics of one query as one job.
// A worker runs them as one statement when the plugin can (Statement::multiplexed, ABI 1.1's
// query_batch) and completes each poll with its own set's result; a failed batch completes every
// poll with the batch's error. With an older plugin it runs them one statement each, in turn, on
// the same connection, as separate Submits would have.
//
// A worker opens its connection lazily and drops it after any failed query, so a database restart
// or a dropped connection heals on a later poll; how soon is the caller's back-off.
//
// The sources and queries can be replaced while it runs (Replace, a SIGHUP): a changed source's
// workers are replaced by new ones that open new connections, and a changed query's SQL is
// prepared again before its next poll.
//
// Thread safety: Submit, Replace, TakeCompletions and wake_fd are for the owning thread; the
// workers are internal.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "env/env.h"
#include "livepoll/status.h"
#include "livepoll/value.h"
#include "source/plugin.h"

namespace livepoll::source {

struct SourceSpec {
  std::string name;
  std::shared_ptr<Plugin> plugin;
  std::string dsn;
  int connections = 4;
};

struct QuerySpec {
  std::string name;
  std::string source;
  std::string sql;
  std::vector<std::string> params;
};

struct PollJob {
  uint64_t poll_id = 0;
  std::string query;
  std::string source;
  std::vector<Value> params;
  // Run on the worker after a successful query, before its completion is queued: work in
  // proportion to the result's size that the event loop must not do (the Server's change
  // detection). It must touch nothing the owning thread changes meanwhile.
  std::function<void(const ResultSet&)> after;
};

struct PollCompletion {
  uint64_t poll_id = 0;
  Result<ResultSet> result = Status::Internal("not run");
  // The statements the database ran for this poll: 1 for a poll run alone, and for the first poll
  // of a multiplexed batch (0 for the others); 0 when none was run (unknown query, no connection).
  // Summed, they are the counter poll_statements.
  uint32_t statements = 0;
};

// What checking the catalog against the live sources found.
struct CatalogCheck {
  std::vector<std::string> errors;    // a query the source refuses (bad SQL, parameter mismatch)
  std::vector<std::string> warnings;  // a source that cannot be reached now
};

class PollRunner {
 public:
  // Every query's result is held to `limits` (collector.h).
  PollRunner(Env& env, std::vector<SourceSpec> sources, std::vector<QuerySpec> queries,
             ResultLimits limits = {});
  ~PollRunner();  // stops and joins the workers; queued jobs are dropped
  PollRunner(const PollRunner&) = delete;
  PollRunner& operator=(const PollRunner&) = delete;

  // Opens one connection per source and prepares each of its queries, so a query whose SQL or
  // parameters the source refuses is found at start-up. Call before Start.
  CatalogCheck Check();
  // The same check for a candidate set of sources and queries (a reload), before it is applied.
  static CatalogCheck CheckCatalog(const std::vector<SourceSpec>& sources,
                                   const std::vector<QuerySpec>& queries);
  // Starts the workers. Unavailable, and no worker started, when the runner could not create its
  // eventfd at construction (the system's reason named): its completions could not be signalled.
  [[nodiscard]] Status Start();

  // Queues a poll for the source's workers. An unknown source or query completes with an error.
  void Submit(PollJob job);
  // Queues the polls of several topics of one query as one job (see the top of the file).
  // REQUIRES: `jobs` not empty, all of one query and one source.
  void SubmitBatch(std::vector<PollJob> jobs);
  // Replaces the sources and queries (REQUIRES: Start succeeded). A source whose plugin, DSN or
  // connections changed, or that is new, gets new workers and connections; the jobs queued for
  // the old ones move to them (a poll in flight there completes as usual, then its workers exit).
  // A removed source's queued jobs complete with NotFound. A query whose SQL or parameters
  // changed is prepared again before its next run. Returns the names of the sources reopened.
  std::vector<std::string> Replace(std::vector<SourceSpec> sources, std::vector<QuerySpec> queries);
  // The sources as given (plugin, DSN, connections), by name.
  std::vector<SourceSpec> Sources() const;
  // Readable (level-triggered) while completions wait. REQUIRES: Start succeeded.
  int wake_fd() const { return wake_fd_; }
  std::vector<PollCompletion> TakeCompletions();

 private:
  struct SourceQueue;
  void Work(SourceQueue& q);
  // Runs `batch` (one query's polls) as one statement on `st` and completes each poll; `failed`
  // when the batch failed as a whole.
  void RunMultiplexed(std::vector<PollJob>& batch, Statement& st, bool& failed);
  void Complete(PollCompletion c);

  Env& env_;
  ResultLimits limits_;
  using Queries = std::map<std::string, QuerySpec>;
  // Shared with the workers, replaced whole by Replace; a worker reads it under queries_mu_.
  std::shared_ptr<const Queries> Snapshot() const;
  void StartWorkers(SourceQueue& q);

  mutable std::mutex queries_mu_;
  std::shared_ptr<const Queries> queries_;
  std::map<std::string, std::unique_ptr<SourceQueue>> sources_;
  // Queues of replaced sources: their workers may still finish a poll; joined at destruction.
  std::vector<std::unique_ptr<SourceQueue>> retired_;
  std::vector<std::thread> workers_;
  bool started_ = false;
  int wake_fd_ = -1;
  int wake_errno_ = 0;  // why eventfd failed, for Start
  std::mutex done_mu_;
  std::vector<PollCompletion> done_;
};

}  // namespace livepoll::source
