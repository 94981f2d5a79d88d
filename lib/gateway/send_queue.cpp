#include "gateway/send_queue.h"

namespace livepoll::gateway {

SendQueue::PushResult SendQueue::Push(std::shared_ptr<const OutMessage> m) {
  PushResult r;
  if (!m->topic.empty() && needs_snapshot_.count(m->topic)) {
    if (!m->snapshot) {
      r.dropped = true;
      return r;
    }
    needs_snapshot_.erase(m->topic);
  }
  bytes_ += m->bytes.size();
  items_.push_back(std::move(m));
  if (bytes_ <= limit_ || size() == 1) return r;
  // Over: queued updates go (not the one being written), their topics need a snapshot.
  r.reset = true;
  std::vector<std::shared_ptr<const OutMessage>> kept;
  size_t i = head_;
  bytes_ = 0;
  if (writing_) {
    bytes_ += items_[i]->bytes.size();
    kept.push_back(std::move(items_[i++]));
  }
  const size_t first_unwritten = kept.size();
  for (; i < items_.size(); ++i) {
    if (items_[i]->topic.empty()) {
      bytes_ += items_[i]->bytes.size();
      kept.push_back(std::move(items_[i]));
    } else {
      r.dropped_updates++;
      needs_snapshot_.insert(items_[i]->topic);
    }
  }
  // Replies alone past the bound (a client that sends and never reads): they go too.
  if (bytes_ > limit_) {
    for (size_t k = first_unwritten; k < kept.size(); ++k) bytes_ -= kept[k]->bytes.size();
    kept.resize(first_unwritten);
  }
  items_ = std::move(kept);
  head_ = 0;
  resend_ = true;
  return r;
}

void SendQueue::Pop() {
  bytes_ -= items_[head_]->bytes.size();
  items_[head_++].reset();
  writing_ = false;
  if (head_ == items_.size()) {
    items_.clear();
    head_ = 0;
    if (items_.capacity() > 16) items_.shrink_to_fit();  // an idle socket holds no burst's room
  }
}

std::vector<std::string> SendQueue::TakeResends() {
  if (!resend_ || !empty()) return {};
  resend_ = false;
  return {needs_snapshot_.begin(), needs_snapshot_.end()};
}

}  // namespace livepoll::gateway
