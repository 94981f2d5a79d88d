#include <cstring>

#include "config/config.h"

namespace livepoll::config {
namespace {

// FNV-1a, 64 bits: a fixed function of the bytes (std::hash is not across builds).
struct Fnv {
  uint64_t h = 14695981039346656037ull;
  void Bytes(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  // Each field with its length first, so ("ab","c") and ("a","bc") differ.
  void Text(const std::string& s) {
    Number(s.size());
    Bytes(s.data(), s.size());
  }
  void Number(uint64_t n) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(n >> (8 * i));
    Bytes(b, sizeof b);
  }
  void List(const std::vector<std::string>& v) {
    Number(v.size());
    for (const std::string& s : v) Text(s);
  }
};

}  // namespace

uint64_t QueryDigest(const QueryConfig& q) {
  Fnv f;
  f.Text(q.source);
  f.Text(q.sql);
  f.List(q.params);
  f.List(q.key);
  f.Number(static_cast<uint64_t>(q.interval.count()));
  uint64_t jitter;
  static_assert(sizeof jitter == sizeof q.jitter);
  std::memcpy(&jitter, &q.jitter, sizeof jitter);
  f.Number(jitter);
  return f.h == 0 ? 1 : f.h;
}

}  // namespace livepoll::config
