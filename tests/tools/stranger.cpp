// lp_stranger: plays a stranger (or a member gone bad) against a cluster with raw ZeroMQ frames
// built by the project's own codec, for tests/e2e/hostile_peer.sh. Each attack only sends (and,
// where an answer would be the damage, says whether one came); the test judges the effect through
// the CLI: members, subs, stats.
//
//   lp_stranger [--cluster NAME] [--key SECRET_FILE] [--server-key KEY|PUB_FILE] ATTACK ARGS...
//
// With --server-key every socket is a CURVE client of that server key: with --key it proves that
// secret key (a stranger's own, or a member's, to forge another name), without it an ephemeral
// key. Without --server-key, plain ZMTP (what a stranger tries first).
//
// Attacks (AS is the name the frames claim to come from; INC its incarnation):
//   read-gossip GOSSIP SECONDS       SUB to everything; prints the number of frames read
//   join RPC NAME SECONDS            m.join as a new node; prints "accepted", "refused: why" or
//                                    "no answer" (the reply comes to our own ROUTER)
//   leave RPC AS INC                 m.leave naming a live member (over rpc, and as if from it)
//   vote-wrap RPC AS INC TOPIC       r.vote epoch notice with owner_epoch 2^64-1
//   admin RPC AS INC COMMAND [K=V]... a.request, e.g. `reap topic=T force=true`
//   snapshot-flood RPC AS INC N      N d.snapshot_request for topics nobody has
//   dealers RPC N                    N m.joins, each naming another rpc endpoint to answer to
//   big-frame ENDPOINT MIB           one frame of MIB MiB on a DEALER
// Exit status: 0 when the attack was sent, 2 on a usage error.
#include <zmq.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "net/cluster_codec.h"

