// The host's side of a multiplexed query's sink (batch_collector.h), driven as a plugin would:
// rows go to their set, a set with no rows is empty, a set past the limits fails alone, and a row
// for a set out of range or of the wrong width fails the whole batch.
#include "source/batch_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace livepoll::source {
namespace {

using ::testing::HasSubstr;

lp_value Int(int64_t i) {
  lp_value v{};
  v.type = LP_INT;
  v.u.i = i;
  return v;
}

int Columns(lp_batch_sink& s, size_t n) {
  static const lp_str names[2] = {{"a", 1}, {"b", 1}};
  return s.columns(s.ctx, names, n);
}

int SendRow(lp_batch_sink& s, size_t set, int64_t a, int64_t b) {
  lp_value row[2] = {Int(a), Int(b)};
  return s.row(s.ctx, set, row, 2);
}

TEST(BatchCollector, RowsGoToTheirSetAndASetWithoutRowsIsEmpty) {
  BatchCollector c(3, {});
  lp_batch_sink s = c.sink();
  ASSERT_EQ(Columns(s, 2), 0);
  EXPECT_EQ(SendRow(s, 2, 1, 2), 0);
  EXPECT_EQ(SendRow(s, 0, 3, 4), 0);
  EXPECT_EQ(SendRow(s, 2, 5, 6), 0);  // sets may interleave; a set's rows keep their order
  ASSERT_TRUE(c.Failure("p").ok());
  ASSERT_TRUE(c.have_columns());
  std::vector<Result<ResultSet>> sets = c.Take("p");
  ASSERT_EQ(sets.size(), 3u);
  for (const auto& set : sets) {
    ASSERT_TRUE(set.ok());
    EXPECT_EQ(set->columns, (std::vector<std::string>{"a", "b"}));
  }
  EXPECT_EQ(sets[0]->rows, (std::vector<Row>{{int64_t{3}, int64_t{4}}}));
  EXPECT_TRUE(sets[1]->rows.empty());
  EXPECT_EQ(sets[2]->rows, (std::vector<Row>{{int64_t{1}, int64_t{2}}, {int64_t{5}, int64_t{6}}}));
}

TEST(BatchCollector, ASetPastTheLimitsFailsAloneAndThePluginGoesOn) {
  BatchCollector c(2, {/*max_rows=*/1, SIZE_MAX});
  lp_batch_sink s = c.sink();
  ASSERT_EQ(Columns(s, 2), 0);
  EXPECT_EQ(SendRow(s, 0, 1, 1), 0);
  EXPECT_EQ(SendRow(s, 0, 2, 2), 0);  // over the limit: dropped, but the batch goes on
  EXPECT_EQ(SendRow(s, 1, 3, 3), 0);
  ASSERT_TRUE(c.Failure("p").ok());
  std::vector<Result<ResultSet>> sets = c.Take("p");
  ASSERT_FALSE(sets[0].ok());
  EXPECT_TRUE(IsResultTooLarge(sets[0].status()));
  ASSERT_TRUE(sets[1].ok());
  EXPECT_EQ(sets[1]->rows.size(), 1u);
}

TEST(BatchCollector, ARowForASetOutOfRangeFailsTheBatch) {
  BatchCollector c(2, {});
  lp_batch_sink s = c.sink();
  ASSERT_EQ(Columns(s, 2), 0);
  EXPECT_NE(SendRow(s, 2, 1, 1), 0);
  EXPECT_NE(SendRow(s, 0, 1, 1), 0);  // stopped: every later call too
  Status f = c.Failure("p");
  EXPECT_EQ(f.code(), Status::Code::kMalformed);
  EXPECT_THAT(f.message(), HasSubstr("parameter set 2 of 2"));
}

TEST(BatchCollector, ARowOfTheWrongWidthFailsTheBatch) {
  BatchCollector c(2, {});
  lp_batch_sink s = c.sink();
  ASSERT_EQ(Columns(s, 1), 0);
  EXPECT_NE(SendRow(s, 1, 1, 1), 0);  // two values for one column
  EXPECT_EQ(c.Failure("p").code(), Status::Code::kMalformed);
}

TEST(BatchCollector, ColumnsTwiceFailTheBatch) {
  BatchCollector c(1, {});
  lp_batch_sink s = c.sink();
  ASSERT_EQ(Columns(s, 2), 0);
  EXPECT_NE(Columns(s, 2), 0);
  EXPECT_FALSE(c.Failure("p").ok());
}

}  // namespace
}  // namespace livepoll::source
