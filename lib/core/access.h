// Who may watch what: a query's access rule (auth, bind, allow in livepoll.conf(5)) applied to
// what a client proved on its connection. A pure function of its inputs, so that every client
// endpoint (the native one in net/server.cpp, a WebSocket gateway later) refuses the same joins
// with the same words. The token itself is checked before (auth/token.h); this sees its claims.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "livepoll/status.h"
#include "proto/messages.h"

namespace livepoll::core {

// A verified token's claims, flat: claim name -> text.
using Claims = std::map<std::string, std::string>;

// A catalog query's rule.
struct QueryAccess {
  bool token_required = false;  // auth = token: a join needs a valid token
  // bind.PARAM = CLAIM: the parameter's value is the token's claim; a client may leave it out
  // or give the same value, never another. Sorted by parameter.
  std::vector<std::pair<std::string, std::string>> bind;
  // allow = CLAIM=VALUE, ...: a token must carry at least one of these claim values (OR); empty:
  // any valid token.
  std::vector<std::pair<std::string, std::string>> allow;
  bool operator==(const QueryAccess&) const = default;
};

// What a client proved on its connection: its last `auth` message's outcome.
struct ClientIdentity {
  std::optional<Claims> claims;    // the verified token's claims; nullopt: no valid token
  std::optional<int64_t> expires;  // the token's `exp`, seconds since 1970
  std::string refusal;             // why its last token was refused ("token expired"); "": none
};

// The parameters a join of a query with rule `access` runs with, given the client's `params`
// and `who` it is at `now` (seconds since 1970): the client's, with each bound parameter set
// from its claim. A query without token_required takes anyone's join unchanged. Refusals are
// PermissionDenied, their messages for the client:
//   "token required: query 'Q' needs a token (send auth before join)"
//   the refusal of the client's token, as auth/token.h words it ("token expired", ...)
//   "token expired"                     (valid at auth time, expired since: checked again here)
//   "claim role=admin required"         (or "one of the claims role=admin, group=ops required")
//   "parameter user_id is bound to the token's claim sub, which the token lacks"
//   "parameter user_id is bound to the token's claim sub: the join's value differs"
// A subscription made is not checked again: a token that expires while its client watches
// ends nothing; the client's next join (a reconnection included) needs a valid one.
Result<proto::Params> Authorize(const std::string& query, const QueryAccess& access,
                                const ClientIdentity& who, const proto::Params& params,
                                int64_t now);

}  // namespace livepoll::core
