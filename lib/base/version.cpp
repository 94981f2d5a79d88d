#include "livepoll/version.h"

namespace livepoll {
const char* Version() { return LIVEPOLL_VERSION; }
}  // namespace livepoll
