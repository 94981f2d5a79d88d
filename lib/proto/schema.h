// Message tables: each message of a protocol described once, as its wire type and the ordered table
// of its fields. That one description encodes the message, decodes it and lists it (MessageTables,
// which tests/unit/protocol_doc_test.cpp checks PROTOCOL.md against). codec.cpp describes the
// client and admin messages with it, net/cluster_codec.cpp the messages between nodes. Include it
// only from codec sources: it includes msgpack.
//
// A message type is a map on the wire: the envelope (v, type, and what the protocol adds), then its
// fields in table order. A field names its key, its codec (how the value is packed and read) and
// its struct member; a chain of members reaches into a nested struct:
//
//   constexpr auto kProbe = MessageType<core::ProbeRequest>("m.probe",
//       Field("sender",   kNode, &core::ProbeRequest::from),
//       Field("probe_id", kUint, &core::ProbeRequest::probe_id));
//
// (The tables are laid out by hand, as tables, between clang-format off and on.)
// A field is always there unless marked .Optional() (left out when empty; absent, it reads as
// empty) or .When(...) (there exactly when a condition on fields before it in the table holds).
// Codecs: kUint, kStr, kBool, kValue, kParams, ArrayOf(c), NilOr(c), Named("name", c),
// UintEnum(max), StrEnum(name_of, values...), and Tuple<S>(name, fields...): a struct as a compact
// array of its fields' values, for shapes repeated inside messages.
// Variant<V>(descriptions...) describes a std::variant of messages, one description per
// alternative in the variant's order; Inside(&S::member, description) a struct that wraps one.
//
// Mistakes that fail to compile, at the table: a codec whose value is not the member's type, a
// field of another struct, a key used twice in a message, a wire type used twice in a variant,
// a variant's alternatives missing or out of order, an optional field in a tuple.
//
// Decoding reads the fields in table order and stops at the first bad one: a field that is
// missing (when required) or does not read is Malformed, its message naming the field. Keys the
// table does not know are ignored (a newer sender may add fields); of a key given twice, the first
// counts. Nothing here throws but what allocation throws: callers catch std::exception.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "proto/codec.h"
#include "proto/wire.h"

namespace livepoll::proto::schema {

using wire::Packer;

// ------------------------------------------------------------------------------------ codecs
// A codec is a constant object that packs and reads one C++ type, `Value`, and names its type as
// PROTOCOL.md writes it. Read reports what it expected in a Malformed status (or passes on an
// embedded frame's Incompatible), never throws but for allocation.
template <typename C>
concept Codec = requires(const C& c, Packer& p, const typename C::Value& v,
                         const msgpack::object& o, typename C::Value* out) {
  c.Pack(p, v);
  { c.Read(o, out) } -> std::same_as<Status>;
  { c.Name() } -> std::convertible_to<std::string>;
};

// A failure inside `where` (a field, an element), with its code kept.
inline Status In(std::string_view where, const Status& s) {
  if (s.code() == Status::Code::kMalformed)
    return Status::Malformed(std::string(where) + ": " + s.message());
  if (s.code() == Status::Code::kIncompatible)
    return Status::Incompatible(std::string(where) + ": " + s.message());
  return s;
}
inline Status NotA(std::string_view what) { return Status::Malformed("not " + std::string(what)); }

struct UintCodec {
  using Value = uint64_t;
  void Pack(Packer& p, uint64_t v) const { p.pack_uint64(v); }
  Status Read(const msgpack::object& o, uint64_t* out) const {
    if (o.type != msgpack::type::POSITIVE_INTEGER) return NotA("an unsigned integer");
    *out = o.via.u64;
    return Status::Ok();
  }
  std::string Name() const { return "uint"; }
};
inline constexpr UintCodec kUint;

struct StrCodec {
  using Value = std::string;
  void Pack(Packer& p, std::string_view v) const { wire::PackStr(p, v); }
  Status Read(const msgpack::object& o, std::string* out) const {
    if (o.type != msgpack::type::STR) return NotA("a string");
    out->assign(o.via.str.ptr, o.via.str.size);
    return Status::Ok();
  }
  std::string Name() const { return "str"; }
};
inline constexpr StrCodec kStr;

struct BoolCodec {
  using Value = bool;
  void Pack(Packer& p, bool v) const { p.pack(v); }
  Status Read(const msgpack::object& o, bool* out) const {
    if (o.type != msgpack::type::BOOLEAN) return NotA("a boolean");
    *out = o.via.boolean;
    return Status::Ok();
  }
  std::string Name() const { return "bool"; }
};
inline constexpr BoolCodec kBool;

// A column value: nil, int (int64 range), float64, str, bin or bool.
struct ValueCodec {
  using Value = livepoll::Value;
  void Pack(Packer& p, const livepoll::Value& v) const { wire::PackValue(p, v); }
  Status Read(const msgpack::object& o, livepoll::Value* out) const {
    return wire::DecodeValue(o, out);
  }
  std::string Name() const { return "value"; }
};
inline constexpr ValueCodec kValue;

// Query parameters or command arguments: a map of str to str, in the order given.
struct ParamsCodec {
  using Value = Params;
  void Pack(Packer& p, const Params& params) const {
    p.pack_map(static_cast<uint32_t>(params.size()));
    for (const auto& [k, v] : params) {
      wire::PackStr(p, k);
      wire::PackStr(p, v);
    }
  }
  Status Read(const msgpack::object& o, Params* out) const {
    if (o.type != msgpack::type::MAP) return NotA("a map of strings");
    out->clear();
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      const auto& kv = o.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR)
        return NotA("a map of strings");
      out->emplace_back(std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                        std::string(kv.val.via.str.ptr, kv.val.via.str.size));
    }
    return Status::Ok();
  }
  std::string Name() const { return "map str→str"; }
};
inline constexpr ParamsCodec kParams;

