// UpdateHistory: a topic's last updates, oldest first, kept for clients that resume (relay.h,
// "Resume"), bounded in count and in bytes. The byte bound is what keeps a topic with large
// results from holding `history` copies of them (issue 15 §3: 64 diffs of 500,000 rows each took
// a node's RSS past a gigabyte): an update larger than the bound empties the history, and a
// client resuming from before it gets the current state instead, as a resume past the history
// always does.
// Thread safety: none.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "proto/messages.h"

namespace livepoll::core {

// About how much memory `u` holds (its rows, changes and strings), for the bound above.
size_t ApproxBytes(const proto::Update& u);

class UpdateHistory {
 public:
  static constexpr size_t kMaxBytes = size_t{4} << 20;  // per topic

  // Appends `u`, then drops the oldest updates past `max_updates` or kMaxBytes. With
  // max_updates 0 nothing is kept.
  void Push(const proto::Update& u, size_t max_updates);
  bool empty() const { return updates_.empty(); }
  const proto::Update& back() const { return updates_.back().update; }
  std::vector<proto::Update> Updates() const;  // oldest first
  size_t bytes() const { return bytes_; }

 private:
  struct Kept {
    proto::Update update;
    size_t bytes;
  };
  std::deque<Kept> updates_;
  size_t bytes_ = 0;
};

}  // namespace livepoll::core
