#include "gateway/phoenix_frame.h"

#include <gtest/gtest.h>

#include <string>

namespace livepoll::gateway {
namespace {

ClientFrame Decoded(const std::string& text) {
  Result<ClientFrame> f = DecodeClientFrame(text);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status().ToString();
  return f.ok() ? *f : ClientFrame{};
}

Status Refusal(const std::string& text) {
  Result<ClientFrame> f = DecodeClientFrame(text);
  EXPECT_FALSE(f.ok()) << text;
  return f.status();
}

TEST(PhoenixFrame, HeartbeatAsPhoenixJsSendsIt) {
  ClientFrame f = Decoded(R"([null,"4","phoenix","heartbeat",{}])");
  EXPECT_EQ(f.join_ref, "null");
  EXPECT_EQ(f.ref, "\"4\"");
  EXPECT_EQ(f.topic, "phoenix");
  EXPECT_EQ(f.event, "heartbeat");
  EXPECT_EQ(EncodeReply(f.join_ref, f.ref, f.topic, true, "{}"),
            R"([null,"4","phoenix","phx_reply",{"status":"ok","response":{}}])");
}

TEST(PhoenixFrame, JoinPayloadIsRead) {
  ClientFrame f =
      Decoded(R"(["1","1","live:orders","phx_join",{"params":{"region":"eu","n":3,"b":true},)"
              R"("token":"abc","resume":{"owner":"n1","owner_session":"18446744073709551615",)"
              R"("epoch":2,"seq":7},"presence":{"key":"ann","meta":{"color":"red"}},"extra":1}])");
  ASSERT_TRUE(f.join_status.ok()) << f.join_status.ToString();
  EXPECT_EQ(f.join_ref, "\"1\"");
  EXPECT_TRUE(f.join.has_params);
  EXPECT_EQ(f.join.params,
            (proto::Params{{"b", "true"}, {"n", "3"}, {"region", "eu"}}));  // nlohmann sorts keys
  EXPECT_EQ(f.join.token, "abc");
  ASSERT_TRUE(f.join.resume);
  EXPECT_EQ(*f.join.resume, (Resume{"n1", UINT64_MAX, 2, 7}));
  ASSERT_TRUE(f.join.presence);
  EXPECT_EQ(f.join.presence->key, "ann");
  EXPECT_EQ(f.join.presence->meta, R"({"color":"red"})");
}

TEST(PhoenixFrame, NumericRefsEchoAsTheyCame) {
  ClientFrame f = Decoded(R"([12,13,"live:q","phx_leave",{}])");
  EXPECT_EQ(f.join_ref, "12");
  EXPECT_EQ(f.ref, "13");
  EXPECT_EQ(
      EncodeReply(f.join_ref, f.ref, f.topic, false, ReasonResponse("no \"such\"")),
      R"([12,13,"live:q","phx_reply",{"status":"error","response":{"reason":"no \"such\""}}])");
}

TEST(PhoenixFrame, GarbageIsMalformed) {
  for (const std::string& text :
       {std::string(""), std::string("hello"), std::string("{}"), std::string("[1,2,3]"),
        std::string(R"([null,null,"t","e",{},6])"), std::string(R"([null,null,5,"e",{}])"),
        std::string(R"([null,null,"t","",{}])"), std::string(R"([null,null,"t","e",[]])"),
        std::string(R"([{},null,"t","e",{}])"), std::string(R"([-1,null,"t","e",{}])"),
        std::string(R"([null,1.5,"t","e",{}])"), std::string("[null,null,\"t\",\"e\",{}"),
        std::string("[null,null,\"\xff\",\"e\",{}]")}) {
    EXPECT_EQ(Refusal(text).code(), Status::Code::kMalformed) << text;
  }
}

