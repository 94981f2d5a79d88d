#include "source/plugin.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "source/abi_check.h"
#include "source/batch_collector.h"
#include "source/collector.h"
#include "source/dsn_mask.h"

namespace livepoll::source {
namespace {

// Big enough for a database's error text; the plugin truncates to fit.
constexpr size_t kErrCap = 1024;

std::atomic<PluginLogFn> g_log{nullptr};

void DefaultLog(int level, const std::string& plugin, const std::string& message) {
  if (level < LP_LOG_WARN) return;
  std::fprintf(stderr, "%s plugin %s: %s\n", level >= LP_LOG_ERROR ? "ERROR" : "WARN",
               plugin.c_str(), message.c_str());
}

// The error text a plugin wrote into `err`, never read past the buffer even if it forgot the NUL.
std::string ErrText(const char* err, int rc) {
  std::string text(err, strnlen(err, kErrCap));
  if (text.empty()) text = "failed (code " + std::to_string(rc) + ") without a message";
  return text;
}

// Converts a parameter to the ABI's form. The strings it points into must outlive the call.
lp_value ToLp(const Value& v) {
  lp_value out{};
  switch (v.index()) {
    case 0:
      out.type = LP_NULL;
      break;
    case 1:
      out.type = LP_INT;
      out.u.i = std::get<int64_t>(v);
      break;
    case 2:
      out.type = LP_REAL;
      out.u.r = std::get<double>(v);
      break;
    case 3: {
      const auto& s = std::get<std::string>(v);
      out.type = LP_TEXT;
      out.u.s.data = s.data();
      out.u.s.len = s.size();
      break;
    }
    case 4: {
      const auto& b = std::get<Blob>(v).bytes;
      out.type = LP_BLOB;
      out.u.s.data = b.data();
      out.u.s.len = b.size();
      break;
    }
    case 5:
      out.type = LP_BOOL;
      out.u.i = std::get<bool>(v) ? 1 : 0;
      break;
  }
  return out;
}

class PluginImpl;

using QueryBatchPtr = decltype(lp_source_plugin::query_batch);

// ABI 1.1's query_batch, or nullptr when the plugin's struct stops before it (an older plugin) or
// leaves it NULL: read only when struct_size covers it (source.h, "Versioning rules").
QueryBatchPtr QueryBatchFn(const lp_source_plugin& api) {
  return api.struct_size >= LIVEPOLL_SOURCE_V1_1_SIZE ? api.query_batch : nullptr;
}

// One open lp_connection. Statements hold it too, so the connection is closed only after its last
// statement is finalized, and the library stays loaded until then.
struct ConnHandle {
  ConnHandle(std::shared_ptr<const PluginImpl> p, const lp_source_plugin* a, lp_connection* c,
             std::string d)
      : plugin(std::move(p)), api(a), conn(c), dsn(std::move(d)) {}
  ConnHandle(const ConnHandle&) = delete;  // a copy would close the connection twice
  ConnHandle& operator=(const ConnHandle&) = delete;
  std::shared_ptr<const PluginImpl> plugin;
  const lp_source_plugin* api;
  lp_connection* conn;
  std::string dsn;  // for RedactDsn: the plugin's errors may quote it
  ~ConnHandle() { api->close(conn); }
};

class StatementImpl : public Statement {
 public:
  StatementImpl(std::shared_ptr<ConnHandle> conn, lp_statement* stmt, size_t param_count)
      : conn_(std::move(conn)), stmt_(stmt), param_count_(param_count) {}
  ~StatementImpl() override { conn_->api->finalize(stmt_); }

  Result<ResultSet> Query(const std::vector<Value>& params, const ResultLimits& limits) override;
  bool multiplexed() const override { return QueryBatchFn(*conn_->api) != nullptr; }
  Result<std::vector<Result<ResultSet>>> QueryBatch(const std::vector<std::vector<Value>>& sets,
                                                    const ResultLimits& limits) override;

