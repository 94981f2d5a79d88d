#include "source/poll_runner.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace livepoll::source {

struct PollRunner::SourceQueue {
  SourceSpec spec;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<PollJob>> jobs;  // a batch of one query's polls, or one poll
  bool stopping = false;
};

PollRunner::PollRunner(Env& env, std::vector<SourceSpec> sources, std::vector<QuerySpec> queries,
                       ResultLimits limits)
    : env_(env), limits_(limits) {
  auto all = std::make_shared<Queries>();
  for (auto& q : queries) (*all)[q.name] = std::move(q);
  queries_ = std::move(all);
  for (auto& s : sources) {
    auto q = std::make_unique<SourceQueue>();
    q->spec = std::move(s);
    sources_[q->spec.name] = std::move(q);
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) wake_errno_ = errno;
}

std::vector<SourceSpec> PollRunner::Sources() const {
  std::vector<SourceSpec> specs;
  for (const auto& [name, q] : sources_) specs.push_back(q->spec);
  return specs;
}

std::shared_ptr<const PollRunner::Queries> PollRunner::Snapshot() const {
  std::lock_guard<std::mutex> lock(queries_mu_);
  return queries_;
}

namespace {
void StopQueue(std::mutex& mu, std::condition_variable& cv, bool& stopping) {
  std::lock_guard<std::mutex> lock(mu);
  stopping = true;
  cv.notify_all();
}
}  // namespace

