// Small text helpers used across layers, written once.
#pragma once

#include <string>
#include <string_view>

namespace livepoll {

// The parts separated by `sep`: Join({"a", "b"}) is "a,b"; no parts, "". Any range of things a
// std::string can be appended with (std::string, std::string_view, const char*).
template <typename Range>
std::string Join(const Range& parts, std::string_view sep = ",") {
  return Join(
      parts, sep, [](const auto& p) -> const auto& { return p; });
}

// The same of what `text` makes of each element: Join(claims, ",", [](const Claim& c) {...}).
template <typename Range, typename Text>
std::string Join(const Range& parts, std::string_view sep, Text text) {
  std::string out;
  bool first = true;
  for (const auto& p : parts) {
    if (!first) out += sep;
    out += text(p);
    first = false;
  }
  return out;
}

}  // namespace livepoll
