#include "livepoll/value.h"

namespace livepoll {

const char* ValueTypeName(const Value& v) {
  static const char* const kNames[] = {"null", "integer", "real", "text", "blob", "boolean"};
  return kNames[v.index()];
}

}  // namespace livepoll
