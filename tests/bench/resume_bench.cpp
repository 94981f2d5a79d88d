// resume_bench: what a resume costs on the wire against a fresh snapshot (PROTOCOL.md, "Sessions
// and resume"); tests/bench/resume_run.sh drives it.
//
//   resume_bench CLIENT_ENDPOINT QUERY UPDATES
//       A first client joins QUERY and takes its snapshot, then waits for UPDATES more updates
//       (the caller writes to the database meanwhile). A second client then joins resuming from
//       the snapshot's position, and a third joins afresh. Prints one JSON line: the bytes each
//       received until it stood where the first did (frames as sent: `joined` and the updates),
//       whether the second was resumed, and how many updates it got.
// Exit status 1 when nothing could be measured (no answer within 30 s).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "proto/codec.h"
#include "proto/messages.h"

namespace {

using namespace livepoll;
using Clock = std::chrono::steady_clock;

struct Client {
  Client(zmq::context_t& ctx, const std::string& endpoint) : sock(ctx, zmq::socket_type::dealer) {
    sock.set(zmq::sockopt::linger, 0);
    sock.connect(endpoint);
  }
  void Send(const proto::Message& m) {
    const std::string b = proto::Encode(m);
    sock.send(zmq::buffer(b), zmq::send_flags::none);
  }
  // The next message, counting its bytes; nullopt after `deadline`.
  std::optional<proto::Message> Next(Clock::time_point deadline) {
    while (Clock::now() < deadline) {
      zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      zmq::message_t frame;
      if (!(item.revents & ZMQ_POLLIN) || !sock.recv(frame, zmq::recv_flags::dontwait)) continue;
      bytes += frame.size();
      Result<proto::Message> m = proto::Decode(frame.to_string_view());
      if (m.ok()) return std::move(*m);
    }
    return std::nullopt;
  }
  // Reads until an update at (epoch, seq) or later; false on timeout.
  bool ReadUntil(uint64_t epoch, uint64_t seq, Clock::time_point deadline) {
    while (std::optional<proto::Message> m = Next(deadline)) {
      if (auto* j = std::get_if<proto::Joined>(&*m)) resumed = j->resumed;
      auto* u = std::get_if<proto::Update>(&*m);
      if (u == nullptr) continue;
      updates++;
      last = *u;
      if (u->epoch > epoch || (u->epoch == epoch && u->seq >= seq)) return true;
    }
    return false;
  }
  zmq::socket_t sock;
  uint64_t bytes = 0, updates = 0;
  bool resumed = false;
  proto::Update last;
};

int Fail(const char* why) {
  std::fprintf(stderr, "resume_bench: %s\n", why);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: resume_bench CLIENT_ENDPOINT QUERY UPDATES\n");
    return 2;
  }
  const std::string endpoint = argv[1], query = argv[2];
  const uint64_t wanted = std::strtoull(argv[3], nullptr, 10);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  zmq::context_t ctx;

  Client first(ctx, endpoint);
  first.Send(proto::Join{1, query, {}});
  if (!first.ReadUntil(0, 0, deadline)) return Fail("no snapshot");
  const proto::Update snapshot = first.last;
  const uint64_t seen = first.updates;
  // Heartbeats are not needed: the default client_timeout (10 s) outlasts a run.
  while (first.updates < seen + wanted)
    if (!first.ReadUntil(0, 0, deadline)) return Fail("fewer updates than asked for");
  const proto::Update& now = first.last;

  proto::Join resume{1, query, {}};
  resume.resume_owner = snapshot.owner;
  resume.resume_owner_session = snapshot.owner_session;
  resume.resume_epoch = snapshot.epoch;
  resume.resume_seq = snapshot.seq;
  Client resuming(ctx, endpoint), fresh(ctx, endpoint);
  resuming.Send(resume);
  fresh.Send(proto::Join{1, query, {}});
  if (!resuming.ReadUntil(now.epoch, now.seq, deadline)) return Fail("the resume did not arrive");
  if (!fresh.ReadUntil(now.epoch, now.seq, deadline)) return Fail("the snapshot did not arrive");
  std::printf(
      "{\"rows\": %zu, \"missed_updates\": %llu, \"resumed\": %s, \"resume_updates\": %llu, "
      "\"resume_bytes\": %llu, \"snapshot_bytes\": %llu}\n",
      snapshot.rows.size(), static_cast<unsigned long long>(wanted),
      resuming.resumed ? "true" : "false", static_cast<unsigned long long>(resuming.updates),
      static_cast<unsigned long long>(resuming.bytes),
      static_cast<unsigned long long>(fresh.bytes));
  return 0;
}
