// The msgpack toolkit behind every livepoll codec (client, admin and cluster messages): packing
// helpers that write the envelope and values, and a bounds- and type-checked reader. The message
// tables that use them are in schema.h. Include it only from codec sources: msgpack's headers are
// heavy.
#pragma once

#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "livepoll/status.h"
#include "livepoll/value.h"
#include "proto/codec.h"
#include "proto/messages.h"

namespace livepoll::proto::wire {

using Packer = msgpack::packer<msgpack::sbuffer>;

void PackStr(Packer& p, std::string_view s);
void PackValue(Packer& p, const Value& v);
// Writes the map header and the envelope fields (v, type); `fields` is the number of message
// fields that follow.
void PackEnvelope(Packer& p, std::string_view type, uint32_t fields);

class Fields {
 public:
  explicit Fields(const msgpack::object_map& map) : map_(map) {}

  const msgpack::object* Find(std::string_view key) const {
    for (uint32_t i = 0; i < map_.size; ++i) {
      const auto& kv = map_.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key)
        return &kv.val;
    }
    return nullptr;
  }

  Status Str(std::string_view key, std::string* out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr || o->type != msgpack::type::STR) return Bad(key, "a string");
    out->assign(o->via.str.ptr, o->via.str.size);
    return Status::Ok();
  }
  Status U64(std::string_view key, uint64_t* out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr || o->type != msgpack::type::POSITIVE_INTEGER)
      return Bad(key, "an unsigned integer");
    *out = o->via.u64;
    return Status::Ok();
  }
  static Status Bad(std::string_view key, std::string_view what) {
    return Status::Malformed("field '" + std::string(key) + "' is missing or not " +
                             std::string(what));
  }

 private:
  const msgpack::object_map& map_;
};

Status DecodeValue(const msgpack::object& o, Value* out);

// A decoded envelope: the msgpack tree (which owns the memory the fields point into) and its type.
struct Envelope {
  msgpack::object_handle handle;
  std::string type;
  Fields fields() const { return Fields(handle.get().via.map); }
};

// Unpacks `bytes` with limits and checks the envelope: Malformed (not msgpack, trailing bytes, not
// a map, no v or type), Incompatible (another protocol version).
Result<Envelope> OpenEnvelope(std::string_view bytes);

}  // namespace livepoll::proto::wire
