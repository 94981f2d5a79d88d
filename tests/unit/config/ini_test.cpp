// The INI reader alone (config/ini.h): the syntax, not what the sections mean (config_test.cpp).
#include "config/ini.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace livepoll::config::ini {
namespace {

using ::testing::ElementsAre;

// Entries as "section|key|value|line", sections as "name|line": one string each, so a failure
// shows the whole difference.
std::vector<std::string> Entries(const Document& d) {
  std::vector<std::string> out;
  for (const Entry& e : d.entries)
    out.push_back(e.section + "|" + e.key + "|" + e.value + "|" + std::to_string(e.line));
  return out;
}
std::vector<std::string> Sections(const Document& d) {
  std::vector<std::string> out;
  for (const Section& s : d.sections) out.push_back(s.name + "|" + std::to_string(s.line));
  return out;
}

Document ReadOk(std::string_view text) {
  Result<Document> d = Read("t.conf", text);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : Document{};
}

std::string ErrorOf(std::string_view text) {
  Result<Document> d = Read("t.conf", text);
  if (d.ok()) return "(read)";
  EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
  return d.status().message();
}

TEST(ConfigIni, SectionsAndKeysComeInFileOrderWithTheirLines) {
  const Document d = ReadOk(
      "# top\n"
      "[node]\n"
      "name = n1\n"
      "\n"
      "[source.main]\n"
      "plugin=soci\n"
      "dsn = sqlite3://db=demo.db\n");
  EXPECT_THAT(Sections(d), ElementsAre("node|2", "source.main|5"));
  EXPECT_THAT(Entries(d), ElementsAre("node|name|n1|3", "source.main|plugin|soci|6",
                                      "source.main|dsn|sqlite3://db=demo.db|7"));
}

TEST(ConfigIni, EmptyTextsAndCommentOnlyTextsHoldNothing) {
  for (const char* text : {"", "\n", "\n\n  \t\n", "# only\n   # comments", "\r\n"}) {
    const Document d = ReadOk(text);
    EXPECT_TRUE(d.sections.empty()) << text;
    EXPECT_TRUE(d.entries.empty()) << text;
  }
}

TEST(ConfigIni, AKeyBeforeAnySectionBelongsToTheEmptySection) {
  const Document d = ReadOk("name = n1\n[node]\nname = n2\n");
  EXPECT_THAT(Entries(d), ElementsAre("|name|n1|1", "node|name|n2|3"));
}

TEST(ConfigIni, KeysAndValuesAreTrimmedAndSplitAtTheFirstEquals) {
  const Document d = ReadOk(
      "[s]\n"
      "  key\t=  a  b \t\n"
      "dsn = host=x port=5432\n"
      "empty =\n"
      "= no key\n"
      "a==b\n");
  EXPECT_THAT(Entries(d), ElementsAre("s|key|a  b|2", "s|dsn|host=x port=5432|3", "s|empty||4",
                                      "s||no key|5", "s|a|=b|6"));
}

TEST(ConfigIni, AHeaderNamesTheTextBetweenItsBracketsAsWritten) {
  const Document d = ReadOk("[ node ]\n  [query.q]   # a comment\n[a]b]\n[ ]\n[[x]]\n");
  EXPECT_THAT(Sections(d), ElementsAre(" node |1", "query.q|2", "a]b|3", " |4", "[x]|5"));
}

TEST(ConfigIni, AHashOutsideQuotesStartsACommentAndInsideIsKept) {
  const Document d = ReadOk(
      "[q]\n"
      "plugin = soci        # the comment goes\n"
      "sql = SELECT a FROM t WHERE note <> '#'    # why\n"
      "odd = SELECT \"col#1\", 'it''s #2' FROM t\n"
      "mixed = \"it's # still quoted\" # gone\n"
      "cut = a#b\n"
      "bare =# nothing\n");
  EXPECT_THAT(Entries(d),
              ElementsAre("q|plugin|soci|2", "q|sql|SELECT a FROM t WHERE note <> '#'|3",
                          "q|odd|SELECT \"col#1\", 'it''s #2' FROM t|4",
                          "q|mixed|\"it's # still quoted\"|5", "q|cut|a|6", "q|bare||7"));
}

TEST(ConfigIni, AnUnpairedQuoteKeepsTheRestOfItsLineAndOnlyThatLine) {
  const Document d = ReadOk(
      "[q]\n"
      "note = it's # not a comment\n"
      "next = a # a comment again\n"
      "k'ey = v # a quote in the key counts too\n");
  EXPECT_THAT(Entries(d), ElementsAre("q|note|it's # not a comment|2", "q|next|a|3",
                                      "q|k'ey|v # a quote in the key counts too|4"));
}

TEST(ConfigIni, OnAHeaderLineTheFirstHashStartsACommentEvenInQuotes) {
  EXPECT_THAT(Sections(ReadOk("[query.q] # it's\n")), ElementsAre("query.q|1"));
  // Cut at the '#', "['" is no header and has no '='.
  EXPECT_EQ(ErrorOf("['#']\n"), "t.conf: line 1: not a [section], a key = value or a # comment");
  // A line that starts with '[' but is no header is a key line, still cut at its first '#'.
  EXPECT_THAT(Entries(ReadOk("[a = '#'\n")), ElementsAre("|[a|'|1"));
}

TEST(ConfigIni, ABackslashIsTextAndThereAreNoContinuationLines) {
  const Document d = ReadOk("[q]\nsql = SELECT 1 \\\nkey = a\\tb \\# c\n");
  EXPECT_THAT(Entries(d), ElementsAre("q|sql|SELECT 1 \\|2", "q|key|a\\tb \\|3"));
  EXPECT_EQ(ErrorOf("[q]\nsql = SELECT 1 \\\n  FROM t\n"),
            "t.conf: line 3: not a [section], a key = value or a # comment");
}

TEST(ConfigIni, RepeatedSectionsAndKeysAreAllReported) {
  const Document d = ReadOk("[a]\nk = 1\nk = 2\n[b]\n[a]\nk = 3\n");
  EXPECT_THAT(Sections(d), ElementsAre("a|1", "b|4", "a|5"));
  EXPECT_THAT(Entries(d), ElementsAre("a|k|1|2", "a|k|2|3", "a|k|3|6"));
}

TEST(ConfigIni, CrlfLinesReadLikeLfLines) {
  const Document d = ReadOk("[node]\r\nname = n1\r\n# c\r\nlinger = 2s  \r\nlast = x\r");
  EXPECT_THAT(Sections(d), ElementsAre("node|1"));
  EXPECT_THAT(Entries(d), ElementsAre("node|name|n1|2", "node|linger|2s|4", "node|last|x|5"));
}

TEST(ConfigIni, ControlBytesAreRefusedWithTheirLineTabsAreBlanks) {
  EXPECT_THAT(Entries(ReadOk("[n]\n\tk\t=\tv\tw\t\n")), ElementsAre("n|k|v\tw|2"));
  EXPECT_EQ(ErrorOf(std::string("[node]\nname = a\0b\n", 17)),
            "t.conf: line 2: control character in the file");
  EXPECT_EQ(ErrorOf(std::string("\0", 1)), "t.conf: line 1: control character in the file");
  // A '\r' is a line end only just before '\n' (or at the end of the text).
  EXPECT_EQ(ErrorOf("[node]\nname = a\rb\n"), "t.conf: line 2: control character in the file");
  EXPECT_EQ(ErrorOf("[node]\nname = a\r\r\n"), "t.conf: line 2: control character in the file");
  // Even in a comment, which would otherwise hide them.
  EXPECT_EQ(ErrorOf("[node]\n\n# bell \x07\n"), "t.conf: line 3: control character in the file");
  EXPECT_EQ(ErrorOf("[node]\nname = n1 # \x1b[31m\n"),
            "t.conf: line 2: control character in the file");
}

TEST(ConfigIni, BytesAboveAsciiAreText) {
  EXPECT_THAT(Entries(ReadOk("[n]\nk = caf\xc3\xa9 \xff\xfe\x7f\n")),
              ElementsAre("n|k|caf\xc3\xa9 \xff\xfe\x7f|2"));
}

TEST(ConfigIni, VeryLongLinesAreReadWhole) {
  const std::string sql = "SELECT '" + std::string(1 << 20, 'x') + "#'";
  const std::string key(100000, 'k');
  const Document d = ReadOk("[q]\nsql = " + sql + "   # c\n" + key + " = v\nafter = 1\n");
  ASSERT_EQ(d.entries.size(), 3u);
  EXPECT_EQ(d.entries[0].value, sql);
  EXPECT_EQ(d.entries[1].key, key);
  EXPECT_EQ(d.entries[2].line, 4);
}

TEST(ConfigIni, OtherLinesAreErrorsNamingTheFileAndTheLine) {
  const std::string not_a_line = "not a [section], a key = value or a # comment";
  EXPECT_EQ(ErrorOf("[node]\n\n# c\njust words\n"), "t.conf: line 4: " + not_a_line);
  EXPECT_EQ(ErrorOf("; a semicolon is no comment\n"), "t.conf: line 1: " + not_a_line);
  EXPECT_EQ(ErrorOf("[node\n"), "t.conf: line 1: " + not_a_line);
  EXPECT_EQ(ErrorOf("[\n"), "t.conf: line 1: " + not_a_line);
  EXPECT_EQ(ErrorOf("key # = value\n"), "t.conf: line 1: " + not_a_line);
  EXPECT_EQ(ErrorOf("[node]\n%invalid_line%\n"), "t.conf: line 2: " + not_a_line);
  EXPECT_EQ(ErrorOf("[]\nk = v\n"), "t.conf: line 1: empty section name");
  EXPECT_EQ(ErrorOf("[n]\n  []  # c\n"), "t.conf: line 2: empty section name");
  // The first error wins, even when a later line holds another kind.
  EXPECT_EQ(ErrorOf("[n]\nwords\n\x01\n"), "t.conf: line 2: " + not_a_line);
}

}  // namespace
}  // namespace livepoll::config::ini
