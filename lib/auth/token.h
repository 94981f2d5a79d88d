// Signed client tokens: JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (JWS "HS256", RFC 7515),
// so that any language's JWT library can mint one for livepolld. Pure functions: no clock, no
// files; the caller gives the time and the key. Thread-safe.
//
// A token is `BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)`, base64url
// without padding, the signature an HMAC-SHA256 of the first two parts as written, under the
// node's `token_secret`. What VerifyToken accepts:
//  - at most kMaxTokenBytes bytes; exactly three parts; canonical base64url (no padding);
//  - a header that is a JSON object whose `alg` is "HS256" (anything else, `none` included, is
//    refused before the signature is looked at) and that has no `crit` (no extension is known);
//  - a 32-byte signature equal, compared in constant time, to the HMAC under `secret`;
//  - a payload that is a JSON object, each member name given once (a repeated name is refused:
//    two parsers must not read two different tokens);
//  - `exp` and `nbf`, when present, numbers (seconds since 1970, fractions truncated): the token
//    is refused from `exp` on and before `nbf` (no leeway: keep the clocks in step with NTP).
// The claims are the payload's top-level members made flat: a string as it is, a number as its
// JSON text ("42", "1.5"), a boolean as "true" or "false". A member that is null, an object or an
// array is left out of the claims (it can be neither bound nor allowed on), not refused, so that
// tokens carrying nested claims for other services (Hasura's, `aud` as a list) still work here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "livepoll/status.h"

namespace livepoll::auth {

// A token longer than this is refused unread (a header carries it; none needs more).
inline constexpr size_t kMaxTokenBytes = 8192;
// The shortest key `token_secret` may hold: HMAC-SHA256's output size (RFC 7518, 3.2).
inline constexpr size_t kMinSecretBytes = 32;

using Claims = std::map<std::string, std::string>;

struct Token {
  Claims claims;                      // flat, as above; `exp`, `nbf`, `iat` included as text
  std::optional<int64_t> expires;     // `exp`, seconds since 1970
  std::optional<int64_t> not_before;  // `nbf`
};

// Checks `token` under `secret` at `now` (seconds since 1970). Every refusal is PermissionDenied
// with a message a client can be shown, one of:
//   "malformed token: WHY"   (too long, not three parts, not base64url, not a JSON object ...)
//   "token algorithm 'none' refused: only HS256 is accepted"
//   "token header has 'crit': no extension is supported"
//   "bad token signature"     (another secret, or a changed header or payload)
//   "token expired"           (now >= exp)
//   "token not yet valid"     (now < nbf)
Result<Token> VerifyToken(std::string_view token, std::string_view secret, int64_t now);

// What MintToken signs: the claims (as JSON strings) and the registered times (as numbers).
struct NewToken {
  Claims claims;  // must not hold iat, exp or nbf: they are the fields below
  int64_t issued_at = 0;
  std::optional<int64_t> expires;
  std::optional<int64_t> not_before;
};

// A token VerifyToken accepts under `secret` (header {"alg":"HS256","typ":"JWT"}). Claim text
// that is not valid UTF-8 has its bad bytes replaced by U+FFFD (JSON holds only Unicode).
std::string MintToken(std::string_view secret, const NewToken& t);

// A token of `header` and `payload` (JSON texts, signed as given, not checked) under `secret`:
// what MintToken does once it has written its JSON; for tests and the fuzzer's seed corpus.
std::string SignToken(std::string_view secret, std::string_view header, std::string_view payload);

// base64url without padding (RFC 4648, 5), as tokens use it; exposed for tests.
std::string Base64UrlEncode(std::string_view bytes);
// nullopt when `text` is not canonical unpadded base64url.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace livepoll::auth
