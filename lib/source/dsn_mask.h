// Hiding the passwords in a data source's DSN before it is shown (a failed open names the DSN).
#pragma once

#include <string>

namespace livepoll::source {

// `dsn` with passwords replaced by "***", for error messages and logs: the value of password=,
// pass= or pwd= (not preceded by a letter or digit; quoted, or up to a space or '&'), and the
// secret of user:secret@ in a URI. Everything else is kept as it is; a secret in any other form
// is shown.
std::string MaskDsnSecrets(const std::string& dsn);

}  // namespace livepoll::source
