#include "source/abi_check.h"

namespace livepoll::source {
namespace {

// struct_size and abi_major: the two fields the loader may read before trusting anything.
constexpr size_t kHeaderSize = 2 * sizeof(uint32_t);

std::string AbiText(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// Every check before the first read of a field past abi_major.
Status CheckHeader(const std::string& path, const lp_source_plugin* api) {
  if (api->struct_size < kHeaderSize) {
    return Status::Incompatible(path + ": plugin struct of " + std::to_string(api->struct_size) +
                                " bytes is too small to hold an ABI version");
  }
  if (api->abi_major != LIVEPOLL_SOURCE_ABI_MAJOR) {
    return Status::Incompatible(path + ": plugin ABI " + std::to_string(api->abi_major) +
                                ".x, this livepolld supports " +
                                std::to_string(LIVEPOLL_SOURCE_ABI_MAJOR) + ".x");
  }
  if (api->struct_size < LIVEPOLL_SOURCE_V1_0_SIZE) {
    return Status::Incompatible(path + ": plugin struct of " + std::to_string(api->struct_size) +
                                " bytes for ABI " + std::to_string(api->abi_major) +
                                ".x is shorter than ABI " + AbiText(LIVEPOLL_SOURCE_ABI_MAJOR, 0) +
                                " requires (" + std::to_string(LIVEPOLL_SOURCE_V1_0_SIZE) +
                                " bytes); this livepolld supports " +
                                AbiText(LIVEPOLL_SOURCE_ABI_MAJOR, LIVEPOLL_SOURCE_ABI_MINOR));
  }
  return Status::Ok();
}

Status CheckFields(const std::string& path, const lp_source_plugin* api) {
  const char* missing = nullptr;
  if (api->name == nullptr)
    missing = "name";
  else if (api->open == nullptr)
    missing = "open";
  else if (api->close == nullptr)
    missing = "close";
  else if (api->prepare == nullptr)
    missing = "prepare";
  else if (api->query == nullptr)
    missing = "query";
  else if (api->finalize == nullptr)
    missing = "finalize";
  if (missing != nullptr) {
    return Status::InvalidArgument(path + ": plugin does not provide required field '" +
                                   std::string(missing) + "'");
  }
  if (api->name[0] == '\0') return Status::InvalidArgument(path + ": plugin has an empty name");
  return Status::Ok();
}

}  // namespace

Status CheckPluginAbi(const std::string& path, const lp_source_plugin* api) {
  if (Status s = CheckHeader(path, api); !s.ok()) return s;
  return CheckFields(path, api);
}

}  // namespace livepoll::source
