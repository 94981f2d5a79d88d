#include "gateway/channel_topic.h"

namespace livepoll::gateway {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      const int hi = i + 2 < text.size() ? HexDigit(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
      if (i + 2 >= text.size() || hi < 0 || lo < 0)
        return Status::InvalidArgument("a '%' not followed by two hex digits in '" +
                                       std::string(text) + "'");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Result<ChannelTopic> ParseChannelTopic(std::string_view topic) {
  if (!topic.starts_with(kTopicPrefix))
    return Status::InvalidArgument("unknown topic '" + std::string(topic) +
                                   "': live query topics are live:QUERY or live:QUERY?NAME=VALUE");
  std::string_view rest = topic.substr(kTopicPrefix.size());
  ChannelTopic t;
  const size_t q = rest.find('?');
  Result<std::string> query = PercentDecode(rest.substr(0, q));
  if (!query.ok()) return query.status();
  if (query->empty())
    return Status::InvalidArgument("topic '" + std::string(topic) + "' names no query");
  t.query = std::move(*query);
  if (q == std::string_view::npos) return t;
  t.has_params = true;
  std::string_view params = rest.substr(q + 1);
  while (!params.empty()) {
    const size_t amp = params.find('&');
    std::string_view pair = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    if (pair.empty()) continue;  // `a=1&&b=2`, a trailing `&`
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos)
      return Status::InvalidArgument("parameter '" + std::string(pair) + "' of topic '" +
                                     std::string(topic) + "' has no '='");
    Result<std::string> name = PercentDecode(pair.substr(0, eq));
    if (!name.ok()) return name.status();
    if (name->empty())
      return Status::InvalidArgument("a parameter of topic '" + std::string(topic) +
                                     "' has no name");
    Result<std::string> value = PercentDecode(pair.substr(eq + 1));
    if (!value.ok()) return value.status();
    t.params.emplace_back(std::move(*name), std::move(*value));
  }
  return t;
}

}  // namespace livepoll::gateway