template <Codec C>
struct ArrayCodec {
  using Value = std::vector<typename C::Value>;
  C element;

  void Pack(Packer& p, const Value& v) const {
    p.pack_array(static_cast<uint32_t>(v.size()));
    for (const auto& e : v) element.Pack(p, e);
  }
  Status Read(const msgpack::object& o, Value* out) const {
    if (o.type != msgpack::type::ARRAY) return NotA("an array of " + element.Name());
    // Not larger than the frame: OpenEnvelope's limit caps an array at the frame's byte count.
    out->resize(o.via.array.size);
    for (uint32_t i = 0; i < o.via.array.size; ++i) {
      if (Status s = element.Read(o.via.array.ptr[i], &(*out)[i]); !s.ok())
        return In("element " + std::to_string(i), s);
    }
    return Status::Ok();
  }
  std::string Name() const { return "array of " + element.Name(); }
};
template <Codec C>
consteval ArrayCodec<C> ArrayOf(C element) {
  return {element};
}

// nil, or a value of `C`.
template <Codec C>
struct NilOrCodec {
  using Value = std::optional<typename C::Value>;
  C inner;

  void Pack(Packer& p, const Value& v) const {
    if (v)
      inner.Pack(p, *v);
    else
      p.pack_nil();
  }
  Status Read(const msgpack::object& o, Value* out) const {
    if (o.type == msgpack::type::NIL) {
      out->reset();
      return Status::Ok();
    }
    return inner.Read(o, &out->emplace());
  }
  std::string Name() const { return inner.Name() + " or nil"; }
};
template <Codec C>
consteval NilOrCodec<C> NilOr(C inner) {
  return {inner};
}

// `C` under a name of its own in the listing, e.g. "row" for an array of values.
template <Codec C>
struct NamedCodec {
  using Value = typename C::Value;
  std::string_view name;
  C codec;

  void Pack(Packer& p, const Value& v) const { codec.Pack(p, v); }
  Status Read(const msgpack::object& o, Value* out) const { return codec.Read(o, out); }
  std::string Name() const { return std::string(name); }
};
template <Codec C>
consteval NamedCodec<C> Named(std::string_view name, C codec) {
  return {name, codec};
}

// An enum written as its number, 0 to `max`.
template <typename E>
requires std::is_enum_v<E>
struct UintEnumCodec {
  using Value = E;
  E max;

