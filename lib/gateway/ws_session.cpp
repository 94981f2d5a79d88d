#include "gateway/sessions.h"

namespace livepoll::gateway {

WsSession::WsSession(Gateway::Impl& hub, ConnId id, tcp::socket socket)
    : hub_(hub), id_(id), ws_(std::move(socket)), queue_(hub.options.queue_bytes) {
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(10);
  // Silence is judged by the hub's sweep (CloseIfIdle), not by a timer per socket.
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws_.set_option(t);
  ws_.read_message_max(kMaxFrameBytes);
  ws_.auto_fragment(false);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "livepolld"); }));
}

void WsSession::Accept(std::shared_ptr<http::request<http::empty_body>> request,
                       std::string token) {
  ws_.async_accept(*request, [self = shared_from_this(), request,
                              token = std::move(token)](beast::error_code ec) mutable {
    if (ec) return self->Gone();
    self->open_ = true;
    self->last_frame_tick_ = self->hub_.tick;
    self->hub_.counts.connections++;
    self->hub_.counts.open++;
    self->hub_.Emit(Connected{self->id_, std::move(token)});
    self->Read();
    self->Write();  // anything the owner sent before the handshake completed
  });
}

void WsSession::Read() {
  // Between frames the pending read asks Beast for one byte of the next message, into a member:
  // an idle socket holds no message buffer (a composed read of a whole message sets aside its
  // first 1.5 KB before anything came). Beast's own buffer may already hold the next frames
  // (a client that sent several at once), so this is a read, not a wait for the socket.
  ws_.async_read_some(
      asio::buffer(&first_byte_, 1),
      [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnFirstByte(ec, n); });
}

void WsSession::OnFirstByte(beast::error_code ec, size_t n) {
  if (ec) return OnRead(ec);
  in_.commit(asio::buffer_copy(in_.prepare(n), asio::buffer(&first_byte_, n)));
  if (ws_.is_message_done()) return OnRead(ec);
  ws_.async_read(in_,
                 [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
}

void WsSession::OnRead(beast::error_code ec) {
  if (ec) {
    if (ec == websocket::error::message_too_big || ec == websocket::error::bad_frame_payload) {
      hub_.counts.frames_malformed++;  // Beast closed with 1009 or 1007
    }
    return Gone();
  }
  last_frame_tick_ = hub_.tick;
  if (ws_.got_text()) {
    const auto data = in_.cdata();
    OnFrame(std::string_view(static_cast<const char*>(data.data()), data.size()));
  } else {
    hub_.counts.frames_malformed++;  // V2 binary frames are for broadcasts a client never sends
  }
  // An idle socket keeps no buffer: the next frame allocates what it needs.
  in_.consume(in_.size());
  in_.shrink_to_fit();
  if (!gone_) Read();
}

void WsSession::Reply(const ClientFrame& f, bool ok, std::string_view response) {
  Push(std::make_shared<const OutMessage>(
      OutMessage{EncodeReply(f.join_ref, f.ref, f.topic, ok, response), "", false}));
}

void WsSession::OnFrame(std::string_view text) {
  Result<ClientFrame> frame = DecodeClientFrame(text);
  if (!frame.ok()) {
    hub_.counts.frames_malformed++;  // without refs there is nobody to answer
    return;
  }
  ClientFrame& f = *frame;
  if (f.topic == "phoenix" && f.event == "heartbeat") return Reply(f, true, "{}");
  if (f.event == "phx_join") {
    if (!f.join_status.ok()) return Reply(f, false, ReasonResponse(f.join_status.message()));
    Result<ChannelTopic> topic = ParseChannelTopic(f.topic);
    if (!topic.ok()) return Reply(f, false, ReasonResponse(topic.status().message()));
    if (topic->has_params && f.join.has_params)
      return Reply(f, false,
                   ReasonResponse("parameters in both the topic and the payload's params: "
                                  "give them one way"));
    JoinAsked join{id_,
                   std::move(f.join_ref),
                   std::move(f.ref),
                   std::move(f.topic),
                   std::move(topic->query),
                   topic->has_params ? std::move(topic->params) : std::move(f.join.params),
                   std::move(f.join)};
    join.join.params.clear();
    return hub_.Emit(std::move(join));
  }
  if (f.event == "phx_leave")
    return hub_.Emit(LeaveAsked{id_, std::move(f.join_ref), std::move(f.ref), std::move(f.topic)});
  hub_.counts.frames_unknown++;
  Reply(f, false, ReasonResponse("unknown event '" + f.event + "' on topic '" + f.topic + "'"));
}

void WsSession::Push(std::shared_ptr<const OutMessage> m) {
  if (gone_) return;
  const SendQueue::PushResult r = queue_.Push(std::move(m));
  if (r.dropped) hub_.counts.updates_dropped_slow_client++;
  if (r.reset) {
    hub_.counts.slow_consumer_resets++;
    hub_.counts.updates_dropped_slow_client += r.dropped_updates;
  }
  Write();
}

void WsSession::Write() {
  if (!open_ || gone_ || queue_.empty() || queue_.writing()) return;
  queue_.MarkWriting();
  const std::string& bytes = queue_.front().bytes;
  ws_.text(true);
  ws_.async_write(asio::buffer(bytes),
                  [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
}

void WsSession::OnWrite(beast::error_code ec) {
  if (ec) return Gone();
  queue_.Pop();
  for (std::string& topic : queue_.TakeResends()) hub_.Emit(ResendAsked{id_, std::move(topic)});
  Write();
}

void WsSession::Close() {
  if (gone_ || !open_) return;
  ws_.async_close(websocket::close_code::normal,
                  [self = shared_from_this()](beast::error_code) { self->Gone(); });
}

void WsSession::CloseIfIdle() {
  if (!open_ || gone_ || hub_.tick - last_frame_tick_ <= Gateway::Impl::kIdleTicks) return;
  hub_.counts.idle_closed++;
  Gone();  // the pending read fails: nothing more to do there
}

void WsSession::Gone() {
  if (gone_) return;
  gone_ = true;
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).close(ignored);
  hub_.Forget(id_, open_);
}

}  // namespace livepoll::gateway
