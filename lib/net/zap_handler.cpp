#include "net/zap_handler.h"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <map>

namespace livepoll::net {

struct ZapHandler::Index {
  std::map<std::string, std::string> node, admin, readonly;  // public key -> name
};

namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";

std::map<std::string, std::string> Reverse(const std::map<std::string, std::string>& by_name) {
  std::map<std::string, std::string> by_key;
  for (const auto& [name, key] : by_name) by_key.emplace(key, name);
  return by_key;
}

}  // namespace

ZapHandler::ZapHandler(zmq::context_t& ctx, KeySets keys)
    : ctx_(ctx), socket_(ctx, zmq::socket_type::rep) {
  socket_.set(zmq::sockopt::linger, 0);
  Replace(std::move(keys));
}

ZapHandler::~ZapHandler() { Stop(); }

Status ZapHandler::Start() {
  try {
    socket_.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("cannot bind the ZAP handler at ") + kZapEndpoint +
                               ": " + e.what());
  }
  thread_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

void ZapHandler::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  socket_.close();
}

void ZapHandler::Replace(KeySets keys) {
  auto index = std::make_shared<Index>();
  index->node = Reverse(keys.nodes);
  index->admin = Reverse(keys.admin);
  index->readonly = Reverse(keys.readonly);
  auto shared = std::make_shared<const KeySets>(std::move(keys));
  std::lock_guard<std::mutex> lock(mu_);
  keys_ = std::move(shared);
  index_ = std::move(index);
}

std::shared_ptr<const KeySets> ZapHandler::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_;
}

std::vector<std::string> ZapHandler::Answer(const std::vector<std::string>& request) {
  // Request (RFC 27): version "1.0", request id, domain, address, identity, mechanism, then the
  // mechanism's credentials (CURVE: the client's 32-byte public key).
  // Reply: version, request id, status code, status text, user id, metadata.
  const std::string request_id = request.size() > 1 ? request[1] : "";
  auto reply = [&](const char* code, const std::string& text, const std::string& user) {
    return std::vector<std::string>{"1.0", request_id, code, text, user, ""};
  };
  if (request.size() < 6 || request[0] != "1.0") {
    malformed_++;
    return reply("500", "malformed ZAP request", "");
  }
  const std::string& domain = request[2];
  const std::string& mechanism = request[5];
  if (mechanism != "CURVE" || request.size() != 7 || request[6].size() != 32) {
    // Only CURVE sockets are bound with a ZAP domain here; a NULL or PLAIN handshake on one of
    // them is refused like a stranger.
    if (mechanism == "CURVE") {
      malformed_++;
      return reply("500", "malformed CURVE credentials", "");
    }
    refused_++;
    return reply("400", "CURVE only", "");
  }
  char z85[41] = {};
  zmq_z85_encode(z85, reinterpret_cast<const uint8_t*>(request[6].data()), 32);
  const std::string key = z85;
  std::shared_ptr<const Index> index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = index_;
  }
  auto find = [&](const std::map<std::string, std::string>& m) -> const std::string* {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
  };
  if (domain == kZapDomainCluster) {
    if (const std::string* name = find(index->node)) {
      accepted_++;
      return reply("200", "OK", *name);
    }
  } else if (domain == kZapDomainAdmin) {
    if (const std::string* name = find(index->admin)) {
      accepted_++;
      return reply("200", "OK", "admin:" + *name);
    }
    if (const std::string* name = find(index->readonly)) {
      accepted_++;
      return reply("200", "OK", "readonly:" + *name);
    }
  } else if (domain == kZapDomainClient) {
    accepted_++;
    return reply("200", "OK", "client");
  }
  refused_++;
  // Once per key and domain: a refused peer dials again every few milliseconds.
  if (logged_.size() >= 1024) logged_.clear();
  if (logged_.insert(domain + " " + key).second)
    spdlog::info("refused CurveZMQ key {} from {} (ZAP domain '{}': not a key of that domain)", key,
                 request[3], domain);
  return reply("400", "key not allowed in domain '" + domain + "'", "");
}

void ZapHandler::Serve() {
  while (!stop_) {
    zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
      std::vector<std::string> request;
      for (;;) {
        zmq::message_t part;
        if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;
        request.push_back(part.to_string());
        if (!part.more()) break;
      }
      if (request.empty()) continue;
      const std::vector<std::string> answer = Answer(request);
      for (size_t i = 0; i < answer.size(); ++i)
        socket_.send(zmq::buffer(answer[i]),
                     i + 1 < answer.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      spdlog::warn("ZAP handler: {}", e.what());
    }
  }
}

}  // namespace livepoll::net
