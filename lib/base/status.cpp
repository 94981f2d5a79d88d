#include "livepoll/status.h"

namespace livepoll {

std::string_view Status::CodeName(Code c) {
  switch (c) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid-argument";
    case Code::kNotFound:
      return "not-found";
    case Code::kMalformed:
      return "malformed";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kIncompatible:
      return "incompatible";
    case Code::kTimeout:
      return "timeout";
    case Code::kFailedPrecondition:
      return "failed-precondition";
    case Code::kPermissionDenied:
      return "permission-denied";
    case Code::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace livepoll
