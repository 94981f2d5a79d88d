#include "core/policy.h"

#include <array>
#include <utility>

namespace livepoll::core {
namespace {

// One table per enum, read both ways.
template <typename E, size_t N>
using Names = std::array<std::pair<E, const char*>, N>;

constexpr Names<Placement, 2> kPlacements = {
    {{Placement::kHashed, "hashed"}, {Placement::kLocal, "local"}}};
constexpr Names<ClashPolicy, 3> kClashPolicies = {{{ClashPolicy::kOldest, "oldest"},
                                                   {ClashPolicy::kHashed, "hashed"},
                                                   {ClashPolicy::kManual, "manual"}}};
constexpr Names<PartitionMode, 2> kPartitionModes = {
    {{PartitionMode::kAvailable, "available"}, {PartitionMode::kMajority, "majority"}}};

template <typename E, size_t N>
const char* NameOf(const Names<E, N>& names, E e) {
  for (const auto& [value, name] : names)
    if (value == e) return name;
  return "?";
}

template <typename E, size_t N>
std::optional<E> Parse(const Names<E, N>& names, std::string_view text) {
  for (const auto& [value, name] : names)
    if (text == name) return value;
  return std::nullopt;
}

}  // namespace

const char* PlacementName(Placement p) { return NameOf(kPlacements, p); }
const char* ClashPolicyName(ClashPolicy p) { return NameOf(kClashPolicies, p); }
const char* PartitionModeName(PartitionMode p) { return NameOf(kPartitionModes, p); }

std::optional<Placement> ParsePlacement(std::string_view name) { return Parse(kPlacements, name); }
std::optional<ClashPolicy> ParseClashPolicy(std::string_view name) {
  return Parse(kClashPolicies, name);
}
std::optional<PartitionMode> ParsePartitionMode(std::string_view name) {
  return Parse(kPartitionModes, name);
}

}  // namespace livepoll::core
