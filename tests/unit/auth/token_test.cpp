#include "auth/token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace livepoll::auth {
namespace {

using ::testing::HasSubstr;

const std::string kSecret = "0123456789abcdef0123456789abcdef";  // 32 bytes
constexpr int64_t kNow = 1'700'000'000;

std::string Mint(Claims claims, std::optional<int64_t> exp = kNow + 3600,
                 std::optional<int64_t> nbf = std::nullopt, const std::string& secret = kSecret) {
  return MintToken(secret, NewToken{std::move(claims), kNow, exp, nbf});
}

// The refusal's message, or "" when the token was accepted.
std::string Refusal(const std::string& token, const std::string& secret = kSecret,
                    int64_t now = kNow) {
  Result<Token> t = VerifyToken(token, secret, now);
  if (t.ok()) return "";
  EXPECT_EQ(t.status().code(), Status::Code::kPermissionDenied) << t.status().ToString();
  return t.status().message();
}

TEST(TokenTest, MintedTokenVerifiesWithItsClaims) {
  const std::string token = Mint({{"sub", "alice"}, {"role", "admin"}});
  Result<Token> t = VerifyToken(token, kSecret, kNow);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->claims.at("sub"), "alice");
  EXPECT_EQ(t->claims.at("role"), "admin");
  EXPECT_EQ(t->claims.at("iat"), std::to_string(kNow));
  EXPECT_EQ(t->claims.at("exp"), std::to_string(kNow + 3600));
  EXPECT_EQ(t->expires, kNow + 3600);
  EXPECT_FALSE(t->not_before.has_value());
}

// jwt.io's HS256 example, minted by another implementation: the secret is the text below.
TEST(TokenTest, AcceptsJwtIoExample) {
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  Result<Token> t = VerifyToken(token, "your-256-bit-secret", kNow);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->claims,
            (Claims{{"sub", "1234567890"}, {"name", "John Doe"}, {"iat", "1516239022"}}));
  EXPECT_EQ(Refusal(token, "your-256-bit-secreT"), "bad token signature");
}

// RFC 7515, appendix A.1 (the JWT of RFC 7519, 3.1): CRLF inside the JSON, a boolean claim, an
// `exp` in 2011, and a 64-byte key given as a JWK.
TEST(TokenTest, AcceptsRfc7515Example) {
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  std::optional<std::string> key = Base64UrlDecode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key.has_value());
  ASSERT_EQ(key->size(), 64u);
  Result<Token> t = VerifyToken(token, *key, 1300819379);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(
      t->claims,
      (Claims{{"iss", "joe"}, {"exp", "1300819380"}, {"http://example.com/is_root", "true"}}));
  EXPECT_EQ(Refusal(token, *key, 1300819380), "token expired");
}

TEST(TokenTest, RefusesTamperedPayload) {
  const std::string token = Mint({{"sub", "alice"}});
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  const std::string forged = token.substr(0, dot1 + 1) +
                             Base64UrlEncode(R"({"sub":"bob","exp":9999999999})") +
                             token.substr(dot2);
  EXPECT_EQ(Refusal(forged), "bad token signature");
  // One changed bit of the signature.
  std::string flipped = token;
  flipped[dot2 + 1] = flipped[dot2 + 1] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Refusal(flipped), "bad token signature");
}

TEST(TokenTest, RefusesWrongSecret) {
  EXPECT_EQ(Refusal(Mint({{"sub", "alice"}}, kNow + 60, std::nullopt, kSecret + "x")),
            "bad token signature");
}

TEST(TokenTest, RefusesOtherAlgorithmsBeforeTheSignature) {
  const std::string payload = Base64UrlEncode(R"({"sub":"root"})");
  // The classic forgery: alg none and no signature.
  EXPECT_EQ(Refusal(Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + payload + "."),
            "token algorithm 'none' refused: only HS256 is accepted");
  EXPECT_EQ(Refusal(Base64UrlEncode(R"({"alg":"HS512"})") + "." + payload + ".AAAA"),
            "token algorithm 'HS512' refused: only HS256 is accepted");
  EXPECT_EQ(Refusal(Base64UrlEncode(R"({"alg":"hs256"})") + "." + payload + ".AAAA"),
            "token algorithm 'hs256' refused: only HS256 is accepted");
  EXPECT_THAT(Refusal(Base64UrlEncode(R"({"typ":"JWT"})") + "." + payload + ".AAAA"),
              HasSubstr("no 'alg'"));
  EXPECT_THAT(
      Refusal(Base64UrlEncode(R"({"alg":"HS256","crit":["exp"]})") + "." + payload + ".AAAA"),
      HasSubstr("'crit'"));
  // A repeated member: two JSON readers could see two different algorithms.
  EXPECT_THAT(Refusal(Base64UrlEncode(R"({"alg":"HS256","alg":"none"})") + "." + payload + ".AA"),
              HasSubstr("appears twice"));
}

