#include "core/update_history.h"

#include <type_traits>
#include <variant>

namespace livepoll::core {
namespace {

size_t ValueBytes(const Value& v) {
  return sizeof(Value) + std::visit(
                             [](const auto& x) -> size_t {
                               using T = std::decay_t<decltype(x)>;
                               if constexpr (std::is_same_v<T, std::string>)
                                 return x.size();
                               else if constexpr (std::is_same_v<T, Blob>)
                                 return x.bytes.size();
                               else
                                 return 0;
                             },
                             v);
}

size_t RowBytes(const Row& r) {
  size_t n = sizeof(Row);
  for (const Value& v : r) n += ValueBytes(v);
  return n;
}

}  // namespace

size_t ApproxBytes(const proto::Update& u) {
  size_t n = sizeof(proto::Update) + u.topic.size() + u.owner.size() + u.error.size();
  for (const std::string& c : u.columns) n += sizeof(std::string) + c.size();
  for (const Row& r : u.rows) n += RowBytes(r);
  for (const proto::Change& c : u.changes) n += sizeof(proto::Change) + RowBytes(c.row);
  return n;
}

void UpdateHistory::Push(const proto::Update& u, size_t max_updates) {
  if (max_updates == 0) return;
  const size_t b = ApproxBytes(u);
  if (b > kMaxBytes) {  // never kept whole: nobody can resume across it
    updates_.clear();
    bytes_ = 0;
    return;
  }
  updates_.push_back({u, b});
  bytes_ += b;
  while (updates_.size() > max_updates || bytes_ > kMaxBytes) {
    bytes_ -= updates_.front().bytes;
    updates_.pop_front();
  }
}

std::vector<proto::Update> UpdateHistory::Updates() const {
  std::vector<proto::Update> v;
  v.reserve(updates_.size());
  for (const Kept& k : updates_) v.push_back(k.update);
  return v;
}

}  // namespace livepoll::core
