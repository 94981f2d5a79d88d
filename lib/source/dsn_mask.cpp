#include "source/dsn_mask.h"

#include <algorithm>
#include <cctype>

namespace livepoll::source {
namespace {

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsSecretKey(std::string key) {
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return key == "pass" || key == "secret" || EndsWith(key, "password") || EndsWith(key, "passwd") ||
         EndsWith(key, "pwd");
}

// The value starting at `begin`: [begin, end) and its unquoted text.
DsnSecret ValueAt(const std::string& dsn, size_t begin) {
  DsnSecret v{begin, begin, ""};
  size_t i = begin;
  if (i < dsn.size() && (dsn[i] == '\'' || dsn[i] == '"')) {
    const char quote = dsn[i++];
    while (i < dsn.size() && dsn[i] != quote) {
      if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
      v.value += dsn[i++];
    }
    v.end = std::min(dsn.size(), i + 1);
  } else if (i < dsn.size() && dsn[i] == '{') {  // ODBC: PWD={a;b}, }} is a literal }
    ++i;
    while (i < dsn.size()) {
      if (dsn[i] == '}') {
        if (i + 1 < dsn.size() && dsn[i + 1] == '}') {
          v.value += '}';
          i += 2;
          continue;
        }
        break;
      }
      v.value += dsn[i++];
    }
    v.end = std::min(dsn.size(), i + 1);
  } else {
    while (i < dsn.size() && !std::isspace(static_cast<unsigned char>(dsn[i])) && dsn[i] != '&' &&
           dsn[i] != ';')
      v.value += dsn[i++];
    v.end = i;
  }
  return v;
}

// key=value secrets: every `=` whose key before it names a secret.
void FindKeyValueSecrets(const std::string& dsn, std::vector<DsnSecret>& out) {
  for (size_t eq = dsn.find('='); eq != std::string::npos; eq = dsn.find('=', eq + 1)) {
    size_t key_end = eq;
    while (key_end > 0 && dsn[key_end - 1] == ' ') --key_end;
    size_t key_begin = key_end;
    while (key_begin > 0 && IsWordChar(dsn[key_begin - 1])) --key_begin;
    if (key_begin == key_end || !IsSecretKey(dsn.substr(key_begin, key_end - key_begin))) continue;
    size_t value = eq + 1;
    while (value < dsn.size() && dsn[value] == ' ') ++value;
    DsnSecret s = ValueAt(dsn, value);
    if (s.end > s.begin) out.push_back(std::move(s));
  }
}

// scheme://user:secret@host...
void FindUriSecret(const std::string& dsn, std::vector<DsnSecret>& out) {
  const size_t scheme = dsn.find("://");
  if (scheme == std::string::npos) return;
  const size_t start = scheme + 3;
  const size_t at = dsn.rfind('@');
  if (at == std::string::npos || at < start) return;
  const size_t colon = dsn.find(':', start);
  if (colon == std::string::npos || colon > at) return;
  const std::string user = dsn.substr(start, colon - start);
  if (user.find_first_of("/= \t?&") != std::string::npos) return;
  out.push_back({colon + 1, at, dsn.substr(colon + 1, at - colon - 1)});
}

}  // namespace

std::vector<DsnSecret> FindDsnSecrets(const std::string& dsn) {
  std::vector<DsnSecret> found;
  FindKeyValueSecrets(dsn, found);
  FindUriSecret(dsn, found);
  std::sort(found.begin(), found.end(),
            [](const DsnSecret& a, const DsnSecret& b) { return a.begin < b.begin; });
  // Overlaps (a URI secret holding `password=`) merge into the widest span.
  std::vector<DsnSecret> merged;
  for (DsnSecret& s : found) {
    if (!merged.empty() && s.begin < merged.back().end) {
      merged.back().end = std::max(merged.back().end, s.end);
      continue;
    }
    merged.push_back(std::move(s));
  }
  return merged;
}

std::string MaskDsnSecrets(const std::string& dsn) {
  std::string out;
  size_t at = 0;
  for (const DsnSecret& s : FindDsnSecrets(dsn)) {
    out.append(dsn, at, s.begin - at);
    out += "***";
    at = s.end;
  }
  out.append(dsn, at, std::string::npos);
  return out;
}

std::string RedactDsn(std::string text, const std::string& dsn) {
  auto replace_all = [&text](const std::string& what, const std::string& with) {
    if (what.empty()) return;
    for (size_t at = text.find(what); at != std::string::npos;
         at = text.find(what, at + with.size()))
      text.replace(at, what.size(), with);
  };
  std::vector<DsnSecret> secrets = FindDsnSecrets(dsn);
  if (secrets.empty()) return text;
  replace_all(dsn, MaskDsnSecrets(dsn));
  // Longest first, so that a secret holding another is hidden whole.
  std::sort(secrets.begin(), secrets.end(),
            [](const DsnSecret& a, const DsnSecret& b) { return a.value.size() > b.value.size(); });
  // A secret of one or two characters is left: replacing every such letter pair of a message
  // would make it unreadable, and a password that short protects nothing anyway.
  for (const DsnSecret& s : secrets)
    if (s.value.size() >= 3) replace_all(s.value, "***");
  return text;
}

}  // namespace livepoll::source
