// SendQueue: what waits to be written to one WebSocket, bounded in bytes, with the slow-consumer
// rule of the ZeroMQ client endpoint (lib/net/server.h, "Slow clients"): when the bytes waiting
// pass the bound (and more than one message waits: a single large snapshot may wait alone), the
// socket loses its queued updates and each of their topics "needs a snapshot": its later diffs
// and errors are dropped too, until the queue has drained and the node has sent the topic's
// current state again (TakeResends, then core::Node::Resend). So a slow browser sees a topic jump
// to a fresh snapshot, never a diff stream with a hole in it. Replies are kept (a socket that
// sends and never reads loses them too once they alone pass the bound).
//
// The message being written (front() once StartWrite() said so) is never dropped: the socket's
// write reads its bytes. Messages are shared: one broadcast's bytes serve every socket.
//
// Thread safety: none; the gateway's thread owns every session and its queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace livepoll::gateway {

struct OutMessage {
  std::string bytes;  // one text frame
  std::string topic;  // the core topic of an update; empty: a reply or a control message
  bool snapshot = false;
};

class SendQueue {
 public:
  explicit SendQueue(size_t limit) : limit_(limit) {}

  // Queues `m` after what waits. Returns what the rule did (for the counters).
  struct PushResult {
    bool dropped = false;          // `m` itself: a diff or error of a topic needing a snapshot
    bool reset = false;            // the bound was passed: queued updates dropped
    uint64_t dropped_updates = 0;  // updates dropped by the reset
  };
  PushResult Push(std::shared_ptr<const OutMessage> m);

  bool empty() const { return head_ == items_.size(); }
  size_t bytes() const { return bytes_; }
  size_t size() const { return items_.size() - head_; }
  // The next message to write; REQUIRES: !empty(). Once the caller starts writing it, it says so
  // (MarkWriting) and calls Pop() when the write completed.
  const OutMessage& front() const { return *items_[head_]; }
  void MarkWriting() { writing_ = true; }
  bool writing() const { return writing_; }
  void Pop();

  // Once the queue has drained after a reset: the topics whose current state the socket must get
  // again (each once). Empty otherwise. The topics stay marked until their snapshot is pushed.
  std::vector<std::string> TakeResends();

 private:
  size_t limit_;
  std::vector<std::shared_ptr<const OutMessage>> items_;
  size_t head_ = 0;  // items_ before head_ were written
  size_t bytes_ = 0;
  bool writing_ = false;
  bool resend_ = false;
  std::set<std::string> needs_snapshot_;
};

}  // namespace livepoll::gateway
