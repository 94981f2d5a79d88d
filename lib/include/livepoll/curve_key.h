// CurveZMQ key files (PROTOCOL.md, "Security"): a key file holds one key as its 40-character Z85
// text (ZeroMQ's encoding of the 32 key bytes), optionally followed by one newline, nothing else.
// `livepoll keygen NAME` writes NAME.secret and NAME.pub; the daemon and the CLI read them. This
// is the format check both share; reading files and deriving keys is theirs (it needs ZeroMQ).
#pragma once

#include <string>
#include <string_view>

#include "livepoll/status.h"

namespace livepoll {

inline constexpr size_t kCurveKeyTextSize = 40;  // Z85 of 32 bytes

// Whether `key` is 40 characters of the Z85 alphabet (so zmq_z85_decode accepts it).
bool IsCurveKeyText(std::string_view key);

// The key in the text of a key file: 40 Z85 characters and at most one trailing "\n" (or
// "\r\n"). InvalidArgument naming `what` (the file) and what is wrong otherwise, e.g.
// "keys/n1.pub: not a CurveZMQ key file (expected 40 Z85 characters, found 41 bytes)".
Result<std::string> ParseCurveKeyText(std::string_view text, const std::string& what);

}  // namespace livepoll
