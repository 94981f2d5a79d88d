#include "gateway/phoenix_frame.h"

#include <nlohmann/json.hpp>

#include "livepoll/json.h"
#include "proto/update_json.h"

namespace livepoll::gateway {

namespace {

using Json = nlohmann::json;

// The deepest nesting of arrays and objects in `text`, outside strings; stops counting past
// `limit` so a frame of a million `[` costs one pass and no parser recursion.
int Depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// A ref as the client sent it: a short string, a non-negative integer or null.
Result<std::string> RefText(const Json& j, const char* what) {
  if (j.is_null()) return std::string("null");
  if (j.is_number_unsigned()) return j.dump();
  if (j.is_string()) {
    if (j.get_ref<const std::string&>().size() > kMaxRefBytes)
      return Status::Malformed(std::string(what) + " is longer than " +
                               std::to_string(kMaxRefBytes) + " bytes");
    return j.dump();
  }
  return Status::Malformed(std::string(what) + " must be a string, a number or null");
}

Result<uint64_t> Unsigned(const Json& o, const char* field) {
  auto it = o.find(field);
  if (it == o.end()) return Status::InvalidArgument(std::string("resume.") + field + " is missing");
  if (!it->is_number_unsigned())
    return Status::InvalidArgument(std::string("resume.") + field +
                                   " must be a non-negative integer");
  return it->get<uint64_t>();
}

Status ReadParams(const Json& p, JoinRequest& join) {
  if (!p.is_object()) return Status::InvalidArgument("params must be an object");
  if (p.size() > kMaxParams)
    return Status::InvalidArgument("params has more than " + std::to_string(kMaxParams) +
                                   " entries");
  join.has_params = true;
  for (const auto& [name, value] : p.items()) {
    if (value.is_string())
      join.params.emplace_back(name, value.get<std::string>());
    else if (value.is_number() || value.is_boolean())
      join.params.emplace_back(name, value.dump());
    else
      return Status::InvalidArgument("params." + name + " must be a string, a number or a boolean");
  }
  return Status::Ok();
}

Status ReadResume(const Json& r, JoinRequest& join) {
  if (!r.is_object()) return Status::InvalidArgument("resume must be an object");
  Resume res;
  Result<uint64_t> epoch = Unsigned(r, "epoch");
  if (!epoch.ok()) return epoch.status();
  if (*epoch == 0) return Status::InvalidArgument("resume.epoch must be above 0");
  Result<uint64_t> seq = Unsigned(r, "seq");
  if (!seq.ok()) return seq.status();
  res.epoch = *epoch;
  res.seq = *seq;
  if (auto o = r.find("owner"); o != r.end() && !o->is_null()) {
    if (!o->is_string() || o->get_ref<const std::string&>().size() > kMaxRefBytes * 4)
      return Status::InvalidArgument("resume.owner must be a node name");
    res.owner = o->get<std::string>();
  }
  if (auto s = r.find("owner_session"); s != r.end() && !s->is_null()) {
    // A string of digits, as pushes carry it, or a number.
    bool good = s->is_number_unsigned();
    if (good) {
      res.owner_session = s->get<uint64_t>();
    } else if (s->is_string()) {
      const std::string& text = s->get_ref<const std::string&>();
      good = !text.empty() && text.size() <= 20 &&
             text.find_first_not_of("0123456789") == std::string::npos;
      if (good) {
        try {
          res.owner_session = std::stoull(text);
        } catch (const std::exception&) {
          good = false;  // above 2^64
        }
      }
    }
    if (!good) return Status::InvalidArgument("resume.owner_session must be a decimal string");
  }
  join.resume = std::move(res);
  return Status::Ok();
}

Status ReadPresence(const Json& p, JoinRequest& join) {
  if (!p.is_object()) return Status::InvalidArgument("presence must be an object {key, meta}");
  auto key = p.find("key");
  if (key == p.end() || !key->is_string() || key->get_ref<const std::string&>().empty())
    return Status::InvalidArgument("presence.key must be a non-empty string");
  if (key->get_ref<const std::string&>().size() > kMaxPresenceKeyBytes)
    return Status::InvalidArgument("presence.key is longer than " +
                                   std::to_string(kMaxPresenceKeyBytes) + " bytes");
  PresenceMeta presence{key->get<std::string>(), "{}"};
  if (auto meta = p.find("meta"); meta != p.end() && !meta->is_null()) {
    if (!meta->is_object()) return Status::InvalidArgument("presence.meta must be an object");
    presence.meta = meta->dump();
    if (presence.meta.size() > kMaxPresenceMetaBytes)
      return Status::InvalidArgument("presence.meta is larger than " +
                                     std::to_string(kMaxPresenceMetaBytes) + " bytes of JSON");
  }
  join.presence = std::move(presence);
  return Status::Ok();
}

Status ReadJoin(const Json& payload, JoinRequest& join) {
  if (auto p = payload.find("params"); p != payload.end() && !p->is_null()) {
    if (Status s = ReadParams(*p, join); !s.ok()) return s;
  }
  if (auto t = payload.find("token"); t != payload.end() && !t->is_null()) {
    if (!t->is_string()) return Status::InvalidArgument("token must be a string");
    if (t->get_ref<const std::string&>().size() > kMaxTokenBytes)
      return Status::InvalidArgument("token is longer than " + std::to_string(kMaxTokenBytes) +
                                     " bytes");
    join.token = t->get<std::string>();
  }
  if (auto r = payload.find("resume"); r != payload.end() && !r->is_null()) {
    if (Status s = ReadResume(*r, join); !s.ok()) return s;
  }
  if (auto p = payload.find("presence"); p != payload.end() && !p->is_null()) {
    if (Status s = ReadPresence(*p, join); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Result<ClientFrame> DecodeClientFrame(std::string_view text) {
  if (text.size() > kMaxFrameBytes)
    return Status::Malformed("a frame of " + std::to_string(text.size()) + " bytes (at most " +
                             std::to_string(kMaxFrameBytes) + ")");
  if (Depth(text, kMaxDepth) > kMaxDepth)
    return Status::Malformed("JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Malformed("not JSON");
  if (!j.is_array() || j.size() != 5)
    return Status::Malformed("not a V2 frame [join_ref, ref, topic, event, payload]");
  ClientFrame f;
  Result<std::string> join_ref = RefText(j[0], "join_ref");
  if (!join_ref.ok()) return join_ref.status();
  Result<std::string> ref = RefText(j[1], "ref");
  if (!ref.ok()) return ref.status();
  f.join_ref = std::move(*join_ref);
  f.ref = std::move(*ref);
  if (!j[2].is_string() || j[2].get_ref<const std::string&>().size() > kMaxTopicBytes)
    return Status::Malformed("the topic must be a string of at most " +
                             std::to_string(kMaxTopicBytes) + " bytes");
  if (!j[3].is_string() || j[3].get_ref<const std::string&>().empty() ||
      j[3].get_ref<const std::string&>().size() > kMaxEventBytes)
    return Status::Malformed("the event must be a string of 1 to " +
                             std::to_string(kMaxEventBytes) + " bytes");
  if (!j[4].is_object()) return Status::Malformed("the payload must be an object");
  f.topic = j[2].get<std::string>();
  f.event = j[3].get<std::string>();
  if (f.event == "phx_join") f.join_status = ReadJoin(j[4], f.join);
  return f;
}

std::string EncodeReply(std::string_view join_ref, std::string_view ref, std::string_view topic,
                        bool ok, std::string_view response) {
  std::string out = "[";
  out += join_ref;
  out += ",";
  out += ref;
  out += ",";
  AppendJsonString(out, topic);
  out += ",\"phx_reply\",{\"status\":";
  out += ok ? "\"ok\"" : "\"error\"";
  out += ",\"response\":";
  out += response;
  out += "}]";
  return out;
}

std::string ReasonResponse(std::string_view reason) {
  std::string out = "{\"reason\":";
  AppendJsonString(out, reason);
  out += "}";
  return out;
}

std::string EncodePush(std::string_view join_ref, std::string_view topic, std::string_view event,
                       std::string_view payload) {
  std::string out = "[";
  out += join_ref;
  out += ",null,";
  AppendJsonString(out, topic);
  out += ",";
  AppendJsonString(out, event);
  out += ",";
  out += payload;
  out += "]";
  return out;
}

const char* PushEvent(proto::UpdateKind kind) { return proto::UpdateKindName(kind); }

std::string UpdatePayload(const proto::Update& u) {
  std::string out = "{";
  proto::AppendUpdateFields(out, u);
  // As a string: a session is 64 random bits, and a JavaScript number keeps 53.
  out += ", \"owner_session\": \"" + std::to_string(u.owner_session) + "\"}";
  return out;
}

std::string JoinResponse(const proto::Update& u, bool asked_resume) {
  std::string out = "{";
  if (asked_resume) out += "\"resumed\": false, ";
  out += "\"kind\": ";
  AppendJsonString(out, proto::UpdateKindName(u.kind));
  out += ", ";
  proto::AppendUpdateFields(out, u);
  // As a string: a session is 64 random bits, and a JavaScript number keeps 53.
  out += ", \"owner_session\": \"" + std::to_string(u.owner_session) + "\"}";
  return out;
}

std::string PresenceMap(const std::vector<PresenceView>& presences) {
  std::string out = "{";
  for (size_t i = 0; i < presences.size(); ++i) {
    const PresenceView& p = presences[i];
    const bool first_of_key = i == 0 || presences[i - 1].key != p.key;
    if (first_of_key) {
      if (i > 0) out += "]},";
      AppendJsonString(out, p.key);
      out += ":{\"metas\":[";
    } else {
      out += ",";
    }
    Json meta = Json::parse(p.meta, nullptr, /*allow_exceptions=*/false);
    if (!meta.is_object()) meta = Json::object();
    meta["phx_ref"] = p.ref;
    out += meta.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  if (!presences.empty()) out += "]}";
  out += "}";
  return out;
}

std::string PresenceDiff(const std::vector<PresenceView>& joins,
                         const std::vector<PresenceView>& leaves) {
  return "{\"joins\":" + PresenceMap(joins) + ",\"leaves\":" + PresenceMap(leaves) + "}";
}

}  // namespace livepoll::gateway
