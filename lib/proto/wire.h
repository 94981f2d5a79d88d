// The msgpack toolkit behind every livepoll codec (client, admin and cluster messages): packing
// helpers that write the envelope and values, and a bounds- and type-checked reader. Include it
// only from codec sources: msgpack's headers are heavy.
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
void PackRow(Packer& p, const Row& row);
void PackRows(Packer& p, const std::vector<Row>& rows);
void PackStrings(Packer& p, const std::vector<std::string>& v);
void PackParams(Packer& p, const Params& params);
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
    if (o == nullptr || o->type != msgpack::type::POSITIVE_INTEGER) return Bad(key, "an unsigned integer");
    *out = o->via.u64;
    return Status::Ok();
  }
  Status Strings(std::string_view key, std::vector<std::string>* out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr || o->type != msgpack::type::ARRAY) return Bad(key, "an array of strings");
    out->clear();
    for (uint32_t i = 0; i < o->via.array.size; ++i) {
      const auto& e = o->via.array.ptr[i];
      if (e.type != msgpack::type::STR) return Bad(key, "an array of strings");
      out->emplace_back(e.via.str.ptr, e.via.str.size);
    }
    return Status::Ok();
  }
  Status ParamMap(std::string_view key, Params* out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr || o->type != msgpack::type::MAP) return Bad(key, "a map of strings");
    out->clear();
    for (uint32_t i = 0; i < o->via.map.size; ++i) {
      const auto& kv = o->via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR)
        return Bad(key, "a map of strings");
      out->emplace_back(std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                        std::string(kv.val.via.str.ptr, kv.val.via.str.size));
    }
    return Status::Ok();
  }
  const msgpack::object* Array(std::string_view key) const {
    const msgpack::object* o = Find(key);
    return (o != nullptr && o->type == msgpack::type::ARRAY) ? o : nullptr;
  }

  static Status Bad(std::string_view key, std::string_view what) {
    return Status::Malformed("field '" + std::string(key) + "' is missing or not " + std::string(what));
  }

 private:
  const msgpack::object_map& map_;
};

Status DecodeValue(const msgpack::object& o, Value* out);
Status DecodeRow(const msgpack::object& o, Row* row);
Status DecodeRows(const Fields& f, std::string_view key, std::vector<Row>* rows);

// Runs each step in order and returns the first failure; keeps the per-type decoders flat.
template <typename... Steps>
Status All(Steps&&... steps) {
  Status s;
  ((s.ok() ? (void)(s = steps()) : void()), ...);
  return s;
}


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
