// ZapHandler: the daemon's ZeroMQ authentication handler (ZAP, ZeroMQ RFC 27), which decides which
// CurveZMQ client keys each bound socket admits (PROTOCOL.md, "Security"). A CURVE server socket
// with no ZAP handler in its context accepts ANY client key, so Start() must succeed before any
// CURVE socket binds.
//
// It answers per ZMQ_ZAP_DOMAIN (kDomain*):
//   cluster  only the keys of trusted_keys; User-Id: the node's name
//   admin    admin_keys -> "admin:NAME", admin_readonly_keys -> "readonly:NAME"; others refused
//   client   any key (encryption only); User-Id "client"
// A refused key gets 400 (the handshake fails, the socket never delivers a message of it), a
// malformed request 500; both are counted, neither stops the handler.
//
// Thread safety: Start/Stop from one thread; Replace() and the counters from any thread. The
// handler's socket belongs to its own thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "livepoll/status.h"
#include "net/curve_keys.h"

namespace livepoll::net {

inline constexpr char kZapDomainCluster[] = "cluster";
inline constexpr char kZapDomainAdmin[] = "admin";
inline constexpr char kZapDomainClient[] = "client";

class ZapHandler {
 public:
  // `ctx` must outlive the handler.
  ZapHandler(zmq::context_t& ctx, KeySets keys);
  ~ZapHandler();  // Stop()
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Binds inproc://zeromq.zap.01 in `ctx` and starts answering. Unavailable when the address is
  // taken (another handler in this context).
  Status Start();
  void Stop();

  // Swaps the key sets: requests from now on are judged by `keys` (connections already made
  // stay).
  void Replace(KeySets keys);
  std::shared_ptr<const KeySets> keys() const;

  // The answer to one ZAP request (its frames), as the handler thread sends it: the reply's
  // frames. Exposed for tests and the fuzzer; counts like a real request. Called by one thread at
  // a time (the handler's own, once started).
  std::vector<std::string> Answer(const std::vector<std::string>& request);

  uint64_t refused() const { return refused_; }      // 400s
  uint64_t accepted() const { return accepted_; }    // 200s
  uint64_t malformed() const { return malformed_; }  // 500s

 private:
  void Serve();

  zmq::context_t& ctx_;
  mutable std::mutex mu_;
  std::shared_ptr<const KeySets> keys_;  // guarded by mu_
  // By public key (Z85): the name in each set, rebuilt with keys_.
  struct Index;
  std::shared_ptr<const Index> index_;  // guarded by mu_
  std::atomic<bool> stop_{false};
  std::thread thread_;
  zmq::socket_t socket_;  // bound by Start, then used by thread_ alone
  std::atomic<uint64_t> refused_{0}, accepted_{0}, malformed_{0};
  std::set<std::string> logged_;  // refusals logged ("domain key"); Answer's caller's alone
};

}  // namespace livepoll::net