 private:
  std::shared_ptr<ConnHandle> conn_;
  lp_statement* stmt_;
  size_t param_count_;
};

class ConnectionImpl : public Connection {
 public:
  explicit ConnectionImpl(std::shared_ptr<ConnHandle> conn) : conn_(std::move(conn)) {}
  Result<std::unique_ptr<Statement>> Prepare(const std::string& sql,
                                             const std::vector<std::string>& param_names) override;

 private:
  std::shared_ptr<ConnHandle> conn_;
};

class PluginImpl : public Plugin, public std::enable_shared_from_this<PluginImpl> {
 public:
  PluginImpl(std::unique_ptr<SharedLibrary> lib, const lp_source_plugin* api)
      : lib_(std::move(lib)),
        api_(api),
        name_(api->name),
        version_(api->version != nullptr ? api->version : "") {
    host_.struct_size = sizeof(host_);
    host_.abi_major = LIVEPOLL_SOURCE_ABI_MAJOR;
    host_.ctx = this;
    host_.log = &PluginImpl::Log;
  }

  const std::string& path() const override { return lib_->path(); }
  const std::string& name() const override { return name_; }
  const std::string& version() const override { return version_; }
  uint32_t abi_major() const override { return api_->abi_major; }
  uint32_t abi_minor() const override { return api_->abi_minor; }

  Result<std::unique_ptr<Connection>> Open(const std::string& dsn) override {
    {
      // Before the open: the plugin may log the DSN while opening.
      std::lock_guard lock(dsns_mu_);
      if (dsns_.size() < kMaxRedactedDsns) dsns_.insert(dsn);
    }
    char err[kErrCap] = {};
    lp_connection* conn = nullptr;
    int rc = api_->open(&host_, dsn.c_str(), &conn, err, sizeof(err));
    if (rc != 0)
      return Status::Unavailable(name_ + ": cannot open '" + MaskDsnSecrets(dsn) +
                                 "': " + RedactDsn(ErrText(err, rc), dsn));
    if (conn == nullptr) return Status::Internal(name_ + ": open succeeded without a connection");
    auto handle = std::make_shared<ConnHandle>(shared_from_this(), api_, conn, dsn);
    return std::unique_ptr<Connection>(new ConnectionImpl(std::move(handle)));
  }

 private:
  // lp_host.log. It runs in the plugin's C frames, so nothing may be thrown out of it: a line
  // that cannot be copied (a length no string can hold, out of memory) or that the hook throws on
  // is dropped.
  static void Log(void* ctx, int level, const char* msg, size_t len) noexcept {
    try {
      auto* self = static_cast<PluginImpl*>(ctx);
      // std::string(msg, len) would throw as well, but only after computing msg + len.
      if (len > std::string().max_size()) return;
      std::string text(msg == nullptr ? "" : std::string(msg, len));
      {
        std::lock_guard lock(self->dsns_mu_);
        for (const std::string& dsn : self->dsns_) text = RedactDsn(std::move(text), dsn);
      }
      PluginLogFn fn = g_log.load();
      (fn != nullptr ? fn : &DefaultLog)(level, self->name_, text);
    } catch (...) {
    }
  }

