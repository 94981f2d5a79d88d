// The msgpack codec of proto::Message (see PROTOCOL.md). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "livepoll/status.h"
#include "proto/messages.h"

namespace livepoll::proto {

// Limits on what Decode accepts, so a hostile frame cannot make the daemon allocate without bound.
inline constexpr size_t kMaxFrameBytes = 64 * 1024 * 1024;

std::string Encode(const Message& m);

// Decodes one frame. Errors:
//  - Malformed: not msgpack, trailing bytes, not a map, a missing or mistyped field, over a limit;
//  - Incompatible: an envelope with another protocol version `v`;
//  - InvalidArgument: a well-formed envelope of an unknown `type` (message names the type).
// Unknown extra fields are ignored (a newer sender may add fields).
Result<Message> Decode(std::string_view bytes);

// A message type, or a shape repeated inside messages (a compact array), as the table that encodes
// and decodes it describes it: what tests/unit/protocol_doc_test.cpp checks PROTOCOL.md against.
struct WireField {
  std::string name;    // the key (a message's field), or the element's name (a shape's)
  std::string type;    // as PROTOCOL.md writes it: "uint", "str", "array of str", "node"...
  std::string occurs;  // "" (always there), "optional" or "when <condition>"
};
struct WireTable {
  std::string name;               // the message's `type`, or the shape's name
  std::vector<WireField> fields;  // in the order they are written
};
// Every client and admin message type, in proto::Message's order.
std::vector<WireTable> MessageTables();

}  // namespace livepoll::proto
