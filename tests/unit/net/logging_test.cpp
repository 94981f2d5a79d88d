#include <gtest/gtest.h>

#include <chrono>

#include "net/log_format.h"

namespace livepoll::net {
namespace {

TEST(JsonQuote, EscapesWhatJsonRequires) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("say \"hi\" \\ now"), R"("say \"hi\" \\ now")");
  EXPECT_EQ(JsonQuote("a\nb\tc\rd\be\f"), R"("a\nb\tc\rd\be\f")");
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(JsonQuote(std::string("nul\0x", 5)), R"("nul\u0000x")");
}

// U+FFFD REPLACEMENT CHARACTER in UTF-8: one per byte that is not part of valid UTF-8.
#define kFffd "\xEF\xBF\xBD"

TEST(JsonQuote, KeepsUtf8AndReplacesBrokenBytes) {
  EXPECT_EQ(JsonQuote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(JsonQuote("a\xff"
                      "b"),
            "\"a" kFffd "b\"");
  EXPECT_EQ(JsonQuote("\xc3"), "\"" kFffd "\"");                      // truncated sequence
  EXPECT_EQ(JsonQuote("\xc0\xaf"), "\"" kFffd kFffd "\"");            // overlong '/'
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"), "\"" kFffd kFffd kFffd "\"");  // a surrogate
}

TEST(JsonLineFormatter, WritesOneObjectALine) {
  using namespace std::chrono;
  const auto t =
      sys_days{year{2026} / 11 / 24} + hours(4) + minutes(25) + seconds(26) + milliseconds(123);
  spdlog::details::log_msg msg(time_point_cast<system_clock::duration>(t), spdlog::source_loc{},
                               "net", spdlog::level::warn, "peer \"n2\" said:\nbye");
  spdlog::memory_buf_t buf;
  JsonLineFormatter f;
  f.format(msg, buf);
  EXPECT_EQ(std::string(buf.data(), buf.size()),
            R"({"ts":"2026-11-24T04:25:26.123Z","level":"warn","logger":"net",)"
            R"("msg":"peer \"n2\" said:\nbye"})"
            "\n");

  spdlog::memory_buf_t again;
  msg.level = spdlog::level::err;
  f.clone()->format(msg, again);
  EXPECT_NE(std::string(again.data(), again.size()).find(R"("level":"error")"), std::string::npos);
}

// Under systemd: journald's priority prefix, no time of our own, one entry a message.
TEST(JournalLineFormatter, PrefixesThePriorityAndKeepsOneLine) {
  spdlog::details::log_msg msg(spdlog::source_loc{}, "livepolld", spdlog::level::warn,
                               "member n2 is down\nsince 1 s");
  spdlog::memory_buf_t buf;
  JournalLineFormatter f;
  f.format(msg, buf);
  EXPECT_EQ(std::string(buf.data(), buf.size()), "<4>[livepolld] member n2 is down\\nsince 1 s\n");
  for (auto [level, prefix] : {std::pair{spdlog::level::debug, "<7>"},
                               {spdlog::level::info, "<6>"},
                               {spdlog::level::err, "<3>"},
                               {spdlog::level::critical, "<2>"}}) {
    spdlog::memory_buf_t out;
    msg.level = level;
    f.clone()->format(msg, out);
    EXPECT_EQ(std::string(out.data(), out.size()).substr(0, 3), prefix);
  }
}

}  // namespace
}  // namespace livepoll::net
