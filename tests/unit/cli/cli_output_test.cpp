// The shared formatter: table, TSV and JSON lines (cmd/output.h).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "output.h"

namespace livepoll::cli {
namespace {

std::string Write(const std::vector<std::string>& columns, const std::vector<Row>& rows,
                  OutputMode mode, bool header) {
  std::ostringstream out;
  WriteRows(out, columns, rows, mode, header);
  return out.str();
}

const std::vector<std::string> kColumns = {"topic", "subscribers"};
const std::vector<Row> kRows = {{std::string("revenue?region=eu"), int64_t{12}},
                                {std::string("top"), int64_t{3}}};

TEST(CliOutput, TableAlignsColumnsUnderAHeaderAndRightAlignsNumbers) {
  EXPECT_EQ(Write(kColumns, kRows, OutputMode::kTable, true),
            "TOPIC              SUBSCRIBERS\n"
            "revenue?region=eu           12\n"
            "top                          3\n");
}

TEST(CliOutput, TableCountsCodePointsNotBytes) {
  EXPECT_EQ(Write({"name", "n"},
                  {{std::string("z\xC3\xBCrich"), int64_t{1}}, {std::string("bern"), int64_t{2}}},
                  OutputMode::kTable, false),
            "z\xC3\xBCrich  1\n"
            "bern    2\n");
}

TEST(CliOutput, TableLinesHaveNoTrailingBlanks) {
  EXPECT_EQ(Write({"a", "b"},
                  {{std::string("xyz"), std::string("")}, {std::string("x"), std::string("long")}},
                  OutputMode::kTable, false),
            "xyz\n"
            "x    long\n");
}

TEST(CliOutput, TableShowsNullAsDash) {
  EXPECT_EQ(Write({"a", "b"}, {{Null{}, std::string("x")}}, OutputMode::kTable, false), "-  x\n");
}

TEST(CliOutput, TsvHasNoHeaderUnlessAsked) {
  EXPECT_EQ(Write(kColumns, kRows, OutputMode::kTsv, false), "revenue?region=eu\t12\ntop\t3\n");
  EXPECT_EQ(Write(kColumns, kRows, OutputMode::kTsv, true),
            "topic\tsubscribers\nrevenue?region=eu\t12\ntop\t3\n");
}

TEST(CliOutput, TsvEscapesTabsNewlinesAndBackslashesSoFieldsStayPut) {
  const std::string out =
      Write({"a", "b"}, {{std::string("x\ty\nz\\w\r"), Null{}}}, OutputMode::kTsv, false);
  EXPECT_EQ(out, "x\\ty\\nz\\\\w\\r\t\n");
  // Exactly one line and two fields, whatever the value held.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\t'), 1);
}

TEST(CliOutput, TsvCellsOfEveryType) {
  EXPECT_EQ(Write({"n", "i", "d", "t", "b", "f"},
                  {{Null{}, int64_t{-7}, 0.1, std::string("x"), Blob{"hi!"}, false}},
                  OutputMode::kTsv, false),
            "\t-7\t0.1\tx\taGkh\tfalse\n");
}

TEST(CliOutput, JsonIsOneObjectPerRow) {
  EXPECT_EQ(Write(kColumns, kRows, OutputMode::kJson, true),
            "{\"topic\": \"revenue?region=eu\", \"subscribers\": 12}\n"
            "{\"topic\": \"top\", \"subscribers\": 3}\n");
}

TEST(CliOutput, ShortRowsArePaddedWithNull) {
  EXPECT_EQ(Write({"a", "b"}, {{int64_t{1}}}, OutputMode::kJson, false),
            "{\"a\": 1, \"b\": null}\n");
  EXPECT_EQ(Write({"a", "b"}, {{int64_t{1}}}, OutputMode::kTsv, false), "1\t\n");
}

// Data and names come from strangers: an ESC sequence printed raw could clear the screen, retitle
// the window or forge earlier lines (issue 12).
TEST(CliOutput, ControlBytesNeverReachTheTerminal) {
  const std::string evil =
      "a\x1b]0;owned\x07"
      "b\x1b[2Jc\x7f\xc2\x9b"
      "31md";
  const std::string shown = "a\\x1b]0;owned\\x07b\\x1b[2Jc\\x7f\\xc2\\x9b31md";
  EXPECT_EQ(Write({"x"}, {{evil}}, OutputMode::kTable, false), shown + "\n");
  EXPECT_EQ(Write({"x"}, {{evil}}, OutputMode::kTsv, false), shown + "\n");
  EXPECT_EQ(Write({"n\x1b"
                   "ame"},
                  {}, OutputMode::kTable, true),
            "N\\x1bAME\n");
  EXPECT_EQ(Printable("lost\x1b[31m\tok\n"), "lost\\x1b[31m\tok\n");
  EXPECT_EQ(Printable("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");  // UTF-8 kept
}

TEST(CliOutput, ModeFollowsTerminalUnlessJson) {
  EXPECT_EQ(ChooseOutputMode(false, true), OutputMode::kTable);
  EXPECT_EQ(ChooseOutputMode(false, false), OutputMode::kTsv);
  EXPECT_EQ(ChooseOutputMode(true, true), OutputMode::kJson);
}

}  // namespace
}  // namespace livepoll::cli
