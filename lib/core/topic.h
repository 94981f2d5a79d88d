// A topic names one subscription: a query name plus its canonical parameters.
//   "top_products"                        (no parameters)
//   "revenue_by_region?region=eu&year=2024"  (keys sorted; see PROTOCOL.md for the escaping)
// Two clients asking for the same query with the same parameters, in any order, get the same topic.
#pragma once

#include <string>
#include <string_view>

#include "livepoll/status.h"
#include "proto/messages.h"

namespace livepoll::core {

// Builds the canonical topic. Parameters are sorted by name; a repeated name is InvalidArgument.
Result<std::string> MakeTopic(std::string_view query, const proto::Params& params);

// The inverse of MakeTopic: query name and parameters sorted by name. Malformed on bad escaping.
struct ParsedTopic {
  std::string query;
  proto::Params params;
};
Result<ParsedTopic> ParseTopic(std::string_view topic);

}  // namespace livepoll::core
