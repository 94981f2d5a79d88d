#include "checks.h"

#include <zmq.h>

#include <algorithm>
#include <initializer_list>

#include "auth/token.h"
#include "config/config.h"
#include "core/topic.h"
#include "gateway/channel_topic.h"
#include "gateway/phoenix_frame.h"
#include "net/cluster_codec.h"
#include "net/zap_handler.h"
#include "proto/codec.h"

namespace livepoll::fuzz {
namespace {

using Code = Status::Code;

// A refusal is fine when its code is one the decoder documents and it says why.
std::string CheckRefusal(const Status& s, std::initializer_list<Code> allowed) {
  if (std::find(allowed.begin(), allowed.end(), s.code()) == allowed.end())
    return "refused with an undocumented code: " + s.ToString();
  if (s.message().empty()) return "refused without a message: " + s.ToString();
  return "";
}

std::string EncodeCluster(const std::string& from, const net::ClusterMessage& m) {
  return std::visit(
      [&](const auto& group) {
        using T = std::decay_t<decltype(group)>;
        if constexpr (std::is_same_v<T, net::AdminMessage>)
          return net::EncodeCluster(kCluster, from, group);
        else
          return net::EncodeCluster(kCluster, from, core::PeerMessage(group));
      },
      m);
}

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

}  // namespace

std::string CheckEnvelope(std::string_view bytes) {
  Result<proto::Message> m = proto::Decode(bytes);
  if (!m.ok())
    return CheckRefusal(m.status(),
                        {Code::kMalformed, Code::kIncompatible, Code::kInvalidArgument});
  const std::string once = proto::Encode(*m);
  Result<proto::Message> again = proto::Decode(once);
  if (!again.ok())
    return "a decoded message re-encodes to a frame that does not decode: " +
           again.status().ToString();
  if (again->index() != m->index()) return "the re-encoded message changed type";
  if (proto::Encode(*again) != once) return "the re-encoded message decodes to another value";
  return "";
}

std::string CheckCluster(std::string_view bytes) {
  Result<net::ClusterFrame> f = net::DecodeCluster(bytes, kCluster);
  if (!f.ok())
    return CheckRefusal(f.status(),
                        {Code::kMalformed, Code::kIncompatible, Code::kInvalidArgument});
  const std::string once = EncodeCluster(f->from, f->message);
  Result<net::ClusterFrame> again = net::DecodeCluster(once, kCluster);
  if (!again.ok())
    return "a decoded frame re-encodes to one that does not decode: " + again.status().ToString();
  if (again->from != f->from)
    return "the sender changed: " + Quoted(f->from) + " -> " + Quoted(again->from);
  if (again->message.index() != f->message.index()) return "the re-encoded frame changed group";
  if (EncodeCluster(again->from, again->message) != once)
    return "the re-encoded frame decodes to another value";
  return "";
}

std::string CheckTopic(std::string_view bytes) {
  // ParseTopic, then MakeTopic of what it found: the canonical topic, which parses to the same.
  if (Result<core::ParsedTopic> p = core::ParseTopic(bytes); !p.ok()) {
    if (std::string e = CheckRefusal(p.status(), {Code::kMalformed}); !e.empty())
      return "ParseTopic " + e;
  } else {
    if (!std::is_sorted(p->params.begin(), p->params.end(),
                        [](const auto& a, const auto& b) { return a.first < b.first; }))
      return "ParseTopic returned parameters out of order";
    Result<std::string> made = core::MakeTopic(p->query, p->params);
    if (!made.ok())
      return "MakeTopic refuses what ParseTopic returned: " + made.status().ToString();
    Result<core::ParsedTopic> back = core::ParseTopic(*made);
    if (!back.ok())
      return "the canonical topic " + Quoted(*made) +
             " does not parse: " + back.status().ToString();
    if (back->query != p->query || back->params != p->params)
      return "the canonical topic " + Quoted(*made) + " parses to another query or parameters";
  }

  // MakeTopic of the bytes as NUL-separated query, name, value...: ParseTopic gives them back.
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t nul = bytes.find('\0', start);
    parts.emplace_back(bytes.substr(start, nul == std::string_view::npos ? nul : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  proto::Params params;
  for (size_t i = 1; i + 1 < parts.size(); i += 2) params.emplace_back(parts[i], parts[i + 1]);
  Result<std::string> topic = core::MakeTopic(parts[0], params);
  if (!topic.ok()) {
    if (std::string e = CheckRefusal(topic.status(), {Code::kInvalidArgument}); !e.empty())
      return "MakeTopic " + e;
    return "";
  }
  Result<core::ParsedTopic> parsed = core::ParseTopic(*topic);
  if (!parsed.ok())
    return "MakeTopic's " + Quoted(*topic) + " does not parse: " + parsed.status().ToString();
  std::sort(params.begin(), params.end());  // names are unique, or MakeTopic refused them
  if (parsed->query != parts[0] || parsed->params != params)
    return "MakeTopic's " + Quoted(*topic) + " parses to another query or parameters";
  Result<std::string> again = core::MakeTopic(parsed->query, parsed->params);
  if (!again.ok() || *again != *topic) return "MakeTopic is not canonical for " + Quoted(*topic);
  return "";
}

std::string CheckConfig(std::string_view bytes) {
  Result<config::Config> c = config::ParseConfigText("fuzz.conf", std::string(bytes));
  if (!c.ok()) return CheckRefusal(c.status(), {Code::kInvalidArgument});
  // What ParseDaemonArgs promises its caller about an accepted file.
  for (const auto& [name, q] : c->queries) {
    if (q.name != name) return "query " + Quoted(name) + " is filed under another name";
    if (!c->sources.count(q.source)) return "query " + Quoted(name) + " names no source";
    if (q.sql.empty()) return "query " + Quoted(name) + " has no sql";
    if (q.interval.count() <= 0) return "query " + Quoted(name) + " has no positive interval";
    if (!(q.jitter >= 0 && q.jitter < 1))
      return "query " + Quoted(name) + " has a jitter outside [0, 1)";
  }
  for (const auto& [name, s] : c->sources) {
    if (s.name != name || s.plugin.empty() || s.dsn.empty())
      return "source " + Quoted(name) + " is incomplete";
    if (s.max_concurrent < 1 || s.max_concurrent > 1024)
      return "source " + Quoted(name) + " has a bad max_concurrent";
  }
  for (const auto& [name, q] : c->queries) {
    for (const auto& [param, claim] : q.bind) {
      if (std::find(q.params.begin(), q.params.end(), param) == q.params.end())
        return "query " + Quoted(name) + " binds " + Quoted(param) + ", not one of its params";
      if (claim.empty()) return "query " + Quoted(name) + " binds to an empty claim";
    }
    if ((!q.bind.empty() || !q.allow.empty()) && !config::NeedsToken(q, c->node))
      return "query " + Quoted(name) + " binds or allows without needing a token";
    if (q.auth == config::QueryAuth::kToken && c->node.token_secret.empty())
      return "query " + Quoted(name) + " needs a token and there is no token_secret";
  }
  const config::NodeConfig& n = c->node;
  if (n.gossip_bind.empty() != n.rpc_bind.empty()) return "a node with half a cluster binding";
  if (!(n.gossip_interval < n.suspect_after && n.suspect_after < n.dead_after))
    return "membership timers out of order";
  return "";
}

namespace {

std::string CheckVerified(std::string_view token) {
  Result<auth::Token> t = auth::VerifyToken(token, kTokenSecret, kTokenNow);
  if (!t.ok()) return CheckRefusal(t.status(), {Code::kPermissionDenied});
  if (token.size() > auth::kMaxTokenBytes) return "a token over the size limit verified";
  if (t->expires && kTokenNow >= *t->expires) return "an expired token verified";
  if (t->not_before && kTokenNow < *t->not_before) return "a token before its nbf verified";
  auth::NewToken again{t->claims, kTokenNow, std::nullopt, std::nullopt};
  for (const char* time : {"iat", "exp", "nbf"}) again.claims.erase(time);
  Result<auth::Token> re =
      auth::VerifyToken(MintToken(kTokenSecret, again), kTokenSecret, kTokenNow);
  if (!re.ok()) {
    // Only a token grown over the limit by JSON escaping may fail to verify again.
    if (re.status().message().find("longer than") != std::string::npos) return "";
    return "its claims minted again do not verify: " + re.status().ToString();
  }
  re->claims.erase("iat");
  if (re->claims != again.claims) return "its claims minted again verify to other claims";
  return "";
}

}  // namespace

std::string CheckToken(std::string_view bytes) {
  if (std::string e = CheckVerified(bytes); !e.empty()) return "as a token: " + e;
  const size_t nl = bytes.find('\n');
  const std::string_view header = bytes.substr(0, nl);
  const std::string_view payload = nl == std::string_view::npos ? "" : bytes.substr(nl + 1);
  if (std::string e = CheckVerified(auth::SignToken(kTokenSecret, header, payload)); !e.empty())
    return "as a signed header and payload: " + e;
  return "";
}

std::string ZapKey(char c) { return std::string(32, c); }

std::string ZapFrames(const std::vector<std::string>& frames) {
  std::string out;
  for (const std::string& f : frames) {
    out.push_back(static_cast<char>(std::min<size_t>(f.size(), 255)));
    out.append(f, 0, 255);
  }
  return out;
}

std::string CheckZap(std::string_view bytes) {
  auto z85 = [](const std::string& key) {
    char text[41] = {};
    zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(key.data()), key.size());
    return std::string(text);
  };
  static zmq::context_t ctx;  // Answer() needs no socket: the handler is never started
  static net::ZapHandler handler(ctx, net::KeySets{{{"n1", z85(ZapKey('1'))}},
                                                   {{"alice", z85(ZapKey('a'))}},
                                                   {{"bob", z85(ZapKey('b'))}}});
  std::vector<std::string> request;
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = static_cast<unsigned char>(bytes[i++]);
    request.emplace_back(bytes.substr(i, std::min(n, bytes.size() - i)));
    i += n;
  }
  const std::vector<std::string> reply = handler.Answer(request);
  if (reply.size() != 6) return "a reply of " + std::to_string(reply.size()) + " frames";
  if (reply[0] != "1.0") return "reply version " + Quoted(reply[0]);
  if (request.size() > 1 && reply[1] != request[1]) return "the request id is not echoed";
  const std::string& code = reply[2];
  const bool is_request = request.size() >= 6 && request[0] == "1.0";
  if (!is_request && code != "500") return "a non-request answered " + code;
  if (code != "200" && code != "400" && code != "500") return "status code " + Quoted(code);
  if (code != "200") return reply[4].empty() ? "" : "a refusal with a User-Id";
  // Admitted: a CURVE request whose key is of its domain.
  if (request.size() != 7 || request[5] != "CURVE" || request[6].size() != 32)
    return "admitted without CURVE credentials";
  const std::string& domain = request[2];
  const std::string& key = request[6];
  const std::string& user = reply[4];
  if (domain == net::kZapDomainClient) return user == "client" ? "" : "client User-Id " + user;
  if (domain == net::kZapDomainCluster)
    return key == ZapKey('1') && user == "n1" ? "" : "cluster admitted " + Quoted(user);
  if (domain == net::kZapDomainAdmin) {
    if (key == ZapKey('a') && user == "admin:alice") return "";
    if (key == ZapKey('b') && user == "readonly:bob") return "";
    return "admin admitted " + Quoted(user);
  }
  return "admitted in unknown domain " + Quoted(domain);
}

std::string CheckPhoenix(std::string_view bytes) {
  using namespace gateway;
  try {
    Result<ClientFrame> f = DecodeClientFrame(bytes);
    if (!f.ok()) {
      if (f.status().code() != Status::Code::kMalformed)
        return "refused as " + f.status().ToString();
      return f.status().message().empty() ? "a refusal without a message" : "";
    }
    const std::string reply = EncodeReply(f->join_ref, f->ref, f->topic, true, "{}");
    Result<ClientFrame> again = DecodeClientFrame(reply);
    if (!again.ok()) return "its reply does not decode: " + again.status().ToString();
    if (again->join_ref != f->join_ref || again->ref != f->ref || again->topic != f->topic ||
        again->event != "phx_reply")
      return "its reply decodes to other refs or topic: " + Quoted(reply);
    if (f->event == "phx_join" && f->join_status.ok() && f->join.presence) {
      const PresenceMeta& p = *f->join.presence;
      if (p.key.empty() || p.key.size() > kMaxPresenceKeyBytes) return "presence key unbounded";
      if (p.meta.size() > kMaxPresenceMetaBytes || p.meta.front() != '{')
        return "presence meta " + Quoted(p.meta);
    }
    if (f->event == "phx_join" && !f->join_status.ok() &&
        f->join_status.code() != Status::Code::kInvalidArgument)
      return "join payload refused as " + f->join_status.ToString();
    Result<ChannelTopic> t = ParseChannelTopic(f->topic);
    if (t.ok() && t->query.empty()) return "a topic without a query read";
    if (!t.ok() && t.status().code() != Status::Code::kInvalidArgument)
      return "topic refused as " + t.status().ToString();
    return "";
  } catch (const std::exception& e) {
    return std::string("threw: ") + e.what();
  }
}

}  // namespace livepoll::fuzz
