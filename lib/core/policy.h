// The registry's policies, as operators name them in the configuration (livepoll.conf(5)) and the
// CLI. Parsed once, here, into enums; every other layer speaks the enums.
#pragma once

#include <optional>
#include <string_view>

namespace livepoll::core {

// Who owns a new topic: rendezvous hashing over the live members, or the first subscriber's node.
enum class Placement { kHashed, kLocal };
// Which claim survives a clash: the lowest (epoch, name), the rendezvous choice, or the operator's.
enum class ClashPolicy { kOldest, kHashed, kManual };
// Whether a side of a partition without a majority may own topics.
enum class PartitionMode { kAvailable, kMajority };

const char* PlacementName(Placement p);          // "hashed", "local"
const char* ClashPolicyName(ClashPolicy p);      // "oldest", "hashed", "manual"
const char* PartitionModeName(PartitionMode p);  // "available", "majority"

// The enum a name stands for (exactly as the *Name functions write it); nullopt for anything else.
std::optional<Placement> ParsePlacement(std::string_view name);
std::optional<ClashPolicy> ParseClashPolicy(std::string_view name);
std::optional<PartitionMode> ParsePartitionMode(std::string_view name);

}  // namespace livepoll::core
