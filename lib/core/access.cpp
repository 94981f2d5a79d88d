#include "core/access.h"

#include <algorithm>

namespace livepoll::core {

Result<proto::Params> Authorize(const std::string& query, const QueryAccess& access,
                                const ClientIdentity& who, const proto::Params& params,
                                int64_t now) {
  if (!access.token_required) return params;
  if (!who.claims) {
    if (!who.refusal.empty()) return Status::PermissionDenied(who.refusal);
    return Status::PermissionDenied("token required: query '" + query +
                                    "' needs a token (send auth before join)");
  }
  if (who.expires && now >= *who.expires) return Status::PermissionDenied("token expired");
  const Claims& claims = *who.claims;
  if (!access.allow.empty()) {
    const bool allowed = std::any_of(access.allow.begin(), access.allow.end(), [&](const auto& a) {
      auto c = claims.find(a.first);
      return c != claims.end() && c->second == a.second;
    });
    if (!allowed) {
      std::string wanted;
      for (const auto& [claim, value] : access.allow)
        wanted += (wanted.empty() ? "" : ", ") + claim + "=" + value;
      return Status::PermissionDenied(access.allow.size() == 1
                                          ? "claim " + wanted + " required"
                                          : "one of the claims " + wanted + " required");
    }
  }
  proto::Params out = params;
  for (const auto& [param, claim] : access.bind) {
    auto c = claims.find(claim);
    const std::string bound = "parameter " + param + " is bound to the token's claim " + claim;
    if (c == claims.end()) return Status::PermissionDenied(bound + ", which the token lacks");
    bool given = false;
    for (const auto& [name, value] : out) {
      if (name != param) continue;
      if (value != c->second) return Status::PermissionDenied(bound + ": the join's value differs");
      given = true;
    }
    if (!given) out.emplace_back(param, c->second);
  }
  return out;
}

}  // namespace livepoll::core
