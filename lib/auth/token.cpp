#include "auth/token.h"

#include <sodium.h>

#include <charconv>
#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

namespace livepoll::auth {
namespace {

using Json = nlohmann::json;

Status Malformed(const std::string& why) {
  return Status::PermissionDenied("malformed token: " + why);
}

// A JSON object's top-level members, each as the text of its value and what it was. Read with
// nlohmann's SAX interface rather than into a json value, to see a repeated member name (a json
// object keeps only one of them) and to skip nested values without building them.
struct Member {
  enum class Kind { kString, kInteger, kFloat, kBool, kNull, kNested };
  Kind kind = Kind::kNull;
  std::string text;
};

class FlatObjectReader : public nlohmann::json_sax<Json> {
 public:
  std::map<std::string, Member> members;
  std::string error;

  bool null() override { return Value(Member::Kind::kNull, ""); }
  bool boolean(bool v) override { return Value(Member::Kind::kBool, v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override {
    return Value(Member::Kind::kInteger, std::to_string(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    return Value(Member::Kind::kInteger, std::to_string(v));
  }
  bool number_float(number_float_t, const string_t& raw) override {
    return Value(Member::Kind::kFloat, raw);
  }
  bool string(string_t& v) override { return Value(Member::Kind::kString, v); }
  bool binary(binary_t&) override { return Fail("binary value"); }
  bool start_object(std::size_t) override { return Open(); }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override {
    if (depth_ == 0) return Fail("not a JSON object");
    return Open();
  }
  bool end_array() override { return Close(); }
  bool key(string_t& k) override {
    if (depth_ != 1) return true;
    if (!seen_.insert(k).second) return Fail("member '" + k + "' appears twice");
    key_ = k;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    return Fail("not JSON (at byte " + std::to_string(position) + ")");
  }

 private:
  bool Fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }
  bool Value(Member::Kind kind, std::string text) {
    if (depth_ == 0) return Fail("not a JSON object");
    if (depth_ == 1) members[key_] = Member{kind, std::move(text)};
    return true;
  }
  bool Open() {
    if (depth_ == 1) members[key_] = Member{Member::Kind::kNested, ""};
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }
  int depth_ = 0;
  std::string key_;
  std::set<std::string> seen_;
};

Result<std::map<std::string, Member>> ReadObject(std::string_view part, const char* what) {
  std::optional<std::string> json = Base64UrlDecode(part);
  if (!json) return Malformed(std::string(what) + " is not base64url");
  FlatObjectReader reader;
  bool ok = false;
  try {
    ok = Json::sax_parse(json->begin(), json->end(), &reader);
  } catch (const std::exception& e) {
    if (reader.error.empty()) reader.error = e.what();
  }
  if (!ok) return Malformed(std::string(what) + ": " + reader.error);
  return std::move(reader.members);
}

// A NumericDate (RFC 7519, 2): seconds since 1970, a fraction truncated.
Result<std::optional<int64_t>> Seconds(const std::map<std::string, Member>& m, const char* name) {
  auto it = m.find(name);
  if (it == m.end()) return std::optional<int64_t>();
  const Member& v = it->second;
  const std::string bad = std::string("'") + name + "' is not a number of seconds";
  if (v.kind == Member::Kind::kInteger) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), n);
    if (ec != std::errc() || end != v.text.data() + v.text.size()) return Malformed(bad);
    return std::optional<int64_t>(n);
  }
  if (v.kind == Member::Kind::kFloat) {
    const double d = std::strtod(v.text.c_str(), nullptr);
    if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) return Malformed(bad);
    return std::optional<int64_t>(static_cast<int64_t>(std::floor(d)));
  }
  return Malformed(bad);
}

std::string Hmac(std::string_view secret, std::string_view signed_text) {
  // Picks the fastest implementations for this CPU; thread-safe and idempotent.
  [[maybe_unused]] static const int initialized = sodium_init();
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signed_text.data()),
                                signed_text.size());
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(&state, sizeof state);
  return std::string(reinterpret_cast<const char*>(mac), sizeof mac);
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  const auto variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(out.size() - 1);  // the NUL sodium writes
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  // sodium refuses a character outside the alphabet and leftover bits that are not zero, so each
  // byte string has one encoding (a signature cannot be changed without changing its bytes).
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(len);
  return out;
}

Result<Token> VerifyToken(std::string_view token, std::string_view secret, int64_t now) {
  if (token.size() > kMaxTokenBytes)
    return Malformed("longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return Malformed("not three parts header.payload.signature");
  const std::string_view header = token.substr(0, dot1);
  const std::string_view payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature = token.substr(dot2 + 1);

  Result<std::map<std::string, Member>> h = ReadObject(header, "header");
  if (!h.ok()) return h.status();
  auto alg = h->find("alg");
  if (alg == h->end() || alg->second.kind != Member::Kind::kString)
    return Malformed("the header has no 'alg'");
  if (alg->second.text != "HS256")
    return Status::PermissionDenied("token algorithm '" + alg->second.text +
                                    "' refused: only HS256 is accepted");
  if (h->count("crit"))
    return Status::PermissionDenied("token header has 'crit': no extension is supported");

  // The signature before the payload is read: nothing unauthenticated is parsed further.
  std::optional<std::string> mac = Base64UrlDecode(signature);
  if (!mac || mac->size() != crypto_auth_hmacsha256_BYTES)
    return Malformed("the signature is not 32 bytes of base64url");
  const std::string expected = Hmac(secret, token.substr(0, dot2));
  if (sodium_memcmp(mac->data(), expected.data(), expected.size()) != 0)
    return Status::PermissionDenied("bad token signature");

  Result<std::map<std::string, Member>> p = ReadObject(payload, "payload");
  if (!p.ok()) return p.status();
  Token t;
  Result<std::optional<int64_t>> exp = Seconds(*p, "exp");
  if (!exp.ok()) return exp.status();
  Result<std::optional<int64_t>> nbf = Seconds(*p, "nbf");
  if (!nbf.ok()) return nbf.status();
  t.expires = *exp;
  t.not_before = *nbf;
  if (t.expires && now >= *t.expires) return Status::PermissionDenied("token expired");
  if (t.not_before && now < *t.not_before) return Status::PermissionDenied("token not yet valid");
  for (auto& [name, m] : *p) {
    if (m.kind == Member::Kind::kNull || m.kind == Member::Kind::kNested) continue;
    t.claims.emplace(name, std::move(m.text));
  }
  return t;
}

std::string MintToken(std::string_view secret, const NewToken& t) {
  Json payload = Json::object();
  for (const auto& [name, value] : t.claims) payload[name] = value;
  payload["iat"] = t.issued_at;
  if (t.expires) payload["exp"] = *t.expires;
  if (t.not_before) payload["nbf"] = *t.not_before;
  return SignToken(secret, R"({"alg":"HS256","typ":"JWT"})",
                   payload.dump(-1, ' ', false, Json::error_handler_t::replace));
}

std::string SignToken(std::string_view secret, std::string_view header, std::string_view payload) {
  const std::string body = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  return body + "." + Base64UrlEncode(Hmac(secret, body));
}

}  // namespace livepoll::auth
