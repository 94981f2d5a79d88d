// The C++ side of the data-source plugin ABI (plugins/include/livepoll/source.h): loading and
// checking a plugin, and typed wrappers around its connections and statements.
//
// A plugin is refused before it is trusted: Plugin::Load checks the entry point, then
// `struct_size` and `abi_major`, and only then reads any other field (abi_check.h). Every refusal
// names the file and, for version mismatches, both versions.
//
// The host keeps its side of the ABI too: no exception crosses a callback it lends the plugin (the
// result sink, collector.h, and lp_host.log). A query whose result cannot be collected fails with
// a Status; a log line that cannot be copied is dropped.
//
// Thread safety: a Plugin may be shared between threads. A Connection (and its Statements) is
// used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "env/env.h"
#include "livepoll/source.h"
#include "livepoll/status.h"
#include "livepoll/value.h"
#include "source/collector.h"    // ResultLimits
#include "source/plugin_path.h"  // finding the file to Load: callers of the loader use both

namespace livepoll::source {

class Statement {
 public:
  virtual ~Statement() = default;
  // Runs the statement with `params` bound in the order given at Prepare. Fails with
  // InvalidArgument for the wrong number of parameters; Unavailable when the plugin reports an
  // error or the host runs out of memory collecting the result; Malformed when the plugin breaks
  // the sink contract (collector.h); Unavailable "result too large ..." past `limits`, the plugin
  // stopped at the first row over them.
  virtual Result<ResultSet> Query(const std::vector<Value>& params,
                                  const ResultLimits& limits = {}) = 0;
  // Whether the plugin runs several parameter sets as one statement (ABI 1.1's optional
  // `query_batch`). Without it, a caller runs Query once per set.
  virtual bool multiplexed() const = 0;
  // Multiplexed polling: runs the statement once for all of `sets` (each in the order given at
  // Prepare) and splits the result by set. The outer failure is the whole batch's (the plugin's
  // error, a broken sink contract, a parameter count wrong in any set): it applies to every set.
  // Otherwise one result per set, in order: its rows (possibly none), or "result too large" past
  // `limits`, which hold for each set on its own as for Query.
  // REQUIRES: multiplexed(), and `sets` not empty.
  virtual Result<std::vector<Result<ResultSet>>> QueryBatch(
      const std::vector<std::vector<Value>>& sets, const ResultLimits& limits = {}) = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Prepares `sql` whose parameters are written `:name`; `param_names` must match them exactly.
  virtual Result<std::unique_ptr<Statement>> Prepare(
      const std::string& sql, const std::vector<std::string>& param_names) = 0;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  // Loads and checks the shared object at `path`.
  static Result<std::shared_ptr<Plugin>> Load(Env& env, const std::string& path);

  virtual const std::string& path() const = 0;
  virtual const std::string& name() const = 0;
  virtual const std::string& version() const = 0;
  virtual uint32_t abi_major() const = 0;
  virtual uint32_t abi_minor() const = 0;
  // Connects to `dsn`. The connection keeps the plugin loaded while it lives.
  virtual Result<std::unique_ptr<Connection>> Open(const std::string& dsn) = 0;
};

// Where plugins' log lines (lp_host.log) go: `level` is one of LP_LOG_*, `plugin` the plugin's
// name. The default writes WARN and ERROR to stderr; a program may point it at its own logger.
// It may be set at any time from any thread (it is an atomic pointer); nullptr restores the
// default. `fn` is called on the plugin's threads, inside its C frames: if it throws, the line is
// dropped.
using PluginLogFn = void (*)(int level, const std::string& plugin, const std::string& message);
void SetPluginLog(PluginLogFn fn);

}  // namespace livepoll::source
