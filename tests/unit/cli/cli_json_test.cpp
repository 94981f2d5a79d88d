// The JSON encoder (cmd/json.h) and the watch line shape (cmd/update_json.h).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "livepoll/json.h"
#include "update_json.h"

namespace livepoll::cli {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string Val(const Value& v) {
  std::string out;
  AppendJsonValue(out, v);
  return out;
}

TEST(CliJson, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Str("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Str("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(Str(std::string("\x00\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
  EXPECT_EQ(Str("/"), "\"/\"");
}

TEST(CliJson, ValidUtf8PassesThrough) {
  EXPECT_EQ(Str("z\xC3\xBCrich \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"z\xC3\xBCrich \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST(CliJson, InvalidUtf8BecomesOneReplacementCharacterPerBadByte) {
  const std::string kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Str("a\xFF"
                "b"),
            "\"a" + kFffd + "b\"");                                     // never valid
  EXPECT_EQ(Str("\x80"), "\"" + kFffd + "\"");                          // stray continuation
  EXPECT_EQ(Str("\xC0\xAF"), "\"" + kFffd + kFffd + "\"");              // overlong '/'
  EXPECT_EQ(Str("\xED\xA0\x80"), "\"" + kFffd + kFffd + kFffd + "\"");  // a surrogate
  EXPECT_EQ(Str("\xF4\x90\x80\x80"), "\"" + kFffd + kFffd + kFffd + kFffd + "\"");  // > U+10FFFF
  EXPECT_EQ(Str("x\xE2\x82"), "\"x" + kFffd + kFffd + "\"");  // truncated at the end
}

TEST(CliJson, ValuesOfEveryType) {
  EXPECT_EQ(Val(Null{}), "null");
  EXPECT_EQ(Val(int64_t{-9223372036854775807 - 1}), "-9223372036854775808");
  EXPECT_EQ(Val(true), "true");
  EXPECT_EQ(Val(false), "false");
  EXPECT_EQ(Val(std::string("x")), "\"x\"");
}

TEST(CliJson, DoublesRoundTripAndNonFiniteIsNull) {
  EXPECT_EQ(Val(0.1), "0.1");
  EXPECT_EQ(Val(2.5), "2.5");
  EXPECT_EQ(std::stod(Val(1.0 / 3)), 1.0 / 3);
  EXPECT_EQ(Val(1e300), "1e+300");
  EXPECT_EQ(Val(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(Val(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Val(-std::numeric_limits<double>::infinity()), "null");
}

TEST(CliJson, BlobsAreBase64) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Val(Blob{std::string("\0\xff\xfe", 3)}), "\"AP/+\"");
}

TEST(CliJson, ObjectPairsColumnsWithCells) {
  std::string out;
  AppendJsonObject(out, {"a\"", "b"}, {int64_t{1}, std::string("\t")});
  EXPECT_EQ(out, R"({"a\"": 1, "b": "\t"})");
}

TEST(CliJson, SnapshotLine) {
  proto::Update u{"top?n=2", proto::UpdateKind::kSnapshot, "n1", 3, 7, {"name", "qty"}, {}, {}, ""};
  u.rows = {{std::string("pen"), int64_t{4}}, {std::string("ink"), Null{}}};
  EXPECT_EQ(UpdateToJson(u),
            R"({"topic": "top?n=2", "kind": "snapshot", "owner": "n1", "epoch": 3, "seq": 7, )"
            R"("columns": ["name", "qty"], "rows": [{"name": "pen", "qty": 4}, )"
            R"({"name": "ink", "qty": null}]})");
}

TEST(CliJson, DiffLine) {
  proto::Update u{"t", proto::UpdateKind::kDiff, "n2", 1, 8, {"k"}, {}, {}, ""};
  u.changes = {{proto::Change::Op::kInsert, {int64_t{1}}},
               {proto::Change::Op::kDelete, {int64_t{2}}}};
  EXPECT_EQ(
      UpdateToJson(u),
      R"({"topic": "t", "kind": "diff", "owner": "n2", "epoch": 1, "seq": 8, )"
      R"("changes": [{"op": "insert", "row": {"k": 1}}, {"op": "delete", "row": {"k": 2}}]})");
}

TEST(CliJson, ErrorLine) {
  proto::Update u{"t", proto::UpdateKind::kError, "n1", 1, 9, {}, {}, {}, "database \"x\" locked"};
  EXPECT_EQ(UpdateToJson(u),
            R"({"topic": "t", "kind": "error", "owner": "n1", "epoch": 1, "seq": 9, )"
            R"("error": "database \"x\" locked"})");
}

}  // namespace
}  // namespace livepoll::cli
