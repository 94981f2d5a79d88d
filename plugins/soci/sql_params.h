// Finding the `:name` parameters in SQL text, so prepare can refuse a catalog whose `params` list
// and SQL disagree before anything is run.
#pragma once

#include <string>
#include <vector>

namespace livepoll::soci_plugin {

// The distinct parameter names written `:name` in `sql`, in order of first use. Skipped: string
// literals ('...'), quoted identifiers ("..."), dollar-quoted strings ($tag$...$tag$), comments
// (-- and /* */), and PostgreSQL casts (`x::int` is not a parameter).
std::vector<std::string> SqlParamNames(const std::string& sql);

// "" when `sql` uses exactly the parameters in `declared` (each once in the list); otherwise why
// not.
std::string CheckParams(const std::string& sql, const std::vector<std::string>& declared);

}  // namespace livepoll::soci_plugin
