// UpdateHistory: bounded in count and in bytes; an update larger than the byte bound empties it.
#include "core/update_history.h"

#include <gtest/gtest.h>

namespace livepoll::core {
namespace {

proto::Update Diff(uint64_t seq, size_t rows, size_t text_bytes) {
  proto::Update u;
  u.topic = "t";
  u.kind = proto::UpdateKind::kDiff;
  u.owner = "n1";
  u.epoch = 1;
  u.seq = seq;
  u.columns = {"id", "name"};
  for (size_t i = 0; i < rows; ++i)
    u.changes.push_back({proto::Change::Op::kUpdate,
                         {Value(static_cast<int64_t>(i)), Value(std::string(text_bytes, 'x'))}});
  return u;
}

std::vector<uint64_t> Seqs(const UpdateHistory& h) {
  std::vector<uint64_t> s;
  for (const proto::Update& u : h.Updates()) s.push_back(u.seq);
  return s;
}

TEST(UpdateHistory, KeepsTheLastUpdatesUpToTheCount) {
  UpdateHistory h;
  for (uint64_t s = 1; s <= 5; ++s) h.Push(Diff(s, 1, 10), 3);
  EXPECT_EQ(Seqs(h), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(h.back().seq, 5u);
  UpdateHistory none;
  none.Push(Diff(1, 1, 10), 0);
  EXPECT_TRUE(none.empty());
}

TEST(UpdateHistory, LargeUpdatesAreBoundedInBytes) {
  // Each about 1.2 MiB: three fit in the 4 MiB bound, a fourth pushes the oldest out.
  UpdateHistory h;
  for (uint64_t s = 1; s <= 4; ++s) h.Push(Diff(s, 1000, 1200), 64);
  EXPECT_EQ(Seqs(h), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_LE(h.bytes(), UpdateHistory::kMaxBytes);
  EXPECT_GT(ApproxBytes(Diff(1, 1000, 1200)), size_t{1200000});
  // One larger than the bound is never kept, and what came before it cannot continue into it.
  h.Push(Diff(5, 5000, 1000), 64);
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.bytes(), 0u);
  h.Push(Diff(6, 1, 10), 64);
  EXPECT_EQ(Seqs(h), (std::vector<uint64_t>{6}));
}

}  // namespace
}  // namespace livepoll::core