  std::unique_ptr<SharedLibrary> lib_;  // declared first: destroyed last, after nothing uses api_
  const lp_source_plugin* api_;
  std::string name_;
  std::string version_;
  lp_host host_{};
  // The DSNs opened through this plugin, hidden in its log lines (which name no connection). A
  // daemon opens a handful of sources; the cap only guards against a caller opening endlessly.
  static constexpr size_t kMaxRedactedDsns = 64;
  std::mutex dsns_mu_;  // Log runs on the poll threads
  std::set<std::string> dsns_;
};

Result<std::unique_ptr<Statement>> ConnectionImpl::Prepare(
    const std::string& sql, const std::vector<std::string>& param_names) {
  std::vector<lp_str> names;
  names.reserve(param_names.size());
  for (const auto& n : param_names) names.push_back(lp_str{n.data(), n.size()});
  char err[kErrCap] = {};
  lp_statement* stmt = nullptr;
  int rc = conn_->api->prepare(conn_->conn, sql.c_str(), names.data(), names.size(), &stmt, err,
                               sizeof(err));
  const std::string& plugin = conn_->plugin->name();
  if (rc != 0)
    return Status::InvalidArgument(
        plugin + ": cannot prepare query: " + RedactDsn(ErrText(err, rc), conn_->dsn));
  if (stmt == nullptr) return Status::Internal(plugin + ": prepare succeeded without a statement");
  return std::unique_ptr<Statement>(new StatementImpl(conn_, stmt, param_names.size()));
}

Result<ResultSet> StatementImpl::Query(const std::vector<Value>& params,
                                       const ResultLimits& limits) {
  const std::string& plugin = conn_->plugin->name();
  if (params.size() != param_count_) {
    return Status::InvalidArgument(plugin + ": query takes " + std::to_string(param_count_) +
                                   " parameters, got " + std::to_string(params.size()));
  }
  std::vector<lp_value> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(ToLp(p));

  Collector collector(limits);
  lp_sink sink = collector.sink();
  char err[kErrCap] = {};
  int rc = conn_->api->query(stmt_, values.data(), values.size(), &sink, err, sizeof(err));
  if (Status failed = collector.Failure(plugin); !failed.ok()) return failed;
  if (rc != 0)
    return Status::Unavailable(plugin +
                               ": query failed: " + RedactDsn(ErrText(err, rc), conn_->dsn));
  if (!collector.have_columns()) return Status::Malformed(plugin + ": plugin sent no columns");
  return collector.Take();
}

Result<std::vector<Result<ResultSet>>> StatementImpl::QueryBatch(
    const std::vector<std::vector<Value>>& sets, const ResultLimits& limits) {
  const std::string& plugin = conn_->plugin->name();
  QueryBatchPtr query_batch = QueryBatchFn(*conn_->api);
  if (query_batch == nullptr) return Status::Internal(plugin + ": no multiplexed query entry");
  if (sets.empty()) return Status::InvalidArgument(plugin + ": a batch of no parameter sets");
  std::vector<lp_value> values;
  values.reserve(sets.size() * param_count_);
  for (const auto& set : sets) {
    if (set.size() != param_count_) {
      return Status::InvalidArgument(plugin + ": query takes " + std::to_string(param_count_) +
                                     " parameters, got " + std::to_string(set.size()));
    }
    for (const auto& p : set) values.push_back(ToLp(p));
  }
  BatchCollector collector(sets.size(), limits);
  lp_batch_sink sink = collector.sink();
  char err[kErrCap] = {};
  int rc = query_batch(stmt_, values.data(), param_count_, sets.size(), &sink, err, sizeof(err));
  if (Status failed = collector.Failure(plugin); !failed.ok()) return failed;
  if (rc != 0)
    return Status::Unavailable(plugin +
                               ": query failed: " + RedactDsn(ErrText(err, rc), conn_->dsn));
  if (!collector.have_columns()) return Status::Malformed(plugin + ": plugin sent no columns");
  return collector.Take(plugin);
}

}  // namespace

void SetPluginLog(PluginLogFn fn) { g_log.store(fn); }

Result<std::shared_ptr<Plugin>> Plugin::Load(Env& env, const std::string& path) {
  auto lib = env.OpenLibrary(path);
  if (!lib.ok()) return lib.status();
  // Returning before PluginImpl owns `lib` dlcloses the refused library.
  void* sym = (*lib)->Symbol(LIVEPOLL_SOURCE_ENTRY_SYMBOL);
  if (sym == nullptr) {
    return Status::InvalidArgument(path + ": not a livepoll data-source plugin: no " +
                                   LIVEPOLL_SOURCE_ENTRY_SYMBOL + " symbol");
  }
  auto entry = reinterpret_cast<lp_source_entry_fn>(sym);
  const lp_source_plugin* api = entry();
  if (api == nullptr) {
    return Status::InvalidArgument(path + ": " + LIVEPOLL_SOURCE_ENTRY_SYMBOL + " returned NULL");
  }
  if (Status s = CheckPluginAbi(path, api); !s.ok()) return s;
  return std::shared_ptr<Plugin>(std::make_shared<PluginImpl>(std::move(*lib), api));
}

}  // namespace livepoll::source
