#include "core/topic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace livepoll::core {
namespace {

std::string Topic(std::string_view query, const proto::Params& params) {
  Result<std::string> t = MakeTopic(query, params);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? t.value() : std::string();
}

TEST(Topic, NoParametersIsTheQueryName) {
  EXPECT_EQ(Topic("top_products", {}), "top_products");
  Result<ParsedTopic> p = ParseTopic("top_products");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->query, "top_products");
  EXPECT_TRUE(p->params.empty());
}

TEST(Topic, CanonicalFormSortsParameters) {
  EXPECT_EQ(Topic("revenue_by_region", {{"year", "2024"}, {"region", "eu"}}),
            "revenue_by_region?region=eu&year=2024");
}

TEST(Topic, OrderOfParametersDoesNotMatter) {
  const proto::Params a = {{"c", "3"}, {"a", "1"}, {"b", "2"}};
  const proto::Params b = {{"b", "2"}, {"c", "3"}, {"a", "1"}};
  const proto::Params c = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
  EXPECT_EQ(Topic("q", a), Topic("q", b));
  EXPECT_EQ(Topic("q", a), Topic("q", c));
  EXPECT_EQ(Topic("q", a), "q?a=1&b=2&c=3");
}

TEST(Topic, SortsByBytes) {
  // Uppercase before lowercase, and UTF-8 (bytes >= 0x80) after ASCII, as memcmp orders them.
  EXPECT_EQ(Topic("q", {{"\xC3\xA9", "1"}, {"b", "2"}, {"B", "3"}}), "q?B=3&b=2&\xC3\xA9=1");
}

TEST(Topic, EscapesReservedBytesInKeysAndValues) {
  EXPECT_EQ(Topic("q", {{"a&b", "x=y"}, {"p%", "what?"}}), "q?a%26b=x%3Dy&p%25=what%3F");
  EXPECT_EQ(Topic("q", {{"k", "two words"}}), "q?k=two%20words");
  EXPECT_EQ(Topic("q", {{"k", std::string("\0\x1f\t\n!", 5)}}), "q?k=%00%1F%09%0A!");
}

TEST(Topic, RoundTripsThroughParse) {
  const std::vector<proto::Params> cases = {
      {{"region", "eu"}},
      {{"a&b", "c=d"}, {"e%f", "g?h"}},
      {{"k", "two words"}, {"tab", "a\tb"}},
      {{"city", "Z\xC3\xBCrich"}, {"\xE5\x9F\x8E", "\xE5\xB8\x82 \xF0\x9F\x8C\x8D"}},
      {{"empty", ""}},
      {{"x", "%%"}, {"y", "%25"}, {"z", "=&?"}},
      {{"bytes", std::string("\0\x01\x20\x7f\xff", 5)}},
  };
  for (const proto::Params& params : cases) {
    const std::string t = Topic("q_1", params);
    Result<ParsedTopic> p = ParseTopic(t);
    ASSERT_TRUE(p.ok()) << t << ": " << p.status().ToString();
    EXPECT_EQ(p->query, "q_1");
    proto::Params sorted = params;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(p->params, sorted) << t;
    EXPECT_EQ(Topic(p->query, p->params), t);
  }
}

TEST(Topic, EmptyValueIsKept) {
  EXPECT_EQ(Topic("q", {{"a", ""}, {"b", "1"}}), "q?a=&b=1");
  Result<ParsedTopic> p = ParseTopic("q?a=&b=1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->params, (proto::Params{{"a", ""}, {"b", "1"}}));
}

TEST(Topic, RepeatedParameterIsInvalid) {
  Result<std::string> t = MakeTopic("q", {{"a", "1"}, {"b", "2"}, {"a", "1"}});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("'a'"), std::string::npos) << t.status().message();
}

TEST(Topic, BadQueryOrParameterNamesAreInvalid) {
  for (std::string_view q : {"", "a?b", "a&b", "a=b", "a%b", "a b", "a\nb"}) {
    Result<std::string> t = MakeTopic(q, {});
    ASSERT_FALSE(t.ok()) << q;
    EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument) << q;
  }
  Result<std::string> t = MakeTopic("q", {{"", "1"}});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
}

TEST(Topic, ParseAcceptsUnsortedAndLowercaseHex) {
  // A hand-typed topic (e.g. on the CLI) still parses; MakeTopic of the result is canonical.
  Result<ParsedTopic> p = ParseTopic("q?b=%3d&a=%41");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->params, (proto::Params{{"a", "A"}, {"b", "="}}));
  EXPECT_EQ(Topic(p->query, p->params), "q?a=A&b=%3D");
}

TEST(Topic, ParseRefusesMalformedTopics) {
  for (std::string_view t : {
           "",            // no query name
           "?a=1",        // no query name
           "q?",          // '?' without parameters
           "q?a",         // no '='
           "q?=1",        // empty name
           "q?a=1&",      // empty pair
           "q?a=1&&b=2",  // empty pair
           "q?a=1=2",     // raw '='
           "q?a=1?b",     // raw '?'
           "q?a=b c",     // raw space
           "q?a=%",       // truncated escape
           "q?a=%4",      // truncated escape
           "q?a=%G1",     // not hex
           "q?a=%%41",    // '%' not followed by hex
           "q?a=1&a=2",   // repeated name
           "q?a=1&a=1",   // repeated name, even with the same value
           "q%41",        // escape in the query name
           "q r",         // space in the query name
       }) {
    Result<ParsedTopic> p = ParseTopic(t);
    ASSERT_FALSE(p.ok()) << "'" << t << "' parsed";
    EXPECT_EQ(p.status().code(), Status::Code::kMalformed) << t << ": " << p.status().ToString();
  }
}

}  // namespace
}  // namespace livepoll::core
