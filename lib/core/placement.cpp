#include "core/placement.h"

#include <algorithm>

namespace livepoll::core {
namespace {

// FNV-1a, 64 bits: byte-wise, so the same on every platform and in every process.
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// splitmix64's finaliser: FNV-1a alone mixes its last bytes poorly, so names that differ only at
// the end ("n1", "n2") would rank alike for every topic; this spreads every input bit.
uint64_t Mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t RendezvousWeight(std::string_view topic, std::string_view node) {
  uint64_t h = Fnv1a(kFnvOffset, topic);
  h = Fnv1a(h, std::string_view("\0", 1));  // ("ab", "c") and ("a", "bc") must differ
  return Mix(Fnv1a(h, node));
}

std::vector<std::string> RendezvousOrder(std::string_view topic, std::vector<std::string> nodes) {
  std::vector<std::pair<uint64_t, std::string>> weighted;
  weighted.reserve(nodes.size());
  for (std::string& n : nodes) weighted.emplace_back(RendezvousWeight(topic, n), std::move(n));
  std::sort(weighted.begin(), weighted.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  nodes.clear();
  for (auto& [w, n] : weighted) nodes.push_back(std::move(n));
  return nodes;
}

}  // namespace livepoll::core
