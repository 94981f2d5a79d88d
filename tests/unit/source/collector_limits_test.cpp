// The Collector's result limits (max_result_rows, max_result_bytes): it stops the plugin at the
// first row over either, so a huge result is never held whole.
#include <gtest/gtest.h>

#include "source/collector.h"

namespace livepoll::source {
namespace {

lp_value Int(int64_t v) {
  lp_value x{};
  x.type = LP_INT;
  x.u.i = v;
  return x;
}
lp_value Text(const std::string& s) {
  lp_value x{};
  x.type = LP_TEXT;
  x.u.s.data = s.data();
  x.u.s.len = s.size();
  return x;
}

// Streams `n` rows of (id, text) into a Collector with `limits`, as a plugin would: it stops at
// the first non-zero return. Returns how many rows the sink accepted.
size_t Stream(Collector& c, size_t n, const std::string& text) {
  lp_sink sink = c.sink();
  lp_str cols[2] = {{"id", 2}, {"t", 1}};
  if (sink.columns(sink.ctx, cols, 2) != 0) return 0;
  for (size_t i = 0; i < n; ++i) {
    lp_value row[2] = {Int(static_cast<int64_t>(i)), Text(text)};
    if (sink.row(sink.ctx, row, 2) != 0) return i;
  }
  return n;
}

TEST(CollectorLimitsTest, RowsOverMaxResultRowsStopTheQuery) {
  Collector c({/*max_rows=*/10, /*max_bytes=*/SIZE_MAX});
  EXPECT_EQ(Stream(c, 1000, "x"), 10u);
  Status s = c.Failure("p");
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_EQ(s.message(), "result too large (11 rows > max_result_rows 10)");
  EXPECT_TRUE(IsResultTooLarge(s));
  EXPECT_FALSE(IsResultTooLarge(Status::Unavailable("p: query failed")));
}

TEST(CollectorLimitsTest, BytesOverMaxResultBytesStopTheQueryBeforeCopying) {
  Collector c({SIZE_MAX, /*max_bytes=*/10000});
  const std::string kb(1000, 'y');
  EXPECT_LT(Stream(c, 1000, kb), 10u);
  Status s = c.Failure("p");
  EXPECT_TRUE(IsResultTooLarge(s)) << s.ToString();
  EXPECT_NE(s.message().find("max_result_bytes"), std::string::npos) << s.message();
}

TEST(CollectorLimitsTest, AResultWithinTheLimitsIsWhole) {
  Collector c({10, 100000});
  EXPECT_EQ(Stream(c, 10, "z"), 10u);
  EXPECT_TRUE(c.Failure("p").ok());
  EXPECT_EQ(c.Take().rows.size(), 10u);
}

}  // namespace
}  // namespace livepoll::source
