// Finding the `:name` parameters in SQL text, so prepare can refuse a catalog whose `params` list
// and SQL disagree before anything is run, and rewriting them for drivers that want positional
// placeholders. Shared by the plugins (static library livepoll_sql_params).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace livepoll::plugin_sql {

// One `:name` in the SQL text: the name, and where `:name` starts and how long it is (colon
// included).
struct ParamUse {
  std::string name;
  size_t pos = 0;
  size_t len = 0;
};

// Every `:name` written in `sql`, in text order (a name used twice appears twice). Skipped: string
// literals ('...', and E'...' with backslash escapes), quoted identifiers ("..."), dollar-quoted
// strings ($tag$...$tag$), comments (-- and /* */), and PostgreSQL casts (`x::int` is not a
// parameter).
std::vector<ParamUse> FindParams(const std::string& sql);

// The distinct parameter names written `:name` in `sql`, in order of first use.
std::vector<std::string> SqlParamNames(const std::string& sql);

// "" when `sql` uses exactly the parameters in `declared` (each once in the list); otherwise why
// not.
std::string CheckParams(const std::string& sql, const std::vector<std::string>& declared);

// `sql` with each `:name` replaced by `$N`, N being the name's 1-based position in `declared` (a
// repeated name reuses its number). Call after CheckParams accepted the pair; a name not in
// `declared` is left as it is.
std::string ToPositional(const std::string& sql, const std::vector<std::string>& declared);

// The same with `prefix` before the number instead of '$': e.g. "_lp_subs._lp_p" turns the
// parameters into columns of a multiplexed query's table of parameter sets.
std::string ToNumbered(const std::string& sql, const std::vector<std::string>& declared,
                       const std::string& prefix);

}  // namespace livepoll::plugin_sql
