#include "watch_stream.h"

#include <ostream>
#include <thread>

#include "admin_client.h"
#include "duration.h"
#include "livepoll/strings.h"
#include "output.h"
#include "update_json.h"

namespace livepoll::cli {
namespace {

using std::chrono::milliseconds;

// A client must be heard at least every client_timeout / 3 (PROTOCOL.md); the daemon's default
// client_timeout is 10s, so once a second leaves a wide margin.
constexpr milliseconds kHeartbeatEvery{1000};
// The longest single wait, so a stop request (signal, test) or a closed connection is noticed
// quickly.
constexpr milliseconds kWaitSlice{100};
// Joining again: how long each node may take to answer `info`, and the pause after a round of
// every endpoint without an answer. Short, so a restarted daemon is back in the stream promptly.
constexpr milliseconds kRejoinAsk{1000};
constexpr milliseconds kRejoinPause{200};

// The client endpoint the daemon reported, made connectable: a wildcard bind ("tcp://*:7470",
// "tcp://0.0.0.0:7470") is reached at the host the admin endpoint named.
std::string ConnectableEndpoint(const std::string& client, const std::string& admin) {
  std::string host = "127.0.0.1";
  if (admin.rfind("tcp://", 0) == 0) {
    const std::string rest = admin.substr(6);
    host = rest.substr(0, rest.rfind(':'));
  }
  for (const char* wildcard : {"tcp://*:", "tcp://0.0.0.0:"}) {
    const std::string w = wildcard;
    if (client.rfind(w, 0) == 0) return "tcp://" + host + ":" + client.substr(w.size());
  }
  return client;
}

// The node's client endpoint, from `info` on its admin endpoint. Errors: CallAdmin's, and
// Unavailable for an answer without one.
Result<std::string> ClientEndpoint(zmq::context_t& context, const std::string& admin,
                                   milliseconds timeout, const std::optional<CurveClient>& curve) {
  Result<proto::AdminReply> info =
      CallAdmin(context, admin, timeout, "info", {{"local", "1"}}, curve);
  if (!info.ok()) return info.status();
  if (!info->code.empty()) return Status::Unavailable("info: " + info->message);
  size_t column = 0;
  while (column < info->columns.size() && info->columns[column] != "client_endpoint") ++column;
  const std::string* client = nullptr;
  if (!info->rows.empty() && column < info->rows[0].size())
    client = std::get_if<std::string>(&info->rows[0][column]);
  if (client == nullptr || client->empty())
    return Status::Unavailable("livepolld at " + admin +
                               " did not say its client endpoint (info has no client_endpoint)");
  return ConnectableEndpoint(*client, admin);
}

std::string Position(const proto::Update& u) {
  return u.owner + " epoch " + std::to_string(u.epoch) + " seq " + std::to_string(u.seq);
}

}  // namespace

WatchStream::WatchStream(const CommandContext& ctx, zmq::context_t& context, std::string query,
                         proto::Params params, std::string token)
    : ctx_(ctx),
      context_(context),
      query_(std::move(query)),
      params_(std::move(params)),
      token_(std::move(token)),
      endpoints_(ctx.global.endpoints) {}

int WatchStream::Run() {
  const uint64_t limit = ctx_.vm.count("count") ? ctx_.vm["count"].as<uint64_t>() : 0;
  if (ctx_.vm.count("count") && limit == 0) return kExitOk;
  if (std::optional<int> failed = Attach(0, "")) return *failed;
  Clock::time_point next_heartbeat = Clock::now();
  while (!Stopping()) {
    const Clock::time_point now = Clock::now();
    std::optional<int> done;
    if (now >= next_heartbeat) {
      next_heartbeat = now + kHeartbeatEvery;
      if (!conn_->Send(proto::Heartbeat{session_}).ok()) done = Rejoin("cannot send to it", false);
    } else if (conn_->Closed()) {
      done = Rejoin("it closed the connection", false);
    } else if (now - last_heard_ > SilenceLimit()) {
      // A node that never took the first join is not one this stream was lost by: say so and
      // stop, as for an admin endpoint that does not answer.
      if (!joined_once_) {
        ctx_.err << "livepoll: "
                 << UnreachableMessage(conn_->endpoint(), SilenceLimit(),
                                       ctx_.global.curve.has_value())
                 << '\n';
        return kExitUnreachable;
      }
      done = Rejoin("no answer within " + FormatDuration(SilenceLimit()), false);
    } else {
      Result<std::optional<proto::Message>> m = conn_->Receive(kWaitSlice);
      if (!m.ok()) {
        ctx_.err << "livepoll: dropped a frame from livepolld: " << m.status().ToString() << '\n';
        continue;
      }
      if (!m->has_value()) continue;
      last_heard_ = Clock::now();
      done = Handle(**m);
    }
    if (done) return *done;
    if (limit > 0 && printed_ >= limit) return Leave(kExitOk);
  }
  return Leave(kExitOk);
}

std::optional<int> WatchStream::Attach(size_t first, const std::string& why) {
  const size_t n = endpoints_.size();
  if (!joined_once_) {
    // The first join: every endpoint once, and a clear failure when none can take it.
    Status last = Status::Ok();
    for (size_t k = 0; k < n; ++k) {
      const std::string& admin = endpoints_[(first + k) % n];
      Result<std::string> client =
          ClientEndpoint(context_, admin, ctx_.global.timeout, ctx_.global.curve);
      if (client.ok()) {
        current_ = (first + k) % n;
        if (SendJoin(admin, *client)) return std::nullopt;
        return kExitFailure;
      }
      last = client.status();
      if (last.code() != Status::Code::kTimeout) break;
    }
    switch (last.code()) {
      case Status::Code::kTimeout:
        ctx_.err << "livepoll: "
                 << UnreachableMessage(Join(endpoints_, ", "), ctx_.global.timeout,
                                       ctx_.global.curve.has_value())
                 << '\n';
        return kExitUnreachable;
      case Status::Code::kInvalidArgument:
        ctx_.err << "livepoll: " << Printable(last.message()) << '\n';
        return kExitUsage;
      default:
        ctx_.err << "livepoll: " << Printable(last.message()) << '\n';
        return kExitFailure;
    }
  }
  // Joining again: round and round until a node takes it. The output waits meanwhile; it does not
  // end, so a script reading it never has to start it again.
  ctx_.err << "livepoll: lost livepolld at " << endpoints_[current_] << " (" << Printable(why)
           << "); joining again" << (n > 1 ? " through another node" : "") << '\n';
  while (!Stopping()) {
    for (size_t k = 0; k < n && !Stopping(); ++k) {
      const std::string& admin = endpoints_[(first + k) % n];
      Result<std::string> client = ClientEndpoint(
          context_, admin, std::min(ctx_.global.timeout, kRejoinAsk), ctx_.global.curve);
      if (client.ok() && SendJoin(admin, *client)) {
        current_ = (first + k) % n;
        return std::nullopt;
      }
    }
    std::this_thread::sleep_for(kRejoinPause);
  }
  return kExitOk;
}

bool WatchStream::SendJoin(const std::string& admin_endpoint, const std::string& client_endpoint) {
  Result<std::unique_ptr<Connection>> conn =
      Connection::Open(context_, client_endpoint, {}, /*watch_link=*/true, ctx_.global.curve);
  if (!conn.ok()) {
    ctx_.err << "livepoll: " << admin_endpoint << ": " << conn.status().message() << '\n';
    return false;
  }
  conn_ = std::move(*conn);
  // The token first, on every new connection: the join that follows is judged by it.
  if (!token_.empty()) {
    auth_id_ = ++join_id_;
    if (!conn_->Send(proto::Auth{auth_id_, token_}).ok()) return false;
  }
  proto::Join join{++join_id_, query_, params_};
  if (last_) {
    join.resume_owner = last_->owner;
    join.resume_owner_session = last_->owner_session;
    join.resume_epoch = last_->epoch;
    join.resume_seq = last_->seq;
  }
  last_heard_ = Clock::now();
  return conn_->Send(join).ok();
}

std::optional<int> WatchStream::Handle(const proto::Message& m) {
  if (auto* joined = std::get_if<proto::Joined>(&m)) {
    if (joined->id != join_id_) return std::nullopt;
    topic_ = joined->topic;
    session_ = joined->session;
    if (rejoining_ && last_) {
      if (joined->resumed) {
        ctx_.err << "livepoll: resumed through livepolld at " << endpoints_[current_] << " after "
                 << Printable(Position(*last_)) << '\n';
      } else {
        ctx_.err << "livepoll: livepolld at " << endpoints_[current_] << " cannot resume after "
                 << Printable(Position(*last_)) << ": a new snapshot follows\n";
      }
    }
    joined_once_ = true;
    rejoining_ = false;
  } else if (auto* u = std::get_if<proto::Update>(&m)) {
    if (topic_.empty() || u->topic != topic_) return std::nullopt;
    ctx_.out << UpdateToJson(*u) << '\n';
    ctx_.out.flush();
    // stdout closed (`| head -1`): the reader has what it wanted, so this is a normal end.
    if (!ctx_.out) return Leave(kExitOk);
    // The position is all a resume needs: not the rows.
    last_ = proto::Update{};
    last_->owner = u->owner;
    last_->owner_session = u->owner_session;
    last_->epoch = u->epoch;
    last_->seq = u->seq;
    ++printed_;
  } else if (auto* hb = std::get_if<proto::Heartbeat>(&m)) {
    if (session_ != 0 && hb->session != 0 && hb->session != session_)
      return Rejoin(
          "restarted: session " + std::to_string(session_) + ", now " + std::to_string(hb->session),
          true);
  } else if (auto* e = std::get_if<proto::Error>(&m)) {
    // A refused token: said once; the join that follows fails with the reason if the query
    // needs a token, and goes on if it does not.
    if (e->id == auth_id_ && e->id != 0) {
      ctx_.err << "livepoll: livepolld refused the token: " << e->message << " (" << e->code
               << ")\n";
      return std::nullopt;
    }
    if (e->id == join_id_ && e->id != 0 && topic_.empty()) {
      ctx_.err << "livepoll: watch " << query_ << ": " << Printable(e->message) << " ("
               << Printable(e->code) << ")\n";
      return kExitFailure;
    }
    // The node does not know this client: its subscription is not there (PROTOCOL.md).
    if (e->id == 0 && e->code == "not-found" && joined_once_) return Rejoin(e->message, true);
    ctx_.err << "livepoll: livepolld: " << Printable(e->message) << " (" << Printable(e->code)
             << ")\n";
    // Another protocol version will refuse every frame we send: no point in going on.
    if (e->code == "incompatible") return kExitFailure;
  }
  return std::nullopt;  // left, anything newer: being heard is all that counts
}

std::optional<int> WatchStream::Rejoin(const std::string& why, bool same_first) {
  topic_.clear();
  session_ = 0;
  rejoining_ = true;
  const size_t first = same_first ? current_ : (current_ + 1) % endpoints_.size();
  return Attach(first, why);
}

// Says goodbye so the daemon frees the subscription now rather than after client_timeout,
// waiting briefly for `left`; then returns `code`.
int WatchStream::Leave(int code) {
  if (topic_.empty() || !conn_ || !conn_->Send(proto::Leave{++join_id_, topic_}).ok()) return code;
  const Clock::time_point deadline =
      Clock::now() + std::min<milliseconds>(ctx_.global.timeout, milliseconds(1000));
  while (Clock::now() < deadline) {
    Result<std::optional<proto::Message>> m = conn_->Receive(kWaitSlice);
    if (m.ok() && m->has_value() && std::holds_alternative<proto::Left>(**m)) break;
  }
  return code;
}

milliseconds WatchStream::SilenceLimit() const {
  if (!joined_once_) return ctx_.global.timeout * 3;
  return std::max<milliseconds>(kHeartbeatEvery * 3, ctx_.global.timeout);
}

bool WatchStream::Stopping() const { return ctx_.env.stop != nullptr && ctx_.env.stop->load(); }

}  // namespace livepoll::cli
