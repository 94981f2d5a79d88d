// Phoenix Channels V2 frames (the JSON serializer of phoenix.js 1.6+ and Phoenix's
// V2.JSONSerializer): every message is a JSON array `[join_ref, ref, topic, event, payload]`.
// This file is the pure part of the gateway's protocol: what a client's text frame says, and the
// bytes of what the gateway answers. lib/proto/PROTOCOL.md ("WebSocket gateway") documents it.
//
// Client frames come from strangers, so decoding is bounded before anything is built: at most
// kMaxFrameBytes of text, nesting at most kMaxDepth deep, refs and topics of bounded length.
// Every refusal is a Status: Malformed when the frame is not a V2 frame at all (not JSON, not a
// five-element array, a field of the wrong type or size), so the gateway counts it and cannot
// answer it; a phx_join whose payload is wrong keeps its frame (and refs) and says why in
// ClientFrame::join_status, so the client gets an error reply it can read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "livepoll/status.h"
#include "proto/messages.h"

namespace livepoll::gateway {

inline constexpr size_t kMaxFrameBytes = 64 * 1024;    // a client's text frame
inline constexpr int kMaxDepth = 16;                   // arrays and objects inside one another
inline constexpr size_t kMaxRefBytes = 64;             // join_ref and ref, as strings
inline constexpr size_t kMaxTopicBytes = 8 * 1024;     // a channel topic
inline constexpr size_t kMaxEventBytes = 64;           // an event name
inline constexpr size_t kMaxParams = 64;               // a join payload's `params`
inline constexpr size_t kMaxTokenBytes = 8 * 1024;     // a join payload's `token`
inline constexpr size_t kMaxPresenceKeyBytes = 256;    // presence.key
inline constexpr size_t kMaxPresenceMetaBytes = 1024;  // presence.meta, as compact JSON

// `resume` of a join payload: the last update the client applied of the topic
// (PROTOCOL.md, "Sessions and resume"); owner and owner_session as pushes carried them.
struct Resume {
  std::string owner;           // empty: whichever owner held `epoch`
  uint64_t owner_session = 0;  // 0: unknown
  uint64_t epoch = 0;          // > 0
  uint64_t seq = 0;
  bool operator==(const Resume&) const = default;
};

// `presence` of a join payload: who the viewer says it is, shown to the topic's other viewers.
struct PresenceMeta {
  std::string key;   // at most kMaxPresenceKeyBytes
  std::string meta;  // a JSON object, compact, at most kMaxPresenceMetaBytes
  bool operator==(const PresenceMeta&) const = default;
};

// What a phx_join payload asks for (fields phoenix.js or a page may add besides are ignored).
struct JoinRequest {
  bool has_params = false;  // `params` was given (then the topic must not carry `?...`)
  proto::Params params;     // values as text: a JSON number or boolean as its JSON text
  std::string token;        // "": none in the payload
  std::optional<Resume> resume;
  std::optional<PresenceMeta> presence;
  bool operator==(const JoinRequest&) const = default;
};

// One client frame. Refs are kept as the JSON text the client sent (`"7"`, `7` or `null`), so a
// reply echoes them byte for byte whatever their type.
struct ClientFrame {
  std::string join_ref = "null";
  std::string ref = "null";
  std::string topic;
  std::string event;
  // phx_join only: the payload read, or why it cannot be (InvalidArgument, naming the field).
  JoinRequest join;
  Status join_status;
};

// Decodes one text frame of a client. See the header comment for what is refused.
Result<ClientFrame> DecodeClientFrame(std::string_view text);

// ---- what the gateway sends ----
// `[join_ref, ref, topic, "phx_reply", {"status": "ok"|"error", "response": RESPONSE}]`, the refs
// as ClientFrame keeps them and `response` a JSON object's text.
std::string EncodeReply(std::string_view join_ref, std::string_view ref, std::string_view topic,
                        bool ok, std::string_view response);
// `{"reason": REASON}`, an error reply's response.
std::string ReasonResponse(std::string_view reason);
// `[join_ref, null, topic, event, payload]`: a message the server sends on its own. Broadcasts
// use a null join_ref (phoenix.js hands those to whichever channel has the topic), so their bytes
// serve every socket of the same channel topic.
std::string EncodePush(std::string_view join_ref, std::string_view topic, std::string_view event,
                       std::string_view payload);

// The push event of an update: "snapshot", "diff" or "error".
const char* PushEvent(proto::UpdateKind kind);
// An update as a push's payload: `{"owner", "epoch", "seq", ...the kind's fields
// (proto/update_json.h), "owner_session"}`, owner_session as a decimal string (64 bits do not fit
// a JavaScript number); `resume` takes it back as such.
std::string UpdatePayload(const proto::Update& u);
// The ok response of a join that the update `u` answers: UpdatePayload(u) with `"resumed": false`
// when the join asked to resume (the stream starts again from `u`, a snapshot or an error).
std::string JoinResponse(const proto::Update& u, bool asked_resume);

// ---- Phoenix Presence ----
// One presence as a client is shown it: who (key), what it said of itself (meta, a JSON object's
// text) and phx_ref (unique per join with presence).
struct PresenceView {
  std::string key, meta, ref;
};
// `{KEY: {"metas": [{...meta, "phx_ref": REF}, ...]}, ...}`, the presences grouped by key (in
// the order given; presences of one key must be adjacent). A meta that is not a JSON object
// (a peer's is bounded but was never parsed here) shows as `{}` plus its phx_ref.
std::string PresenceMap(const std::vector<PresenceView>& presences);
// The payload of presence_diff: `{"joins": PresenceMap(joins), "leaves": PresenceMap(leaves)}`.
std::string PresenceDiff(const std::vector<PresenceView>& joins,
                         const std::vector<PresenceView>& leaves);

}  // namespace livepoll::gateway
