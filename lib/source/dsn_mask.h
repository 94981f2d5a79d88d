// Hiding the passwords in a data source's DSN before anything shows it: a failed open names the
// DSN, and a plugin's error text or log line may quote it (a driver echoing its connection string).
#pragma once

#include <string>
#include <vector>

namespace livepoll::source {

// The secrets a DSN holds, as spans of it:
//  - the value of a key=value pair whose key (case-insensitive, the whole word before `=`, spaces
//    around `=` allowed) is pass, secret, or ends in password, passwd or pwd: password=,
//    sslpassword=, PWD=, `password = x`, ?password=x&; the value quoted ('...' or "..." with
//    backslash escapes, or ODBC's {...}) or up to a space, `&` or `;`;
//  - the secret of a URI's user:secret@host, up to the *last* `@` (so a secret holding `@` or `/`
//    is hidden whole; a `@` later in the DSN hides more than needed, never less).
// A secret in any other form is not found: plugins should not take one.
struct DsnSecret {
  size_t begin = 0, end = 0;  // [begin, end) in the DSN; quotes and braces included
  std::string value;          // unquoted
};
std::vector<DsnSecret> FindDsnSecrets(const std::string& dsn);

// `dsn` with every secret replaced by "***".
std::string MaskDsnSecrets(const std::string& dsn);

// `text` (a plugin's error or log line) with `dsn` itself replaced by its masked form and every
// secret of `dsn` of three characters or more replaced by "***", wherever they occur.
std::string RedactDsn(std::string text, const std::string& dsn);

}  // namespace livepoll::source