  void Pack(Packer& p, E v) const { p.pack_uint64(static_cast<uint64_t>(v)); }
  Status Read(const msgpack::object& o, E* out) const {
    const uint64_t top = static_cast<uint64_t>(max);
    if (o.type != msgpack::type::POSITIVE_INTEGER || o.via.u64 > top)
      return NotA("an unsigned integer up to " + std::to_string(top));
    *out = static_cast<E>(o.via.u64);
    return Status::Ok();
  }
  std::string Name() const { return "uint"; }
};
template <typename E>
consteval UintEnumCodec<E> UintEnum(E max) {
  return {max};
}

// An enum written as its name, as `name_of` gives it; `values` are all the names it reads.
template <typename E, size_t N>
requires std::is_enum_v<E>
struct StrEnumCodec {
  using Value = E;
  const char* (*name_of)(E);
  std::array<E, N> values;

  void Pack(Packer& p, E v) const { wire::PackStr(p, name_of(v)); }
  Status Read(const msgpack::object& o, E* out) const {
    if (o.type != msgpack::type::STR) return NotA("a string");
    const std::string_view s(o.via.str.ptr, o.via.str.size);
    for (E v : values) {
      if (s == name_of(v)) {
        *out = v;
        return Status::Ok();
      }
    }
    std::string known;
    for (E v : values) known += std::string(known.empty() ? "" : ", ") + name_of(v);
    return Status::Malformed("'" + std::string(s) + "' is not one of " + known);
  }
  std::string Name() const { return "str"; }
};
template <typename E, std::same_as<E>... Es>
consteval StrEnumCodec<E, 1 + sizeof...(Es)> StrEnum(const char* (*name_of)(E), E first,
                                                     Es... rest) {
  return {name_of, {first, rest...}};
}

// ------------------------------------------------------------------------------------ fields

// How a struct member is reached: one member pointer, or a chain into nested structs.
template <typename P>
struct MemberPointer;
template <typename S, typename M>
struct MemberPointer<M S::*> {
  using Struct = S;
  using Type = M;
};
template <typename P, typename... Ps>
struct MemberChain {
  using Struct = typename MemberPointer<P>::Struct;
  using Type = typename MemberPointer<P>::Type;
  static constexpr bool kLinked = true;
};
template <typename P, typename Q, typename... Ps>
struct MemberChain<P, Q, Ps...> {
  using Struct = typename MemberPointer<P>::Struct;
  using Type = typename MemberChain<Q, Ps...>::Type;
  static constexpr bool kLinked =
      std::is_same_v<typename MemberPointer<P>::Type, typename MemberPointer<Q>::Struct> &&
      MemberChain<Q, Ps...>::kLinked;
};

// When a field is on the wire.
enum class Occurs {
  kAlways,
  kOptional,  // left out when empty (equal to a default value); absent, it reads as empty
  kWhen,      // exactly when `when` holds of the fields before it
};

template <typename S, Codec C, typename... Ps>
struct FieldSchema {
  using Struct = S;
  using Value = typename C::Value;

  std::string_view name;  // the key in a message; the element's name in a tuple
  C codec;
  std::tuple<Ps...> members;
  Occurs occurs = Occurs::kAlways;
  bool (*when)(const S&) = nullptr;
  std::string_view when_text;  // the condition, as the listing says it

  // A fold over .*: s.*m1.*m2...
  const Value& Of(const S& s) const {
    return std::apply([&](auto... m) -> const Value& { return (s.*....*m); }, members);
  }
  Value& Of(S& s) const {
    return std::apply([&](auto... m) -> Value& { return (s.*....*m); }, members);
  }
  bool Written(const S& s) const {
    switch (occurs) {
      case Occurs::kAlways:
        return true;
      case Occurs::kOptional:
        if constexpr (std::equality_comparable<Value>) return !(Of(s) == Value{});
        return true;  // not reached: Optional() requires equality_comparable
      case Occurs::kWhen:
        return when(s);
    }
    return true;
  }

