#include "proto/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <msgpack.hpp>

namespace livepoll::proto {
namespace {

Message RoundTrip(const Message& m) {
  Result<Message> r = Decode(Encode(m));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : Message(Heartbeat{});
}

TEST(Codec, EveryMessageRoundTrips) {
  Update snap{"q?a=1", UpdateKind::kSnapshot, "n1", 3, 7, {"a", "b"}, {}, {}, ""};
  snap.rows = {{Value(int64_t{-5}), Value(std::string("x"))},
               {Value(Null{}), Value(Blob{std::string("\0\1", 2)})},
               {Value(2.5), Value(true)}};
  Update diff{"q", UpdateKind::kDiff, "n2", 1, 2, {"k"}, {}, {}, ""};
  diff.changes = {{Change::Op::kInsert, {Value(int64_t{1})}},
                  {Change::Op::kUpdate, {Value(int64_t{2})}},
                  {Change::Op::kDelete, {Value(int64_t{3})}}};
  Update err{"q", UpdateKind::kError, "n1", 1, 9, {}, {}, {}, "database is locked"};
  AdminReply reply{4, "", "", {"name", "n"}, {{Value(std::string("a")), Value(int64_t{1})}}};
  const std::vector<Message> all = {
      Join{1, "revenue", {{"region", "eu"}, {"year", "2024"}}},
      Leave{2, "revenue?region=eu"},
      Heartbeat{},
      Joined{1, "revenue?region=eu"},
      Left{2, "revenue?region=eu"},
      snap,
      diff,
      err,
      Error{5, "invalid-argument", "unknown query 'x'"},
      AdminRequest{6, "subs", {{"json", "1"}}},
      reply,
      Auth{7, "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"},
      Authed{7, {{"role", "admin"}, {"sub", "alice"}}, 1700003600},
      Authed{8, {}, 0},
  };
  for (const Message& m : all) {
    EXPECT_EQ(RoundTrip(m), m) << MessageTypeName(m);
  }
}

TEST(Codec, AuthNeedsItsToken) {
  // An auth without `token`: malformed, naming the field.
  std::string frame = Encode(Auth{3, ""});
  const std::string key = "\xa5token\xa0";
  ASSERT_NE(frame.find(key), std::string::npos);
  frame.erase(frame.find(key), key.size());
  frame[0] = static_cast<char>(frame[0] - 1);  // one field fewer in the map
  Result<Message> r = Decode(frame);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kMalformed);
  EXPECT_NE(r.status().message().find("'token'"), std::string::npos) << r.status().message();
}

TEST(Codec, GarbageIsMalformed) {
  for (std::string bad : {std::string(""), std::string("\xc1"), std::string("hello"),
                          std::string("\x92\x01\x02"), std::string("\xdd\xff\xff\xff\xff")}) {
    Result<Message> r = Decode(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kMalformed) << r.status().ToString();
  }
}

TEST(Codec, TrailingBytesAreMalformed) {
  std::string b = Encode(Heartbeat{}) + "x";
  EXPECT_EQ(Decode(b).status().code(), Status::Code::kMalformed);
}

std::string PackMap(const std::map<std::string, msgpack::type::variant>& fields) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, fields);
  return std::string(buf.data(), buf.size());
}

TEST(Codec, OtherVersionIsIncompatible) {
  std::string b = PackMap({{"v", uint64_t{99}}, {"type", std::string("heartbeat")}});
  Result<Message> r = Decode(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIncompatible);
  EXPECT_NE(r.status().message().find("99"), std::string::npos);
}

TEST(Codec, UnknownTypeIsNamed) {
  std::string b = PackMap({{"v", uint64_t{1}}, {"type", std::string("teleport")}});
  Result<Message> r = Decode(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("teleport"), std::string::npos);
}

TEST(Codec, MistypedFieldIsMalformedAndNamed) {
  std::string b = PackMap(
      {{"v", uint64_t{1}}, {"type", std::string("join")}, {"id", std::string("not a number")}});
  Result<Message> r = Decode(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kMalformed);
  EXPECT_NE(r.status().message().find("'id'"), std::string::npos);
}

TEST(Codec, EveryTruncationOfAValidFrameIsRejectedNotCrashed) {
  Update u{"q", UpdateKind::kSnapshot, "n", 1, 1, {"a"}, {{Value(std::string("abc"))}}, {}, ""};
  std::string b = Encode(u);
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_FALSE(Decode(b.substr(0, i)).ok()) << "prefix " << i;
  }
}

TEST(Codec, UnknownExtraFieldsAreIgnored) {
  std::string b = PackMap(
      {{"v", uint64_t{1}}, {"type", std::string("heartbeat")}, {"future", std::string("x")}});
  EXPECT_TRUE(Decode(b).ok());
}

}  // namespace
}  // namespace livepoll::proto

namespace livepoll::proto {
namespace {

// A real stays a real, whole or not (msgpack-c's pack_double would write 2.0 as the integer 2).
TEST(Codec, WholeNumberRealsStayReals) {
  Update u;
  u.topic = "t";
  u.columns = {"x"};
  u.rows = {{Value(2.0)}, {Value(-0.0)}, {Value(1e300)}, {Value(int64_t{2})}};
  Result<Message> back = Decode(Encode(u));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const auto& rows = std::get<Update>(*back).rows;
  ASSERT_EQ(rows.size(), 4u);
  ASSERT_TRUE(std::holds_alternative<double>(rows[0][0]));
  EXPECT_EQ(std::get<double>(rows[0][0]), 2.0);
  ASSERT_TRUE(std::holds_alternative<double>(rows[1][0]));
  EXPECT_TRUE(std::signbit(std::get<double>(rows[1][0])));
  EXPECT_EQ(std::get<double>(rows[2][0]), 1e300);
  EXPECT_TRUE(std::holds_alternative<int64_t>(rows[3][0]));
}

}  // namespace
}  // namespace livepoll::proto
