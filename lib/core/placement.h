// Placement: which node should own a topic's poller (DESIGN.md, "Placement and failover").
// Rendezvous (highest-random-weight) hashing: every node ranks the candidates for a topic by a
// hash of (topic, node name) and agrees on the order without talking; when a node goes away only
// its own topics move.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace livepoll::core {

// The weight of `node` for `topic`. Stable across processes, runs and platforms (no std::hash).
uint64_t RendezvousWeight(std::string_view topic, std::string_view node);

// `nodes` ordered best first for `topic`: by weight, descending, ties by name ascending.
std::vector<std::string> RendezvousOrder(std::string_view topic, std::vector<std::string> nodes);

}  // namespace livepoll::core
