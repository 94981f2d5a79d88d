#include "core/access.h"

#include <gtest/gtest.h>

#include "core/node.h"

namespace livepoll::core {
namespace {

constexpr int64_t kNow = 1'700'000'000;

ClientIdentity Verified(Claims claims, std::optional<int64_t> expires = kNow + 60) {
  return ClientIdentity{std::move(claims), expires, ""};
}

// The refusal's message, or "" when authorized.
std::string Refusal(const QueryAccess& access, const ClientIdentity& who,
                    const proto::Params& params = {}, int64_t now = kNow) {
  Result<proto::Params> r = Authorize("orders", access, who, params, now);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
  return r.status().message();
}

TEST(AuthorizeTest, QueryWithoutTokenTakesAnyone) {
  const QueryAccess open;
  const proto::Params params = {{"region", "eu"}};
  for (const ClientIdentity& who : {ClientIdentity{}, Verified({{"sub", "a"}}),
                                    ClientIdentity{std::nullopt, std::nullopt, "token expired"}}) {
    Result<proto::Params> r = Authorize("orders", open, who, params, kNow);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, params);
  }
}

TEST(AuthorizeTest, TokenRequired) {
  const QueryAccess token{true, {}, {}};
  EXPECT_EQ(Refusal(token, {}),
            "token required: query 'orders' needs a token (send auth before join)");
  // The client's token was refused: the join says why.
  EXPECT_EQ(Refusal(token, {std::nullopt, std::nullopt, "bad token signature"}),
            "bad token signature");
  EXPECT_EQ(Refusal(token, Verified({})), "");
  EXPECT_EQ(Refusal(token, Verified({}, std::nullopt)), "");  // no exp
}

TEST(AuthorizeTest, ExpiryIsCheckedAtEveryJoin) {
  const QueryAccess token{true, {}, {}};
  EXPECT_EQ(Refusal(token, Verified({}, kNow + 1)), "");
  EXPECT_EQ(Refusal(token, Verified({}, kNow)), "token expired");
  EXPECT_EQ(Refusal(token, Verified({}, kNow + 1), {}, kNow + 5), "token expired");
}

TEST(AuthorizeTest, AllowIsAnyOfItsClaimValues) {
  const QueryAccess admins{true, {}, {{"role", "admin"}}};
  EXPECT_EQ(Refusal(admins, Verified({{"role", "admin"}})), "");
  EXPECT_EQ(Refusal(admins, Verified({{"role", "user"}})), "claim role=admin required");
  EXPECT_EQ(Refusal(admins, Verified({})), "claim role=admin required");
  const QueryAccess staff{true, {}, {{"role", "admin"}, {"group", "ops"}}};
  EXPECT_EQ(Refusal(staff, Verified({{"group", "ops"}})), "");
  EXPECT_EQ(Refusal(staff, Verified({{"role", "admin"}, {"group", "dev"}})), "");
  EXPECT_EQ(Refusal(staff, Verified({{"role", "ops"}, {"group", "admin"}})),
            "one of the claims role=admin, group=ops required");
}

TEST(AuthorizeTest, BoundParameterComesFromTheClaim) {
  const QueryAccess mine{true, {{"user_id", "sub"}}, {}};
  const ClientIdentity alice = Verified({{"sub", "alice"}});
  // Left out: filled in from the claim, after the client's own parameters.
  Result<proto::Params> r = Authorize("orders", mine, alice, {{"status", "open"}}, kNow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (proto::Params{{"status", "open"}, {"user_id", "alice"}}));
  // Given with the same value: fine, unchanged.
  r = Authorize("orders", mine, alice, {{"user_id", "alice"}}, kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (proto::Params{{"user_id", "alice"}}));
  // Another user's rows: refused.
  EXPECT_EQ(Refusal(mine, alice, {{"user_id", "bob"}}),
            "parameter user_id is bound to the token's claim sub: the join's value differs");
  EXPECT_EQ(Refusal(mine, Verified({{"role", "admin"}})),
            "parameter user_id is bound to the token's claim sub, which the token lacks");
}

TEST(AuthorizeTest, NodeCountsRefusedJoins) {
  Catalog catalog;
  CatalogQuery q;
  q.name = "orders";
  q.source = "main";
  q.params = {"user_id"};
  q.access = {true, {{"user_id", "sub"}}, {}};
  catalog.queries["orders"] = q;
  catalog.source_caps["main"] = 1;
  Node node(catalog, NodeOptions{});
  EXPECT_FALSE(node.AuthorizeJoin("orders", {}, {}, kNow).ok());
  EXPECT_FALSE(
      node.AuthorizeJoin("orders", Verified({{"sub", "a"}}), {{"user_id", "b"}}, kNow).ok());
  Result<proto::Params> ok = node.AuthorizeJoin("orders", Verified({{"sub", "a"}}), {}, kNow);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (proto::Params{{"user_id", "a"}}));
  // An unknown query passes: the join itself says it is unknown.
  EXPECT_TRUE(node.AuthorizeJoin("nope", {}, {}, kNow).ok());
  EXPECT_EQ(node.counters().joins_unauthorized, 2u);
}

}  // namespace
}  // namespace livepoll::core
