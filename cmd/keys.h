// The CLI's CurveZMQ keys (PROTOCOL.md, "Security"): reading the operator's secret key and the
// daemon's public key for --key / --server-key, and writing a new keypair for `livepoll keygen`.
// Key files hold 40 Z85 characters and an optional newline (livepoll/curve_key.h).
#pragma once

#include <string>

#include "connection.h"
#include "livepoll/status.h"

namespace livepoll::cli {

// `server_key`: Z85 text, or a file holding it; `secret_key_file`: the operator's key file, or
// empty for a fresh keypair. InvalidArgument naming the option and the file otherwise.
Result<CurveClient> LoadCurveClient(const std::string& server_key,
                                    const std::string& secret_key_file);

// Writes DIR/NAME.secret (mode 0600) and DIR/NAME.pub of a new keypair; refuses to replace
// either. Returns the public key.
Result<std::string> WriteKeyPair(const std::string& dir, const std::string& name);

}  // namespace livepoll::cli