TEST(PhoenixFrame, BoundsAreCheckedBeforeParsing) {
  EXPECT_EQ(Refusal(std::string(kMaxFrameBytes + 1, ' ')).code(), Status::Code::kMalformed);
  std::string deep = R"([null,null,"t","e",{"a":)" + std::string(kMaxDepth, '[') +
                     std::string(kMaxDepth, ']') + "}]";
  EXPECT_NE(Refusal(deep).message().find("nested"), std::string::npos);
  // Brackets inside strings do not count.
  Decoded(R"([null,null,"t","e",{"a":")" + std::string(100, '[') + R"("}])");
  EXPECT_EQ(Refusal("[\"" + std::string(kMaxRefBytes + 1, 'r') + "\",null,\"t\",\"e\",{}]").code(),
            Status::Code::kMalformed);
}

TEST(PhoenixFrame, BadJoinPayloadKeepsTheRefsAndSaysWhy) {
  struct Case {
    std::string payload, says;
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"({"params":[1]})", "params must be an object"},
           {R"({"params":{"a":{"b":1}}})", "params.a"},
           {R"({"token":5})", "token must be a string"},
           {R"({"resume":{"seq":1}})", "resume.epoch is missing"},
           {R"({"resume":{"epoch":0,"seq":1}})", "above 0"},
           {R"({"resume":{"epoch":1,"seq":-1}})", "resume.seq"},
           {R"({"resume":{"epoch":1,"seq":1,"owner_session":"12x"}})", "owner_session"},
           {R"({"resume":{"epoch":1,"seq":1,"owner_session":"99999999999999999999"}})",
            "owner_session"},
           {R"({"presence":{"meta":{}}})", "presence.key"},
           {R"({"presence":{"key":")" + std::string(kMaxPresenceKeyBytes + 1, 'k') + R"("}})",
            "presence.key is longer"},
           {R"({"presence":{"key":"k","meta":[1]}})", "presence.meta must be an object"},
           {R"({"presence":{"key":"k","meta":{"m":")" + std::string(kMaxPresenceMetaBytes, 'm') +
                R"("}}})",
            "presence.meta is larger"},
       }) {
    Result<ClientFrame> f = DecodeClientFrame(R"(["3","4","live:q","phx_join",)" + c.payload + "]");
    ASSERT_TRUE(f.ok()) << c.payload;
    EXPECT_EQ(f->ref, "\"4\"");
    EXPECT_EQ(f->join_status.code(), Status::Code::kInvalidArgument) << c.payload;
    EXPECT_NE(f->join_status.message().find(c.says), std::string::npos)
        << c.payload << ": " << f->join_status.message();
  }
}

proto::Update Snapshot() {
  proto::Update u;
  u.topic = "q?a=1";
  u.owner = "n1";
  u.epoch = 3;
  u.seq = 1;
  u.owner_session = UINT64_MAX;
  u.columns = {"region", "revenue"};
  u.rows = {{Value(std::string("eu")), Value(int64_t{12})}};
  return u;
}

TEST(PhoenixFrame, UpdatesAsPushesAndJoinReplies) {
  proto::Update u = Snapshot();
  EXPECT_STREQ(PushEvent(u.kind), "snapshot");
  EXPECT_EQ(EncodePush("null", "live:q?a=1", PushEvent(u.kind), UpdatePayload(u)),
            R"([null,null,"live:q?a=1","snapshot",{"owner": "n1", "epoch": 3, "seq": 1, )"
            R"("columns": ["region", "revenue"], "rows": [{"region": "eu", "revenue": 12}], )"
            R"("owner_session": "18446744073709551615"}])");
  EXPECT_EQ(JoinResponse(u, true).substr(0, 50),
            R"({"resumed": false, "kind": "snapshot", "owner": "n)");
  u.kind = proto::UpdateKind::kDiff;
  u.seq = 2;
  u.changes = {{proto::Change::Op::kUpdate, {Value(std::string("eu")), Value(int64_t{13})}}};
  EXPECT_EQ(UpdatePayload(u),
            R"({"owner": "n1", "epoch": 3, "seq": 2, "changes": [{"op": "update", "row": )"
            R"({"region": "eu", "revenue": 13}}], "owner_session": "18446744073709551615"})");
  u.kind = proto::UpdateKind::kError;
  u.error = "database down";
  EXPECT_STREQ(PushEvent(u.kind), "error");
  EXPECT_NE(UpdatePayload(u).find(R"("error": "database down")"), std::string::npos);
}

}  // namespace
}  // namespace livepoll::gateway
