#include "core/topic.h"

#include <algorithm>
#include <utility>

namespace livepoll::core {
namespace {

// PROTOCOL.md: these bytes would be ambiguous inside a topic (separators, the escape itself, and
// whitespace or control bytes that do not survive shells and logs), so keys and values carry them
// as %XX. Bytes >= 0x80 (UTF-8) pass through unchanged.
bool NeedsEscape(unsigned char b) {
  return b < 0x21 || b == '%' || b == '&' || b == '=' || b == '?';
}

void AppendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (NeedsEscape(b)) {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
    } else {
      out += c;
    }
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes one key or value. Lowercase hex and needless escapes (%41) are accepted so that a topic
// typed by hand still parses; a raw byte that must be escaped is not, because it means the text
// was not built by MakeTopic and we cannot tell what was meant.
Result<std::string> Unescape(std::string_view s, std::string_view topic) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b == '%') {
      const int hi = i + 2 < s.size() ? HexDigit(s[i + 1]) : -1;
      const int lo = hi >= 0 ? HexDigit(s[i + 2]) : -1;
      if (lo < 0) {
        return Status::Malformed("bad percent escape in topic '" + std::string(topic) + "'");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (NeedsEscape(b)) {
      return Status::Malformed("unescaped reserved byte in topic '" + std::string(topic) + "'");
    } else {
      out += s[i];
    }
  }
  return out;
}

Status CheckQueryName(std::string_view query) {
  if (query.empty()) return Status::InvalidArgument("empty query name");
  for (char c : query) {
    if (NeedsEscape(static_cast<unsigned char>(c))) {
      return Status::InvalidArgument("query name '" + std::string(query) +
                                     "' contains a reserved character");
    }
  }
  return Status::Ok();
}

bool ByName(const std::pair<std::string, std::string>& a,
            const std::pair<std::string, std::string>& b) {
  return a.first < b.first;  // char_traits<char> compares as unsigned bytes, like memcmp
}

}  // namespace

Result<std::string> MakeTopic(std::string_view query, const proto::Params& params) {
  if (Status s = CheckQueryName(query); !s.ok()) return s;
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(params.size());
  for (const auto& p : params) {
    if (p.first.empty()) return Status::InvalidArgument("empty parameter name");
    sorted.push_back(&p);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return ByName(*a, *b); });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1]->first == sorted[i]->first) {
      return Status::InvalidArgument("parameter '" + sorted[i]->first + "' given twice");
    }
  }
  std::string topic(query);
  char sep = '?';
  for (const auto* p : sorted) {
    topic += sep;
    AppendEscaped(topic, p->first);
    topic += '=';
    AppendEscaped(topic, p->second);
    sep = '&';
  }
  return topic;
}

Result<ParsedTopic> ParseTopic(std::string_view topic) {
  const size_t q = topic.find('?');
  ParsedTopic parsed;
  parsed.query = std::string(topic.substr(0, q));
  if (!CheckQueryName(parsed.query).ok()) {
    return Status::Malformed("bad query name in topic '" + std::string(topic) + "'");
  }
  if (q == std::string_view::npos) return parsed;

  std::string_view rest = topic.substr(q + 1);
  // "name?" is not something MakeTopic produces (no parameters means no '?').
  if (rest.empty()) {
    return Status::Malformed("empty parameter list in topic '" + std::string(topic) + "'");
  }
  while (true) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::Malformed("bad parameter '" + std::string(pair) + "' in topic '" +
                               std::string(topic) + "'");
    }
    Result<std::string> name = Unescape(pair.substr(0, eq), topic);
    if (!name.ok()) return name.status();
    Result<std::string> value = Unescape(pair.substr(eq + 1), topic);  // a second '=' fails here
    if (!value.ok()) return value.status();
    parsed.params.emplace_back(std::move(name).value(), std::move(value).value());
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  std::sort(parsed.params.begin(), parsed.params.end(), ByName);
  for (size_t i = 1; i < parsed.params.size(); ++i) {
    if (parsed.params[i - 1].first == parsed.params[i].first) {
      return Status::Malformed("parameter '" + parsed.params[i].first + "' repeats in topic '" +
                               std::string(topic) + "'");
    }
  }
  return parsed;
}

}  // namespace livepoll::core