  consteval FieldSchema Optional() const {
    static_assert(std::equality_comparable<Value>, "an optional field is left out when empty: ==");
    FieldSchema f = *this;
    f.occurs = Occurs::kOptional;
    return f;
  }
  // `condition` says `holds` in words, e.g. "kind is snapshot".
  consteval FieldSchema When(std::string_view condition, bool (*holds)(const S&)) const {
    FieldSchema f = *this;
    f.occurs = Occurs::kWhen;
    f.when = holds;
    f.when_text = condition;
    return f;
  }

  WireField Info() const {
    std::string occurs_text;
    if (occurs == Occurs::kOptional) occurs_text = "optional";
    if (occurs == Occurs::kWhen) occurs_text = "when " + std::string(when_text);
    return {std::string(name), codec.Name(), occurs_text};
  }
};

template <Codec C, typename P, typename... Ps>
consteval auto Field(std::string_view name, C codec, P member, Ps... chain) {
  using Chain = MemberChain<P, Ps...>;
  static_assert(Chain::kLinked, "each member of a chain must be a member of the one before");
  static_assert(std::is_same_v<typename C::Value, typename Chain::Type>,
                "the codec packs and reads another type than the member's");
  return FieldSchema<typename Chain::Struct, C, P, Ps...>{
      name, codec, {member, chain...}, Occurs::kAlways, nullptr, {}};
}

// Reached by a consteval builder only when a table is wrong, so that it does not compile.
void AKeyIsUsedTwiceInOneMessage();
void AWireTypeIsUsedTwice();
void ATupleElementMustAlwaysBeThere();
void ATuplesOptionalElementsMustComeLast();

template <typename... Fs>
consteval void CheckKeysUnique(const Fs&... fields) {
  const std::array<std::string_view, sizeof...(Fs)> keys = {fields.name...};
  for (size_t i = 0; i < keys.size(); ++i)
    for (size_t j = i + 1; j < keys.size(); ++j)
      if (keys[i] == keys[j]) AKeyIsUsedTwiceInOneMessage();
}

// A tuple's elements are always there, but optional ones at its end (TupleCodec).
template <typename... Fs>
consteval void CheckTupleElements(const Fs&... fields) {
  const std::array<Occurs, sizeof...(Fs)> occurs = {fields.occurs...};
  bool optional_seen = false;
  for (Occurs o : occurs) {
    if (o == Occurs::kWhen) ATupleElementMustAlwaysBeThere();
    if (o == Occurs::kAlways && optional_seen) ATuplesOptionalElementsMustComeLast();
    if (o == Occurs::kOptional) optional_seen = true;
  }
}

// Calls f(element) on each element of `t` in order until one returns a failed Status; returns it.
template <typename Tuple, typename F>
Status EachInOrder(const Tuple& t, F&& f) {
  Status s;
  std::apply([&](const auto&... e) { (void)((s = f(e)).ok() && ...); }, t);
  return s;
}

template <typename... Fs>
std::vector<WireField> FieldInfos(const std::tuple<Fs...>& fields) {
  return std::apply([](const auto&... f) { return std::vector<WireField>{f.Info()...}; }, fields);
}

// ------------------------------------------------------------------------------------ tuples

// A struct as a compact array of its fields' values, in table order. Optional elements come last
// and travel together: all of them when any is not empty, none otherwise (so a tuple grown by
// optional elements reads the shorter arrays of older senders, and is written as they wrote it
// when the new elements are empty).
template <typename S, typename... Fs>
struct TupleCodec {
  using Value = S;
  std::string_view name;
  std::tuple<Fs...> fields;

  void Pack(Packer& p, const S& s) const {
    bool extra = false;
    std::apply(
        [&](const auto&... f) {
          ((extra = extra || (f.occurs == Occurs::kOptional && f.Written(s))), ...);
        },
        fields);
    const size_t n = extra ? sizeof...(Fs) : Required();
    p.pack_array(static_cast<uint32_t>(n));
    size_t i = 0;
    std::apply([&](const auto&... f) { ((i++ < n ? f.codec.Pack(p, f.Of(s)) : void()), ...); },
               fields);
  }
  Status Read(const msgpack::object& o, S* out) const {
    if (o.type != msgpack::type::ARRAY ||
        (o.via.array.size != sizeof...(Fs) && o.via.array.size != Required()))
      return NotA("a " + Name() + " " + Elements());
    const size_t n = o.via.array.size;
    const msgpack::object* element = o.via.array.ptr;
    size_t i = 0;
    return EachInOrder(fields, [&](const auto& f) {
      if (i++ >= n) {
        f.Of(*out) = typename std::decay_t<decltype(f)>::Value{};
        return Status::Ok();
      }
      Status s = f.codec.Read(*element++, &f.Of(*out));
      return s.ok() ? s : In(f.name, s);
    });
  }
  std::string Name() const { return std::string(name); }
  WireTable Info() const { return {Name(), FieldInfos(fields)}; }

