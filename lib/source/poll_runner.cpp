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
  for (auto& q : queries) queries_[q.name] = std::move(q);
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

PollRunner::~PollRunner() {
  for (auto& [name, q] : sources_) {
    std::lock_guard<std::mutex> lock(q->mu);
    q->stopping = true;
    q->cv.notify_all();
  }
  for (auto& w : workers_) w.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

CatalogCheck PollRunner::Check() {
  CatalogCheck check;
  for (auto& [name, q] : sources_) {
    Result<std::unique_ptr<Connection>> conn = q->spec.plugin->Open(q->spec.dsn);
    if (!conn.ok()) {
      check.warnings.push_back("source '" + name + "': cannot connect: " + conn.status().message());
      continue;
    }
    for (const auto& [qname, spec] : queries_) {
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
  for (auto& [name, q] : sources_) {
    for (int i = 0; i < std::max(1, q->spec.connections); ++i) {
      SourceQueue* sq = q.get();
      workers_.push_back(env_.StartThread("poll-" + name, [this, sq] { Work(*sq); }));
    }
  }
  return Status::Ok();
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
  std::map<std::string, std::unique_ptr<Statement>> statements;  // by query name, on `conn`
  for (;;) {
    PollJob job;
    {
      std::unique_lock<std::mutex> lock(q.mu);
      q.cv.wait(lock, [&] { return q.stopping || !q.jobs.empty(); });
      if (q.stopping) return;
      job = std::move(q.jobs.front());
      q.jobs.pop_front();
    }
    Result<ResultSet> result = [&]() -> Result<ResultSet> {
      auto spec = queries_.find(job.query);
      if (spec == queries_.end()) return Status::NotFound("unknown query '" + job.query + "'");
      if (!conn) {
        Result<std::unique_ptr<Connection>> c = q.spec.plugin->Open(q.spec.dsn);
        if (!c.ok())
          return Status::Unavailable("source '" + q.spec.name + "': " + c.status().message());
        conn = std::move(c.value());
      }
      auto& st = statements[job.query];
      if (!st) {
        Result<std::unique_ptr<Statement>> s = conn->Prepare(spec->second.sql, spec->second.params);
        if (!s.ok()) return s.status();
        st = std::move(s.value());
      }
      return st->Query(job.params, limits_);
    }();
    if (!result.ok() && !IsResultTooLarge(result.status())) {
      // Start afresh next time: the connection may be what broke (server restart, dropped link).
      statements.clear();
      conn.reset();
    }
    Complete({job.poll_id, std::move(result)});
  }
}

}  // namespace livepoll::source
