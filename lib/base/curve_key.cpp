#include "livepoll/curve_key.h"

namespace livepoll {

bool IsCurveKeyText(std::string_view key) {
  // The Z85 alphabet (ZeroMQ RFC 32).
  static constexpr std::string_view kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (key.size() != kCurveKeyTextSize) return false;
  for (char c : key)
    if (kZ85.find(c) == std::string_view::npos) return false;
  return true;
}

Result<std::string> ParseCurveKeyText(std::string_view text, const std::string& what) {
  std::string_view key = text;
  if (key.ends_with("\r\n"))
    key.remove_suffix(2);
  else if (key.ends_with('\n'))
    key.remove_suffix(1);
  const std::string expected = "not a CurveZMQ key file (expected " +
                               std::to_string(kCurveKeyTextSize) +
                               " Z85 characters and an optional newline, ";
  if (key.size() != kCurveKeyTextSize)
    return Status::InvalidArgument(what + ": " + expected + "found " + std::to_string(text.size()) +
                                   " bytes)");
  if (!IsCurveKeyText(key))
    return Status::InvalidArgument(what + ": " + expected +
                                   "found a character outside the Z85 alphabet)");
  return std::string(key);
}

}  // namespace livepoll