namespace {

using livepoll::core::NodeId;
namespace core = livepoll::core;
namespace net = livepoll::net;

struct Curve {
  std::string server_key;  // Z85, empty: no CURVE
  std::string public_key, secret_key;
};

std::string ReadKey(const std::string& text_or_file) {
  if (text_or_file.size() == 40 && text_or_file.find('/') == std::string::npos) return text_or_file;
  std::ifstream in(text_or_file);
  std::string key;
  in >> key;
  if (key.size() != 40) {
    std::cerr << "lp_stranger: " << text_or_file << " holds no Z85 key\n";
    std::exit(2);
  }
  return key;
}

void Secure(zmq::socket_t& s, const Curve& curve) {
  s.set(zmq::sockopt::linger, 2000);
  if (curve.server_key.empty()) return;
  s.set(zmq::sockopt::curve_serverkey, curve.server_key);
  s.set(zmq::sockopt::curve_publickey, curve.public_key);
  s.set(zmq::sockopt::curve_secretkey, curve.secret_key);
}

void SendAll(zmq::context_t& ctx, const Curve& curve, const std::string& endpoint,
             const std::vector<std::string>& frames) {
  zmq::socket_t d(ctx, zmq::socket_type::dealer);
  Secure(d, curve);
  d.connect(endpoint);
  // Never blocking: a refused handshake leaves no peer to queue for, and the queue fills.
  for (const std::string& f : frames)
    if (!d.send(zmq::buffer(f), zmq::send_flags::dontwait)) break;
  // Time for the handshake and the frames to go out before linger ends it.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

uint64_t Number(const char* text) { return std::strtoull(text, nullptr, 10); }

int Usage() {
  std::cerr << "usage: lp_stranger [--cluster NAME] [--key SECRET_FILE] [--server-key KEY|FILE] "
               "ATTACK ARGS... (see tests/tools/stranger.cpp)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cluster = "livepoll";
  Curve curve;
  std::string key_file;
  int i = 1;
  for (; i + 1 < argc && std::string(argv[i]).rfind("--", 0) == 0; i += 2) {
    const std::string opt = argv[i];
    if (opt == "--cluster") {
      cluster = argv[i + 1];
    } else if (opt == "--key") {
      key_file = argv[i + 1];
    } else if (opt == "--server-key") {
      curve.server_key = ReadKey(argv[i + 1]);
    } else {
      return Usage();
    }
  }
  if (!curve.server_key.empty()) {
    char pub[41] = {}, sec[41] = {};
    if (key_file.empty()) {
      zmq_curve_keypair(pub, sec);
      curve.secret_key = sec;
    } else {
      curve.secret_key = ReadKey(key_file);
      zmq_curve_public(pub, curve.secret_key.c_str());
    }
    curve.public_key = pub;
  }
  if (i >= argc) return Usage();
  const std::string attack = argv[i++];
  const std::vector<std::string> args(argv + i, argv + argc);
  zmq::context_t ctx;

  if (attack == "read-gossip" && args.size() == 2) {
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    Secure(sub, curve);
    sub.set(zmq::sockopt::subscribe, "");
    sub.connect(args[0]);
    sub.set(zmq::sockopt::rcvtimeo, 100);
    int frames = 0;
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::seconds(Number(args[1].c_str()));
    while (std::chrono::steady_clock::now() < until) {
      zmq::message_t m;
      if (sub.recv(m)) ++frames;
    }
    std::cout << frames << '\n';
    return 0;
  }
  if (attack == "join" && args.size() == 3) {
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.bind("tcp://127.0.0.1:*");
    const std::string mine = router.get(zmq::sockopt::last_endpoint);
    core::MemberClaim self{NodeId{args[1], 1}, "tcp://127.0.0.1:9", mine, core::MemberState::kAlive,
                           1};
    SendAll(ctx, curve, args[0],
            {net::EncodeCluster(
                cluster, args[1],
                core::PeerMessage(core::MembershipMessage(core::JoinRequest{self, args[0]})))});
    router.set(zmq::sockopt::rcvtimeo, static_cast<int>(Number(args[2].c_str()) * 1000));
    for (;;) {
      zmq::message_t id, body;
      if (!router.recv(id) || !router.recv(body)) break;
      auto frame = net::DecodeCluster(body.to_string_view(), cluster);
      if (!frame.ok()) continue;
      auto* m = std::get_if<core::MembershipMessage>(&frame->message);
      auto* reply = m ? std::get_if<core::JoinReply>(m) : nullptr;
      if (reply == nullptr) continue;
      std::cout << (reply->accepted ? "accepted" : "refused: " + reply->reason) << '\n';
      return 0;
    }
    std::cout << "no answer\n";
    return 0;
  }
  if (attack == "leave" && args.size() == 3) {
    const NodeId victim{args[1], Number(args[2].c_str())};
    SendAll(ctx, curve, args[0],
            {net::EncodeCluster(
                cluster, victim.name,
                core::PeerMessage(core::MembershipMessage(core::LeaveNotice{victim})))});
    return 0;
  }
  if (attack == "vote-wrap" && args.size() == 4) {
    const NodeId as{args[1], Number(args[2].c_str())};
    core::RegistryVote vote{as, 0, args[3], false, as, std::numeric_limits<uint64_t>::max()};
    SendAll(ctx, curve, args[0],
            {net::EncodeCluster(cluster, as.name, core::PeerMessage(core::RegistryMessage(vote)))});
    return 0;
  }
  if (attack == "admin" && args.size() >= 4) {
    const NodeId as{args[1], Number(args[2].c_str())};
    livepoll::proto::AdminRequest request{4242, args[3], {}};
    for (size_t k = 4; k < args.size(); ++k) {
      const size_t eq = args[k].find('=');
      if (eq == std::string::npos) return Usage();
      request.args.emplace_back(args[k].substr(0, eq), args[k].substr(eq + 1));
    }
    SendAll(ctx, curve, args[0],
            {net::EncodeCluster(cluster, as.name, net::AdminMessage(net::AdminCall{as, request}))});
    return 0;
  }
  if (attack == "snapshot-flood" && args.size() == 4) {
    const NodeId as{args[1], Number(args[2].c_str())};
    std::vector<std::string> frames;
    for (uint64_t n = 0, count = Number(args[3].c_str()); n < count; ++n)
      frames.push_back(net::EncodeCluster(cluster, as.name,
                                          core::PeerMessage(core::DataMessage(core::SnapshotRequest{
                                              as, "nobody_has?n=" + std::to_string(n)}))));
    SendAll(ctx, curve, args[0], frames);
    return 0;
  }
  if (attack == "dealers" && args.size() == 2) {
    std::vector<std::string> frames;
    for (uint64_t n = 0, count = Number(args[1].c_str()); n < count; ++n) {
      const std::string name = "stranger" + std::to_string(n);
      const std::string rpc = "tcp://127.0.0.1:" + std::to_string(1 + n % 60000);
      core::MemberClaim self{NodeId{name, 1}, "tcp://127.0.0.1:9", rpc, core::MemberState::kAlive,
                             1};
      frames.push_back(net::EncodeCluster(
          cluster, name,
          core::PeerMessage(core::MembershipMessage(core::JoinRequest{self, args[0]}))));
    }
    SendAll(ctx, curve, args[0], frames);
    return 0;
  }
  if (attack == "big-frame" && args.size() == 2) {
    SendAll(ctx, curve, args[0], {std::string(Number(args[1].c_str()) << 20, 'x')});
    return 0;
  }
  return Usage();
}