 private:
  size_t Required() const {  // the elements always there
    return std::apply([](const auto&... f) { return ((f.occurs != Occurs::kOptional) + ...); },
                      fields);
  }
  std::string Elements() const {
    std::string out = "[";
    std::apply(
        [&](const auto&... f) {
          ((out += std::string(f.name) + (f.occurs == Occurs::kOptional ? "?" : "") + ", "), ...);
        },
        fields);
    return out.substr(0, out.size() - 2) + "]";
  }
};
template <typename S, typename... Fs>
consteval auto Tuple(std::string_view name, Fs... fields) {
  static_assert(sizeof...(Fs) > 0);
  static_assert((std::is_same_v<typename Fs::Struct, S> && ...), "a field of another struct");
  CheckKeysUnique(fields...);
  CheckTupleElements(fields...);
  return TupleCodec<S, Fs...>{name, {fields...}};
}

// ------------------------------------------------------------------------------------ messages
// A description of messages (MessageType, Variant, Inside) has
//   using Value = ...;                      the C++ type it describes
//   void Encode(Packer&, const Value&, const Envelope&) const;
//   std::optional<Result<Value>> Decode(std::string_view type, const wire::Fields&) const;
//                                           (nullopt: `type` is none of its messages)
//   void ForEachMessage(F) const;           F(const MessageTypeSchema&), in table order
// An Envelope writes the map header and the envelope's fields:
//   void Begin(Packer&, std::string_view type, uint32_t body_fields) const;

// The client protocol's envelope: {v, type, ...body}.
struct PlainEnvelope {
  void Begin(Packer& p, std::string_view type, uint32_t body_fields) const {
    wire::PackEnvelope(p, type, body_fields);
  }
};

template <typename S, typename... Fs>
struct MessageTypeSchema {
  using Value = S;
  std::string_view type;
  std::tuple<Fs...> fields;

  template <typename Envelope>
  void Encode(Packer& p, const S& s, const Envelope& envelope) const {
    uint32_t written = 0;
    std::apply([&](const auto&... f) { ((written += f.Written(s) ? 1 : 0), ...); }, fields);
    envelope.Begin(p, type, written);
    std::apply(
        [&](const auto&... f) {
          ((f.Written(s) ? (wire::PackStr(p, f.name), f.codec.Pack(p, f.Of(s))) : void()), ...);
        },
        fields);
  }

  std::optional<Result<S>> Decode(std::string_view t, const wire::Fields& map) const {
    if (t != type) return std::nullopt;
    S s{};
    Status status = EachInOrder(fields, [&](const auto& f) {
      if (f.occurs == Occurs::kWhen && !f.when(s)) return Status::Ok();
      const msgpack::object* o = map.Find(f.name);
      if (o == nullptr)
        return f.occurs == Occurs::kOptional
                   ? Status::Ok()
                   : Status::Malformed("field '" + std::string(f.name) + "' is missing");
      Status read = f.codec.Read(*o, &f.Of(s));
      return read.ok() ? read : In("field '" + std::string(f.name) + "'", read);
    });
    if (!status.ok()) return Result<S>(status);
    return Result<S>(std::move(s));
  }

  template <typename F>
  constexpr void ForEachMessage(F&& f) const {
    f(*this);
  }
  WireTable Info() const { return {std::string(type), FieldInfos(fields)}; }
};
template <typename S, typename... Fs>
consteval auto MessageType(std::string_view type, Fs... fields) {
  static_assert((std::is_same_v<typename Fs::Struct, S> && ...), "a field of another struct");
  CheckKeysUnique(fields...);
  return MessageTypeSchema<S, Fs...>{type, {fields...}};
}

