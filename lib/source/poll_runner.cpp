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
  std::deque<PollJob> jobs;
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
    std::deque<PollJob> orphaned;
    {
      std::lock_guard<std::mutex> lock(q->mu);
      orphaned.swap(q->jobs);
      q->stopping = true;
      q->cv.notify_all();
    }
    for (PollJob& job : orphaned)
      Complete({job.poll_id, Status::NotFound("source '" + name + "' was removed")});
    retired_.push_back(std::move(q));
  }
  sources_ = std::move(next);
  return reopened;
}

void PollRunner::Submit(PollJob job) {
  auto s = sources_.find(job.source);
  if (s == sources_.end()) {
    Complete({job.poll_id, Status::NotFound("unknown source '" + job.source + "'")});
    return;
  }
  std::lock_guard<std::mutex> lock(s->second->mu);
  s->second->jobs.push_back(std::move(job));
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

void PollRunner::Work(SourceQueue& q) {
  std::unique_ptr<Connection> conn;
  struct Prepared {
    std::string sql;  // what it was prepared from: a reload may change it
    std::vector<std::string> params;
    std::unique_ptr<Statement> statement;
  };
  std::map<std::string, Prepared> statements;  // by query name, on `conn`
  for (;;) {
    PollJob job;
    {
      std::unique_lock<std::mutex> lock(q.mu);
      q.cv.wait(lock, [&] { return q.stopping || !q.jobs.empty(); });
      if (q.stopping) return;
      job = std::move(q.jobs.front());
      q.jobs.pop_front();
    }
    const std::shared_ptr<const Queries> queries = Snapshot();
    Result<ResultSet> result = [&]() -> Result<ResultSet> {
      auto spec = queries->find(job.query);
      if (spec == queries->end()) return Status::NotFound("unknown query '" + job.query + "'");
      if (!conn) {
        Result<std::unique_ptr<Connection>> c = q.spec.plugin->Open(q.spec.dsn);
        if (!c.ok())
          return Status::Unavailable("source '" + q.spec.name + "': " + c.status().message());
        conn = std::move(c.value());
      }
      Prepared& st = statements[job.query];
      if (!st.statement || st.sql != spec->second.sql || st.params != spec->second.params) {
        st.statement.reset();
        Result<std::unique_ptr<Statement>> s = conn->Prepare(spec->second.sql, spec->second.params);
        if (!s.ok()) return s.status();
        st = {spec->second.sql, spec->second.params, std::move(s.value())};
      }
      return st.statement->Query(job.params, limits_);
    }();
    if (!result.ok() && !IsResultTooLarge(result.status())) {
      // Start afresh next time: the connection may be what broke (server restart, dropped link).
      statements.clear();
      conn.reset();
    }
    if (result.ok() && job.after) job.after(*result);
    Complete({job.poll_id, std::move(result)});
  }
}

}  // namespace livepoll::source
