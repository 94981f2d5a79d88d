// The Server's side of the WebSocket gateway (gateway/gateway.h): the gateway's events become the
// core's joins, leaves and client departures, and the core's deliveries become Phoenix replies and
// pushes. The core sees WebSocket clients as it sees ZeroMQ ones: ClientIds from the one counter,
// joins and leaves, never HTTP. PROTOCOL.md, "WebSocket gateway", is the contract kept here:
//  - a join's ok reply is the topic's first update after the core's Joined (a snapshot, or an
//    error when the topic's poll fails before its first result: then the snapshot follows as a
//    push); a join that resumed is answered at once `{"resumed": true}` and the missed updates
//    follow as pushes;
//  - every later update is one push, encoded once per channel topic string and shared by every
//    socket of that channel topic;
//  - refusals (unknown query, parameters, token, limits) are error replies `{"reason"}`.
#include <spdlog/spdlog.h>

#include "auth/token.h"
#include "gateway/phoenix_frame.h"
#include "net/server.h"

namespace livepoll::net {

namespace {

std::shared_ptr<const gateway::OutMessage> Reply(const std::string& join_ref,
                                                 const std::string& ref, const std::string& topic,
                                                 bool ok, const std::string& response) {
  return std::make_shared<const gateway::OutMessage>(
      gateway::OutMessage{gateway::EncodeReply(join_ref, ref, topic, ok, response), "", false});
}

}  // namespace

core::ClientIdentity Server::VerifyClientToken(const std::string& token) {
  core::ClientIdentity who;
  Result<auth::Token> t = options_.token_secret.empty()
                              ? Result<auth::Token>(Status::FailedPrecondition(
                                    "this livepolld takes no tokens: it has no token_secret"))
                              : auth::VerifyToken(token, options_.token_secret, UnixNow());
  if (!t.ok()) {
    node_.counters().tokens_refused++;
    who.refusal = t.status().message();
    return who;
  }
  node_.counters().tokens_accepted++;
  who.claims = std::move(t->claims);
  who.expires = t->expires;
  return who;
}

void Server::OnGatewayEvents() {
  for (gateway::Event& e : gateway_->TakeEvents()) {
    if (auto* c = std::get_if<gateway::Connected>(&e)) {
      const core::ClientId id = next_client_++;
      WsClient& client = ws_clients_[id];
      client.conn = c->conn;
      if (!c->token.empty())
        client.identity = std::make_unique<const core::ClientIdentity>(VerifyClientToken(c->token));
      ws_ids_[c->conn] = id;
    } else if (auto* j = std::get_if<gateway::JoinAsked>(&e)) {
      OnWsJoin(*j);
    } else if (auto* l = std::get_if<gateway::LeaveAsked>(&e)) {
      OnWsLeave(*l);
    } else if (auto* gone = std::get_if<gateway::Closed>(&e)) {
      auto id = ws_ids_.find(gone->conn);
      if (id == ws_ids_.end()) continue;
      const core::ClientId client = id->second;
      ws_ids_.erase(id);
      ws_clients_.erase(client);
      core::Actions out;
      node_.ClientGone(env_.Now(), client, out);
      Carry(out);
    } else if (auto* r = std::get_if<gateway::ResendAsked>(&e)) {
      auto id = ws_ids_.find(r->conn);
      if (id == ws_ids_.end()) continue;
      core::Actions out;
      node_.Resend(env_.Now(), id->second, r->topic, out);
      Carry(out);
    } else if (auto* get = std::get_if<gateway::HttpGet>(&e)) {
      CopyGatewayCounters();
      HttpResponse r = HttpGet(get->path, ws_clients_.size());
      gateway_->AnswerHttp(get->request, r.status, std::move(r.content_type), std::move(r.body));
    }
  }
}

void Server::OnWsJoin(gateway::JoinAsked& j) {
  auto id = ws_ids_.find(j.conn);
  if (id == ws_ids_.end()) return;
  const core::ClientId client = id->second;
  WsClient& ws = ws_clients_[client];
  const Time now = env_.Now();
  core::Actions out;
  // The same channel joined again (phoenix.js rejoins after an error or a timeout): the old
  // subscription ends first.
  for (auto it = ws.channels.begin(); it != ws.channels.end(); ++it) {
    if (it->second.topic != j.topic) continue;
    node_.Leave(now, client, it->first, out);
    ws.channels.erase(it);
    break;
  }
  // A token in the join payload is this join's; else the connection's (its connect URL's).
  const core::ClientIdentity who = !j.join.token.empty() ? VerifyClientToken(j.join.token)
                                   : ws.identity         ? *ws.identity
                                                         : core::ClientIdentity{};
  std::optional<core::StreamPosition> resume;
  if (j.join.resume)
    resume = core::StreamPosition{j.join.resume->owner, j.join.resume->owner_session,
                                  j.join.resume->epoch, j.join.resume->seq};
  Result<proto::Params> params = node_.AuthorizeJoin(j.query, who, j.params, UnixNow());
  std::optional<core::PresenceMeta> presence;
  if (j.join.presence) presence = core::PresenceMeta{j.join.presence->key, j.join.presence->meta};
  Result<core::Subscriptions::Joined> joined =
      params.ok() ? node_.Join(now, client, j.query, *params, out, resume, presence)
                  : Result<core::Subscriptions::Joined>(params.status());
  if (!joined.ok()) {
    gateway_->Send({j.conn}, Reply(j.join_ref, j.ref, j.topic, false,
                                   gateway::ReasonResponse(joined.status().message())));
    Carry(out);
    return;
  }
  WsChannel& ch = ws.channels[joined->topic];
  ch.topic = j.topic;
  ch.join_ref = j.join_ref;
  ch.asked_resume = resume.has_value();
  if (joined->resumed) {
    // Before the missed updates the join decided (carried below).
    gateway_->Send({j.conn}, Reply(j.join_ref, j.ref, j.topic, true, "{\"resumed\": true}"));
  } else {
    ch.pending = true;
    ch.join_ref_of_reply = j.ref;
  }
  Carry(out);
}

void Server::OnWsLeave(const gateway::LeaveAsked& l) {
  auto id = ws_ids_.find(l.conn);
  if (id == ws_ids_.end()) return;
  const core::ClientId client = id->second;
  WsClient& ws = ws_clients_[client];
  core::Actions out;
  for (auto it = ws.channels.begin(); it != ws.channels.end(); ++it) {
    if (it->second.topic != l.topic) continue;
    node_.Leave(env_.Now(), client, it->first, out);
    ws.channels.erase(it);
    break;
  }
  // Ok also for a channel that was not joined: what the client wanted is true.
  gateway_->Send({l.conn}, Reply(l.join_ref, l.ref, l.topic, true, "{}"));
  Carry(out);
}

bool Server::CarryToWs(const proto::Update& u, const std::vector<core::ClientId>& clients) {
  // Channel topic -> its sockets; usually one channel topic per core topic.
  std::map<std::string, std::vector<gateway::ConnId>> by_channel;
  bool handed = false;
  for (core::ClientId c : clients) {
    auto ws = ws_clients_.find(c);
    if (ws == ws_clients_.end()) continue;
    auto ch = ws->second.channels.find(u.topic);
    if (ch == ws->second.channels.end()) continue;
    WsChannel& channel = ch->second;
    if (channel.pending) {
      channel.pending = false;
      gateway_->Send(
          {ws->second.conn},
          std::make_shared<const gateway::OutMessage>(gateway::OutMessage{
              gateway::EncodeReply(channel.join_ref, channel.join_ref_of_reply, channel.topic, true,
                                   gateway::JoinResponse(u, channel.asked_resume)),
              u.topic, u.kind == proto::UpdateKind::kSnapshot}));
      channel.join_ref_of_reply.clear();
      for (auto& m : channel.held) gateway_->Send({ws->second.conn}, std::move(m));
      channel.held.clear();
      handed = true;
      continue;
    }
    by_channel[channel.topic].push_back(ws->second.conn);
  }
  if (by_channel.empty()) return handed;
  const std::string payload = gateway::UpdatePayload(u);
  for (auto& [topic, conns] : by_channel) {
    gateway_->Send(std::move(conns),
                   std::make_shared<const gateway::OutMessage>(gateway::OutMessage{
                       gateway::EncodePush("null", topic, gateway::PushEvent(u.kind), payload),
                       u.topic, u.kind == proto::UpdateKind::kSnapshot}));
  }
  return true;
}

namespace {

std::vector<gateway::PresenceView> Views(const std::vector<core::PresenceItem>& items) {
  std::vector<gateway::PresenceView> v;
  v.reserve(items.size());
  for (const core::PresenceItem& i : items) v.push_back({i.key, i.meta, i.ref});
  return v;
}

}  // namespace

void Server::CarryPresenceToWs(const core::PresenceDelivery& p) {
  const std::string payload = p.state ? gateway::PresenceMap(Views(p.joins))
                                      : gateway::PresenceDiff(Views(p.joins), Views(p.leaves));
  const char* event = p.state ? "presence_state" : "presence_diff";
  std::map<std::string, std::vector<gateway::ConnId>> by_channel;
  for (core::ClientId c : p.clients) {
    auto ws = ws_clients_.find(c);
    if (ws == ws_clients_.end()) continue;
    auto ch = ws->second.channels.find(p.topic);
    if (ch == ws->second.channels.end()) continue;
    if (ch->second.pending) {  // after the join's reply
      ch->second.held.push_back(std::make_shared<const gateway::OutMessage>(gateway::OutMessage{
          gateway::EncodePush("null", ch->second.topic, event, payload), "", false}));
      continue;
    }
    by_channel[ch->second.topic].push_back(ws->second.conn);
  }
  for (auto& [topic, conns] : by_channel) {
    gateway_->Send(std::move(conns),
                   std::make_shared<const gateway::OutMessage>(gateway::OutMessage{
                       gateway::EncodePush("null", topic, event, payload), "", false}));
  }
}

void Server::RefreshWsClients(Time now) {
  if (ws_clients_.empty() || now < next_ws_refresh_) return;
  next_ws_refresh_ = now + std::chrono::milliseconds(250);
  for (const auto& [client, ws] : ws_clients_)
    if (!ws.channels.empty()) node_.ClientSeen(now, client);
}

void Server::CopyGatewayCounters() {
  if (!gateway_) return;
  const gateway::GatewayStats s = gateway_->stats();
  core::Counters& c = node_.counters();
  c.ws_connections = s.connections;
  c.ws_upgrades_refused = s.upgrades_refused;
  c.ws_frames_malformed = s.frames_malformed;
  c.ws_frames_unknown = s.frames_unknown;
  c.ws_idle_closed = s.idle_closed;
  c.ws_http_requests = s.http_requests;
  c.ws_slow_consumer_resets = s.slow_consumer_resets;
  c.ws_updates_dropped_slow_client = s.updates_dropped_slow_client;
}

}  // namespace livepoll::net