PollRunner::~PollRunner() {
  for (auto& [name, q] : sources_) StopQueue(q->mu, q->cv, q->stopping);
  for (auto& q : retired_) StopQueue(q->mu, q->cv, q->stopping);
  for (auto& w : workers_) w.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

CatalogCheck PollRunner::Check() {
  std::vector<SourceSpec> sources;
  for (auto& [name, q] : sources_) sources.push_back(q->spec);
  std::vector<QuerySpec> queries;
  for (const auto& [name, q] : *Snapshot()) queries.push_back(q);
  return CheckCatalog(sources, queries);
}

CatalogCheck PollRunner::CheckCatalog(const std::vector<SourceSpec>& sources,
                                      const std::vector<QuerySpec>& queries) {
  CatalogCheck check;
  for (const SourceSpec& source : sources) {
    const std::string& name = source.name;
    Result<std::unique_ptr<Connection>> conn = source.plugin->Open(source.dsn);
    if (!conn.ok()) {
      check.warnings.push_back("source '" + name + "': cannot connect: " + conn.status().message());
      continue;
    }
    for (const QuerySpec& spec : queries) {
      const std::string& qname = spec.name;
      if (spec.source != name) continue;
      Result<std::unique_ptr<Statement>> st = (*conn)->Prepare(spec.sql, spec.params);
      if (!st.ok())
        check.errors.push_back("query '" + qname + "' (source '" + name +
                               "'): " + st.status().message());
    }
  }
  return check;
}

Status PollRunner::Start() {
  if (wake_fd_ < 0) {
    return Status::Unavailable(std::string("poll runner: cannot create its wake-up eventfd: ") +
                               std::strerror(wake_errno_));
  }
  for (auto& [name, q] : sources_) StartWorkers(*q);
  started_ = true;
  return Status::Ok();
}

void PollRunner::StartWorkers(SourceQueue& q) {
  for (int i = 0; i < std::max(1, q.spec.connections); ++i) {
    SourceQueue* sq = &q;
    workers_.push_back(env_.StartThread("poll-" + q.spec.name, [this, sq] { Work(*sq); }));
  }
}

std::vector<std::string> PollRunner::Replace(std::vector<SourceSpec> sources,
                                             std::vector<QuerySpec> queries) {
  auto all = std::make_shared<Queries>();
  for (auto& q : queries) (*all)[q.name] = std::move(q);
  {
    std::lock_guard<std::mutex> lock(queries_mu_);
    queries_ = std::move(all);
  }
  std::vector<std::string> reopened;
  std::map<std::string, std::unique_ptr<SourceQueue>> next;
  for (SourceSpec& spec : sources) {
    auto old = sources_.find(spec.name);
    if (old != sources_.end() && old->second->spec.plugin == spec.plugin &&
        old->second->spec.dsn == spec.dsn && old->second->spec.connections == spec.connections) {
      next[spec.name] = std::move(old->second);
      sources_.erase(old);
      continue;
    }
    auto q = std::make_unique<SourceQueue>();
    q->spec = std::move(spec);
    if (old != sources_.end()) {  // its queued jobs move to the new workers
      std::lock_guard<std::mutex> lock(old->second->mu);
      q->jobs.swap(old->second->jobs);
    }
    if (started_) StartWorkers(*q);
    reopened.push_back(q->spec.name);
    next[q->spec.name] = std::move(q);
  }
  // What is left in sources_ was replaced or removed: its workers exit after their poll in flight.
  for (auto& [name, q] : sources_) {
    std::deque<std::vector<PollJob>> orphaned;
    {
      std::lock_guard<std::mutex> lock(q->mu);
      orphaned.swap(q->jobs);
      q->stopping = true;
      q->cv.notify_all();
    }
    for (std::vector<PollJob>& batch : orphaned)
      for (PollJob& job : batch)
        Complete({job.poll_id, Status::NotFound("source '" + name + "' was removed")});
    retired_.push_back(std::move(q));
  }
  sources_ = std::move(next);
  return reopened;
}

void PollRunner::Submit(PollJob job) {
  std::vector<PollJob> one;
  one.push_back(std::move(job));
  SubmitBatch(std::move(one));
}

void PollRunner::SubmitBatch(std::vector<PollJob> jobs) {
  if (jobs.empty()) return;
  auto s = sources_.find(jobs.front().source);
  if (s == sources_.end()) {
    for (const PollJob& job : jobs)
      Complete({job.poll_id, Status::NotFound("unknown source '" + job.source + "'")});
    return;
  }
  std::lock_guard<std::mutex> lock(s->second->mu);
  s->second->jobs.push_back(std::move(jobs));
  s->second->cv.notify_one();
}

void PollRunner::Complete(PollCompletion c) {
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done_.push_back(std::move(c));
  }
  // Adds 1 to the eventfd's counter. EAGAIN means the counter is at its maximum, so the fd is
  // readable already; on a valid eventfd no other error can happen but EINTR.
  uint64_t one = 1;
  while (write(wake_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

std::vector<PollCompletion> PollRunner::TakeCompletions() {
  // Resets the eventfd's counter before the queue is emptied, so a completion queued meanwhile
  // signals again. EAGAIN means there was nothing to reset (a completion's signal was taken by an
  // earlier call); on a valid eventfd no other error can happen but EINTR.
  uint64_t count;
  while (read(wake_fd_, &count, sizeof count) < 0 && errno == EINTR) {
  }
  std::lock_guard<std::mutex> lock(done_mu_);
  std::vector<PollCompletion> out;
  out.swap(done_);
  return out;
}

void PollRunner::RunMultiplexed(std::vector<PollJob>& batch, Statement& st, bool& failed) {
  std::vector<std::vector<Value>> sets;
  sets.reserve(batch.size());
  for (const PollJob& job : batch) sets.push_back(job.params);
  Result<std::vector<Result<ResultSet>>> results = st.QueryBatch(sets, limits_);
  uint32_t statements = 1;  // counted once, on the first poll of the batch
  if (!results.ok()) {
    failed = true;
    for (const PollJob& job : batch) {
      Complete({job.poll_id, results.status(), statements});
      statements = 0;
    }
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if ((*results)[i].ok() && batch[i].after) batch[i].after(*(*results)[i]);
    Complete({batch[i].poll_id, std::move((*results)[i]), statements});
    statements = 0;
  }
}

void PollRunner::Work(SourceQueue& q) {
  std::unique_ptr<Connection> conn;
  struct Prepared {
    std::string sql;  // what it was prepared from: a reload may change it
    std::vector<std::string> params;
    std::unique_ptr<Statement> statement;
  };
  std::map<std::string, Prepared> statements;  // by query name, on `conn`
  for (;;) {
    std::vector<PollJob> batch;
    {
      std::unique_lock<std::mutex> lock(q.mu);
      q.cv.wait(lock, [&] { return q.stopping || !q.jobs.empty(); });
      if (q.stopping) return;
      batch = std::move(q.jobs.front());
      q.jobs.pop_front();
    }
    const std::string& query = batch.front().query;
    const std::shared_ptr<const Queries> queries = Snapshot();
    // The statement on this worker's connection, opened and prepared as needed.
    auto statement = [&]() -> Result<Statement*> {
      auto spec = queries->find(query);
      if (spec == queries->end()) return Status::NotFound("unknown query '" + query + "'");
      if (!conn) {
        Result<std::unique_ptr<Connection>> c = q.spec.plugin->Open(q.spec.dsn);
        if (!c.ok())
          return Status::Unavailable("source '" + q.spec.name + "': " + c.status().message());
        conn = std::move(c.value());
      }
      Prepared& p = statements[query];
      if (!p.statement || p.sql != spec->second.sql || p.params != spec->second.params) {
        p.statement.reset();
        Result<std::unique_ptr<Statement>> s = conn->Prepare(spec->second.sql, spec->second.params);
        if (!s.ok()) return s.status();
        p = {spec->second.sql, spec->second.params, std::move(s.value())};
      }
      return p.statement.get();
    };
    // Start afresh after a failure: the connection may be what broke (server restart, dropped
    // link). A result too large broke nothing.
    auto reset = [&] {
      statements.clear();
      conn.reset();
    };
    size_t next = 0;  // the first poll of `batch` not completed yet
    while (next < batch.size()) {
      Result<Statement*> st = statement();
      if (!st.ok()) {  // no statement to run: the rest of the batch fails alike
        for (; next < batch.size(); ++next) Complete({batch[next].poll_id, st.status(), 0});
        reset();
        break;
      }
      if (batch.size() > 1 && (*st)->multiplexed()) {
        bool failed = false;
        RunMultiplexed(batch, **st, failed);
        if (failed) reset();
        break;
      }
      // One statement per poll: a single poll, or a plugin without query_batch (ABI 1.0), which
      // runs as separate Submits would have.
      PollJob& job = batch[next++];
      Result<ResultSet> result = (*st)->Query(job.params, limits_);
      const bool failed = !result.ok() && !IsResultTooLarge(result.status());
      if (result.ok() && job.after) job.after(*result);
      Complete({job.poll_id, std::move(result), 1});
      if (failed) reset();
    }
  }
}

}  // namespace livepoll::source
