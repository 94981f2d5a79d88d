#include "net/catalog_json.h"

#include <chrono>
#include <vector>

#include "livepoll/json.h"

namespace livepoll::net {
namespace {

void AppendStrings(std::string& out, const std::vector<std::string>& list) {
  out += '[';
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, list[i]);
  }
  out += ']';
}

}  // namespace

std::string CatalogJson(const core::Catalog& catalog) {
  std::string out = "[";
  bool first = true;
  for (const auto& [name, q] : catalog.queries) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    AppendJsonString(out, name);
    out += ",\"params\":";
    AppendStrings(out, q.params);
    out += ",\"key\":";
    AppendStrings(out, q.key);
    out += ",\"interval_ms\":";
    out +=
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(q.interval).count());
    out += ",\"token_required\":";
    out += q.access.token_required ? "true" : "false";
    std::vector<std::string> bound;
    for (const auto& [param, claim] : q.access.bind) bound.push_back(param);
    out += ",\"bound\":";
    AppendStrings(out, bound);
    out += '}';
  }
  out += "]";
  return out;
}

}  // namespace livepoll::net