TEST(TokenTest, RefusesExpiredAndNotYetValid) {
  EXPECT_EQ(Refusal(Mint({}, kNow - 1)), "token expired");
  EXPECT_EQ(Refusal(Mint({}, kNow)), "token expired");  // exp is the first instant refused
  EXPECT_EQ(Refusal(Mint({}, kNow + 1)), "");
  EXPECT_EQ(Refusal(Mint({}, std::nullopt, kNow + 1)), "token not yet valid");
  EXPECT_EQ(Refusal(Mint({}, std::nullopt, kNow)), "");
  EXPECT_EQ(Refusal(Mint({}, std::nullopt)), "");  // no exp: valid until the secret changes
}

TEST(TokenTest, RefusesGarbage) {
  for (const std::string& garbage :
       {std::string(), std::string("."), std::string(".."), std::string("abc"), std::string("a.b"),
        std::string("a.b.c.d"), std::string("!!!.???.***"), std::string("eyJhbGciOiJIUzI1NiJ9.e30"),
        std::string("\0\0.\0.\0", 7), Base64UrlEncode("[1,2]") + ".e30.AAAA",
        Base64UrlEncode("\"HS256\"") + ".e30.AAAA",
        Base64UrlEncode("{\"alg\":\"HS256\"") + ".e30.AAAA",
        Base64UrlEncode("{\"alg\":\"HS256\"}") + ".e30.AAAA",  // signature too short
        // Signed, but the payload is no JSON object.
        SignToken(kSecret, "{\"alg\":\"HS256\"}", "not json"),
        SignToken(kSecret, "{\"alg\":\"HS256\"}", "[]"),
        SignToken(kSecret, "{\"alg\":\"HS256\"}", "{} {}"),
        Base64UrlEncode(std::string(32, 'x'))}) {
    EXPECT_THAT(Refusal(garbage), HasSubstr("malformed token")) << garbage;
  }
}

TEST(TokenTest, RefusesOversizeUnread) {
  const std::string token = Mint({{"pad", std::string(kMaxTokenBytes, 'x')}});
  EXPECT_THAT(Refusal(token), HasSubstr("longer than 8192 bytes"));
  EXPECT_EQ(Refusal(Mint({{"pad", std::string(5000, 'x')}})), "");
}

// The claims are flat: numbers and booleans as their JSON text, nested values and null left out
// (a payload only another tool would write).
TEST(TokenTest, FlattensClaims) {
  const std::string token = SignToken(kSecret, R"({"alg":"HS256"})", R"({
      "sub": "a", "n": 42, "neg": -3, "big": 18446744073709551615, "f": 1.5, "b": true,
      "z": null, "o": {"x": 1, "sub": "nested"}, "a": [1, {"y": 2}], "u": "caf\u00e9",
      "exp": 1700000100.9})");
  Result<Token> t = VerifyToken(token, kSecret, kNow);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->claims, (Claims{{"sub", "a"},
                               {"n", "42"},
                               {"neg", "-3"},
                               {"big", "18446744073709551615"},
                               {"f", "1.5"},
                               {"b", "true"},
                               {"u", "caf\xc3\xa9"},
                               {"exp", "1700000100.9"}}));
  EXPECT_EQ(t->expires, 1700000100);  // the fraction truncated
  for (const char* bad_time : {R"({"exp":"tomorrow"})", R"({"exp":true})", R"({"nbf":[1]})",
                               R"({"exp":1e300})", R"({"exp":18446744073709551615})"}) {
    EXPECT_THAT(Refusal(SignToken(kSecret, R"({"alg":"HS256"})", bad_time)),
                HasSubstr("is not a number of seconds"))
        << bad_time;
  }
  // Invalid UTF-8 inside the signed JSON: refused, not passed on.
  EXPECT_THAT(Refusal(SignToken(kSecret, R"({"alg":"HS256"})", "{\"sub\":\"\xff\"}")),
              HasSubstr("malformed token"));
  EXPECT_THAT(Refusal(SignToken(kSecret, R"({"alg":"HS256"})", R"({"a":1,"a":2})")),
              HasSubstr("'a' appears twice"));
}

TEST(Base64UrlTest, RoundTripsAndRefusesNonCanonical) {
  for (const std::string& s : {std::string(), std::string("f"), std::string("fo"),
                               std::string("foo"), std::string("\xff\xfe\x00\x01", 4)}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v=").has_value());  // padding
  EXPECT_FALSE(Base64UrlDecode("Zm+v").has_value());   // the other alphabet
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());     // leftover bits not zero ("Zg" is "f")
  EXPECT_TRUE(Base64UrlDecode("Zg").has_value());
}

}  // namespace
}  // namespace livepoll::auth