template <typename V, typename... Alts>
struct VariantSchema {
  using Value = V;
  std::tuple<Alts...> alternatives;

  template <typename Envelope>
  void Encode(Packer& p, const V& v, const Envelope& envelope) const {
    auto encode_held = [&]<size_t... I>(std::index_sequence<I...>) {
      ((v.index() == I ? std::get<I>(alternatives).Encode(p, *std::get_if<I>(&v), envelope)
                       : void()),
       ...);
    };
    encode_held(std::index_sequence_for<Alts...>{});
  }

  std::optional<Result<V>> Decode(std::string_view type, const wire::Fields& map) const {
    std::optional<Result<V>> out;
    auto until_found = [&]<size_t... I>(std::index_sequence<I...>) {
      ((out = Wrap<I>(std::get<I>(alternatives).Decode(type, map))).has_value() || ...);
    };
    until_found(std::index_sequence_for<Alts...>{});
    return out;
  }

  // The description of the alternative of type T.
  template <typename T>
  constexpr const auto& Of() const {
    constexpr std::array<bool, sizeof...(Alts)> is_t = {std::is_same_v<T, typename Alts::Value>...};
    constexpr size_t i = std::find(is_t.begin(), is_t.end(), true) - is_t.begin();
    static_assert(i < sizeof...(Alts), "not an alternative of this variant");
    return std::get<i>(alternatives);
  }

  template <typename F>
  constexpr void ForEachMessage(F&& f) const {
    std::apply([&](const auto&... a) { (a.ForEachMessage(f), ...); }, alternatives);
  }

 private:
  template <size_t I, typename A>
  static std::optional<Result<V>> Wrap(std::optional<Result<A>> r) {
    if (!r) return std::nullopt;
    if (!r->ok()) return Result<V>(r->status());
    return Result<V>(V(std::in_place_index<I>, std::move(*r).value()));
  }
};
template <typename V, typename... Alts>
consteval auto Variant(Alts... alternatives) {
  static_assert(sizeof...(Alts) == std::variant_size_v<V>, "one description per alternative");
  static_assert(
      []<size_t... I>(std::index_sequence<I...>) {
        return (std::is_same_v<typename Alts::Value, std::variant_alternative_t<I, V>> && ...);
      }(std::index_sequence_for<Alts...>{}),
      "the descriptions are not the variant's alternatives, in order");
  VariantSchema<V, Alts...> v{{alternatives...}};
  size_t i = 0;
  v.ForEachMessage([&](const auto& a) {
    size_t j = 0;
    v.ForEachMessage([&](const auto& b) {
      if (j++ > i && a.type == b.type) AWireTypeIsUsedTwice();
    });
    ++i;
  });
  return v;
}

// A struct whose one member is described by `Inner` (a variant wrapped to tell it apart).
template <typename S, typename Inner>
struct InsideSchema {
  using Value = S;
  typename Inner::Value S::*member;
  Inner inner;

  template <typename Envelope>
  void Encode(Packer& p, const S& s, const Envelope& envelope) const {
    inner.Encode(p, s.*member, envelope);
  }
  std::optional<Result<S>> Decode(std::string_view type, const wire::Fields& map) const {
    std::optional<Result<typename Inner::Value>> r = inner.Decode(type, map);
    if (!r) return std::nullopt;
    if (!r->ok()) return Result<S>(r->status());
    S s{};
    s.*member = std::move(*r).value();
    return Result<S>(std::move(s));
  }
  template <typename F>
  constexpr void ForEachMessage(F&& f) const {
    inner.ForEachMessage(f);
  }
};
template <typename S, typename M, typename Inner>
consteval auto Inside(M S::*member, Inner inner) {
  static_assert(std::is_same_v<M, typename Inner::Value>, "the member is not what Inner describes");
  return InsideSchema<S, Inner>{member, inner};
}

// Every message a description holds, as the listing shows it.
template <typename Description>
std::vector<WireTable> Tables(const Description& d) {
  std::vector<WireTable> out;
  d.ForEachMessage([&](const auto& m) { out.push_back(m.Info()); });
  return out;
}

}  // namespace livepoll::proto::schema
