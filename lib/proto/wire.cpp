#include "proto/wire.h"

#include <cstring>
#include <limits>

namespace livepoll::proto::wire {

void PackStr(Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

namespace {

// msgpack-c 4.1's pack_double writes a whole-number double (2.0, -0.0) as an integer, so a real
// column would arrive as an integer and a real key would no longer match its row on another
// node. Always write float 64 (0xcb and the IEEE 754 bits, big-endian); pack_bin_body only
// appends raw bytes to the buffer.
void PackFloat64(Packer& p, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  char bytes[9];
  bytes[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  p.pack_bin_body(bytes, sizeof bytes);
}

}  // namespace

void PackValue(Packer& p, const Value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Null>)
          p.pack_nil();
        else if constexpr (std::is_same_v<T, int64_t>)
          p.pack_int64(x);
        else if constexpr (std::is_same_v<T, double>)
          PackFloat64(p, x);
        else if constexpr (std::is_same_v<T, std::string>)
          PackStr(p, x);
        else if constexpr (std::is_same_v<T, Blob>) {
          p.pack_bin(static_cast<uint32_t>(x.bytes.size()));
          p.pack_bin_body(x.bytes.data(), static_cast<uint32_t>(x.bytes.size()));
        } else if constexpr (std::is_same_v<T, bool>) {
          if (x)
            p.pack_true();
          else
            p.pack_false();
        }
      },
      v);
}

void PackEnvelope(Packer& p, std::string_view type, uint32_t fields) {
  p.pack_map(fields + 2);
  PackStr(p, "v");
  p.pack_uint32(kProtocolVersion);
  PackStr(p, "type");
  PackStr(p, type);
}

Status DecodeValue(const msgpack::object& o, Value* out) {
  switch (o.type) {
    case msgpack::type::NIL:
      *out = Null{};
      return Status::Ok();
    case msgpack::type::BOOLEAN:
      *out = o.via.boolean;
      return Status::Ok();
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Status::Malformed("integer value out of int64 range");
      *out = static_cast<int64_t>(o.via.u64);
      return Status::Ok();
    case msgpack::type::NEGATIVE_INTEGER:
      *out = o.via.i64;
      return Status::Ok();
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      *out = o.via.f64;
      return Status::Ok();
    case msgpack::type::STR:
      *out = std::string(o.via.str.ptr, o.via.str.size);
      return Status::Ok();
    case msgpack::type::BIN:
      *out = Blob{std::string(o.via.bin.ptr, o.via.bin.size)};
      return Status::Ok();
    default:
      return Status::Malformed("a value is not null, integer, real, text, blob or boolean");
  }
}

Result<Envelope> OpenEnvelope(std::string_view bytes) {
  if (bytes.size() > kMaxFrameBytes) return Status::Malformed("frame larger than the limit");
  // Containers may not claim more elements than the frame has bytes: a 5-byte array header
  // cannot make the decoder reserve four billion slots.
  const size_t n = bytes.size();
  const msgpack::unpack_limit limit(n, n, n, n, 0, 16);
  Envelope env;
  try {
    size_t off = 0;
    env.handle = msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
    if (off != bytes.size()) return Status::Malformed("trailing bytes after the message");
  } catch (const std::exception& e) {
    return Status::Malformed(std::string("not msgpack: ") + e.what());
  }
  const msgpack::object& root = env.handle.get();
  if (root.type != msgpack::type::MAP) return Status::Malformed("the envelope is not a map");
  Fields f = env.fields();
  uint64_t v = 0;
  if (Status s = f.U64("v", &v); !s.ok()) return s;
  if (v != kProtocolVersion)
    return Status::Incompatible("protocol version " + std::to_string(v) + ", this node speaks " +
                                std::to_string(kProtocolVersion));
  if (Status s = f.Str("type", &env.type); !s.ok()) return s;
  return env;
}

}  // namespace livepoll::proto::wire
