#include "core/result_diff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <variant>

namespace livepoll::core {
namespace {

using Op = proto::Change::Op;

Value I(int64_t v) { return Value(v); }
Value R(double v) { return Value(v); }
Value S(std::string v) { return Value(std::move(v)); }

ResultSet Result2(std::vector<Row> rows) { return ResultSet{{"id", "name"}, std::move(rows)}; }

// ---- HashResult ----

TEST(HashResult, EqualResultsHashAlike) {
  const ResultSet a = Result2({{I(1), S("a")}, {I(2), Value(Null{})}});
  const ResultSet b = Result2({{I(1), S("a")}, {I(2), Value(Null{})}});
  EXPECT_EQ(HashResult(a), HashResult(b));
  EXPECT_EQ(HashResult(ResultSet{}), HashResult(ResultSet{}));
}

TEST(HashResult, IsStableAcrossBuilds) {
  // Pinned so that a change to the encoding, which would make nodes of two versions disagree on
  // every result for one poll, is made on purpose.
  const ResultSet r{{"id", "v"}, {{I(1), S("x")}, {Value(Null{}), R(2.5)}}};
  EXPECT_EQ(HashResult(r), 0x57cf6d619da85cddULL) << std::hex << HashResult(r);
}

TEST(HashResult, AnySingleChangeChangesIt) {
  const ResultSet base{{"a", "b"}, {{I(1), S("ab")}, {S("c"), Value(true)}}};
  std::vector<ResultSet> variants;
  auto with = [&](auto edit) {
    ResultSet r = base;
    edit(r);
    variants.push_back(r);
  };
  with([](ResultSet& r) { r.rows[0][0] = I(2); });               // value
  with([](ResultSet& r) { r.rows[0][0] = R(1.0); });             // integer 1 vs real 1.0
  with([](ResultSet& r) { r.rows[0][0] = S("1"); });             // vs text "1"
  with([](ResultSet& r) { r.rows[0][0] = Value(true); });        // vs boolean true
  with([](ResultSet& r) { r.rows[0][1] = Value(Blob{"ab"}); });  // text vs blob
  with([](ResultSet& r) { r.columns[1] = "B"; });                // column name
  with([](ResultSet& r) { r.columns = {"ab", ""}; });            // split column names
  with([](ResultSet& r) { std::swap(r.rows[0], r.rows[1]); });   // row order
  with([](ResultSet& r) {
    r.rows[0][1] = S("a");
    r.rows[1][0] = S("bc");
  });                                                       // "ab","c" -> "a","bc"
  with([](ResultSet& r) { r.rows[1][1] = Value(false); });  // boolean
  with([](ResultSet& r) { r.rows.pop_back(); });            // row count
  with([](ResultSet& r) { r.rows.push_back(r.rows[0]); });  // duplicated row
  variants.push_back(base);
  variants.back().rows[1][0] = Value(Null{});  // null ...
  variants.push_back(base);
  variants.back().rows[1][0] = S("");  // ... vs empty string

  std::set<uint64_t> seen = {HashResult(base)};
  for (size_t i = 0; i < variants.size(); ++i) {
    EXPECT_TRUE(seen.insert(HashResult(variants[i])).second) << "variant " << i << " collides";
  }
}

TEST(HashResult, NullVersusEmptyStringVersusEmptyBlob) {
  const uint64_t n = HashResult(ResultSet{{"a"}, {{Value(Null{})}}});
  const uint64_t s = HashResult(ResultSet{{"a"}, {{S("")}}});
  const uint64_t b = HashResult(ResultSet{{"a"}, {{Value(Blob{})}}});
  EXPECT_NE(n, s);
  EXPECT_NE(n, b);
  EXPECT_NE(s, b);
}

TEST(HashResult, RowBoundariesMatter) {
  // One row of two values is not two rows of one value, even with one column list.
  const ResultSet a{{"x"}, {{I(1), I(2)}}};
  const ResultSet b{{"x"}, {{I(1)}, {I(2)}}};
  EXPECT_NE(HashResult(a), HashResult(b));
}

TEST(HashResult, NegativeZeroAndNaNAreNormalized) {
  const double nan1 = std::numeric_limits<double>::quiet_NaN();
  const double nan2 = -std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(HashResult(ResultSet{{"r"}, {{R(0.0)}}}), HashResult(ResultSet{{"r"}, {{R(-0.0)}}}));
  EXPECT_EQ(HashResult(ResultSet{{"r"}, {{R(nan1)}}}), HashResult(ResultSet{{"r"}, {{R(nan2)}}}));
  EXPECT_NE(HashResult(ResultSet{{"r"}, {{R(nan1)}}}), HashResult(ResultSet{{"r"}, {{R(0.0)}}}));
  EXPECT_NE(HashResult(ResultSet{{"r"}, {{R(1.0)}}}),
            HashResult(ResultSet{{"r"}, {{R(std::nextafter(1.0, 2.0))}}}));
}

// ---- KeyIndexes ----

TEST(KeyIndexes, FindsPositions) {
  Result<std::vector<size_t>> k = KeyIndexes({"a", "b", "c"}, {"c", "a"});
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k.value(), (std::vector<size_t>{2, 0}));
}

TEST(KeyIndexes, MissingColumnIsNotFoundByName) {
  Result<std::vector<size_t>> k = KeyIndexes({"a", "b"}, {"a", "region"});
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), Status::Code::kNotFound);
  EXPECT_NE(k.status().message().find("'region'"), std::string::npos) << k.status().message();
}

// ---- DiffRows and ApplyChanges ----

TEST(DiffRows, IdenticalResultsGiveNoChanges) {
  const ResultSet r = Result2({{I(1), S("a")}, {I(2), S("b")}});
  auto d = DiffRows(r, r, {0});
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->empty());
}

TEST(DiffRows, MixOfInsertUpdateDeleteInDocumentedOrder) {
  const ResultSet before =
      Result2({{I(1), S("a")}, {I(2), S("b")}, {I(3), S("c")}, {I(4), S("d")}});
  const ResultSet after =
      Result2({{I(5), S("e")}, {I(3), S("C")}, {I(1), S("a")}, {I(0), S("z")}, {I(2), S("B")}});
  auto d = DiffRows(before, after, {0});
  ASSERT_TRUE(d.has_value());
  // Deletes first in before's order, then updates and inserts interleaved in after's order.
  const std::vector<proto::Change> want = {
      {Op::kDelete, {I(4), S("d")}}, {Op::kInsert, {I(5), S("e")}}, {Op::kUpdate, {I(3), S("C")}},
      {Op::kInsert, {I(0), S("z")}}, {Op::kUpdate, {I(2), S("B")}},
  };
  EXPECT_EQ(*d, want);

  std::vector<Row> rows = before.rows;
  ASSERT_TRUE(ApplyChanges(rows, *d, {0}).ok());
  // Surviving rows keep their places (updated in place), inserts follow in the changes' order.
  EXPECT_EQ(rows,
            (std::vector<Row>{
                {I(1), S("a")}, {I(2), S("B")}, {I(3), S("C")}, {I(5), S("e")}, {I(0), S("z")}}));
}

TEST(DiffRows, CompositeKeys) {
  const ResultSet before{
      {"region", "year", "total"},
      {{S("eu"), I(2023), I(10)}, {S("eu"), I(2024), I(20)}, {S("us"), I(2024), I(30)}}};
  const ResultSet after{
      {"region", "year", "total"},
      {{S("eu"), I(2023), I(10)}, {S("eu"), I(2024), I(25)}, {S("us"), I(2023), I(5)}}};
  auto d = DiffRows(before, after, {0, 1});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (std::vector<proto::Change>{{Op::kDelete, {S("us"), I(2024), I(30)}},
                                            {Op::kUpdate, {S("eu"), I(2024), I(25)}},
                                            {Op::kInsert, {S("us"), I(2023), I(5)}}}));
}

TEST(DiffRows, KeyValuesAreTypedAndLengthDelimited) {
  // ("ab","c") and ("a","bc") are different composite keys; integer 1 and text "1" too.
  const ResultSet before{{"a", "b", "v"}, {{S("ab"), S("c"), I(1)}, {I(1), S(""), I(1)}}};
  const ResultSet after{{"a", "b", "v"}, {{S("a"), S("bc"), I(1)}, {S("1"), S(""), I(1)}}};
  auto d = DiffRows(before, after, {0, 1});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->size(), 4u);  // two deletes, two inserts
  for (size_t i = 0; i < d->size(); ++i) EXPECT_EQ((*d)[i].op, i < 2 ? Op::kDelete : Op::kInsert);
}

TEST(DiffRows, NaNIsNotAnUpdateEveryPoll) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const ResultSet r{{"id", "v"}, {{I(1), R(nan)}, {I(2), R(-0.0)}}};
  const ResultSet s{{"id", "v"}, {{I(1), R(nan)}, {I(2), R(0.0)}}};
  auto d = DiffRows(r, s, {0});
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->empty());
}

TEST(DiffRows, RepeatedKeyGivesNullopt) {
  const ResultSet ok = Result2({{I(1), S("a")}});
  const ResultSet dup = Result2({{I(1), S("a")}, {I(1), S("b")}});
  EXPECT_FALSE(DiffRows(ok, dup, {0}).has_value());
  EXPECT_FALSE(DiffRows(dup, ok, {0}).has_value());
}

TEST(DiffRows, DifferentColumnsGiveNullopt) {
  const ResultSet a{{"id", "name"}, {{I(1), S("a")}}};
  const ResultSet b{{"id", "title"}, {{I(1), S("a")}}};
  const ResultSet c{{"id"}, {{I(1)}}};
  EXPECT_FALSE(DiffRows(a, b, {0}).has_value());
  EXPECT_FALSE(DiffRows(a, c, {0}).has_value());
}

TEST(DiffRows, KeyOutsideTheRowGivesNullopt) {
  const ResultSet a = Result2({{I(1), S("a")}});
  EXPECT_FALSE(DiffRows(a, a, {2}).has_value());
}

TEST(ApplyChanges, RefusesMissingOrPresentKeysAndLeavesRowsAlone) {
  const std::vector<Row> rows = {{I(1), S("a")}, {I(2), S("b")}};
  const std::vector<std::vector<proto::Change>> bad = {
      {{Op::kInsert, {I(1), S("x")}}},
      {{Op::kUpdate, {I(9), S("x")}}},
      {{Op::kDelete, {I(9), S("x")}}},
      // A good change first: the batch is refused whole, nothing is applied.
      {{Op::kDelete, {I(1), S("a")}}, {Op::kDelete, {I(1), S("a")}}},
      {{Op::kUpdate, {I(2), S("B")}}, {Op::kInsert, {I(3), S("c")}}, {Op::kInsert, {I(3), S("c")}}},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    std::vector<Row> r = rows;
    Status s = ApplyChanges(r, bad[i], {0});
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << "batch " << i << ": " << s.ToString();
    EXPECT_EQ(r, rows) << "batch " << i;
  }
}

TEST(ApplyChanges, ChangesApplyInSequence) {
  std::vector<Row> rows = {{I(1), S("a")}};
  const std::vector<proto::Change> changes = {
      {Op::kDelete, {I(1), S("a")}}, {Op::kInsert, {I(1), S("b")}}, {Op::kUpdate, {I(1), S("c")}}};
  ASSERT_TRUE(ApplyChanges(rows, changes, {0}).ok());
  EXPECT_EQ(rows, (std::vector<Row>{{I(1), S("c")}}));
}

// ---- property test ----

// A total order on values for the tests' canonical sort (Value has no operator<: Null and Blob lack
// one).
bool ValueLess(const Value& a, const Value& b) {
  if (a.index() != b.index()) return a.index() < b.index();
  return std::visit(
      [&b](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, Null>) {
          return false;
        } else if constexpr (std::is_same_v<T, Blob>) {
          return x.bytes < y.bytes;
        } else {
          return x < y;
        }
      },
      a);
}
bool RowLess(const Row& a, const Row& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), ValueLess);
}

// ApplyChanges(before, DiffRows(before, after)) holds after's rows, but not necessarily in after's
// order (a keyed diff carries no positions): equal as multisets, compared here sorted.
std::vector<Row> Sorted(std::vector<Row> rows) {
  std::sort(rows.begin(), rows.end(), RowLess);
  return rows;
}

Value RandomValue(std::mt19937& rng) {
  switch (rng() % 6) {
    case 0:
      return Value(Null{});
    case 1:
      return I(static_cast<int64_t>(rng() % 5));
    case 2:
      return R(static_cast<double>(rng() % 5) / 2);
    case 3:
      return S(std::string(rng() % 3, static_cast<char>('a' + rng() % 3)));
    case 4:
      return Value(Blob{std::string(rng() % 3, 'x')});
    default:
      return Value(rng() % 2 == 0);
  }
}

// A key value drawn from a small space so that before and after share many keys; mixed types so
// that integer 1 and text "1" must be kept apart.
Value RandomKey(std::mt19937& rng) {
  const int64_t n = static_cast<int64_t>(rng() % 12);
  return rng() % 4 == 0 ? S(std::to_string(n)) : I(n);
}

ResultSet RandomResult(std::mt19937& rng, size_t key_width, size_t max_rows) {
  ResultSet r;
  for (size_t c = 0; c < key_width + 2; ++c) r.columns.push_back("c" + std::to_string(c));
  std::vector<Row> seen;
  const size_t n = rng() % (max_rows + 1);
  for (size_t i = 0; i < n; ++i) {
    Row row;
    for (size_t c = 0; c < key_width; ++c) row.push_back(RandomKey(rng));
    bool repeat = false;
    for (const Row& s : r.rows)
      repeat = repeat || std::equal(s.begin(), s.begin() + key_width, row.begin());
    if (repeat) continue;  // keys are unique within one result; repeats are tested on their own
    row.push_back(RandomValue(rng));
    row.push_back(RandomValue(rng));
    r.rows.push_back(std::move(row));
  }
  return r;
}

// `before` edited the way results drift between polls: some rows dropped, some values changed,
// some rows added, and the order shuffled.
ResultSet Drift(std::mt19937& rng, const ResultSet& before, size_t key_width) {
  ResultSet after{before.columns, {}};
  for (const Row& row : before.rows) {
    if (rng() % 5 == 0) continue;
    Row r = row;
    if (rng() % 3 == 0) r[key_width + rng() % 2] = RandomValue(rng);
    after.rows.push_back(std::move(r));
  }
  ResultSet extra = RandomResult(rng, key_width, 6);
  for (Row& row : extra.rows) {
    bool taken = false;
    for (const Row& a : after.rows)
      taken = taken || std::equal(a.begin(), a.begin() + key_width, row.begin());
    if (!taken) after.rows.push_back(std::move(row));
  }
  std::shuffle(after.rows.begin(), after.rows.end(), rng);
  return after;
}

TEST(DiffRows, PropertyApplyingTheDiffGivesAfter) {
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const size_t key_width = 1 + seed % 2;  // single and composite keys
    std::vector<size_t> key(key_width);
    for (size_t i = 0; i < key_width; ++i) key[i] = i;
    const ResultSet before = RandomResult(rng, key_width, 20);
    const ResultSet after = rng() % 10 == 0 ? before : Drift(rng, before, key_width);

    auto d = DiffRows(before, after, key);
    ASSERT_TRUE(d.has_value());
    std::vector<Row> rows = before.rows;
    Status s = ApplyChanges(rows, *d, key);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(Sorted(rows), Sorted(after.rows));

    // The documented order: all deletes before any update or insert, and no change is spurious.
    size_t deletes = 0;
    while (deletes < d->size() && (*d)[deletes].op == Op::kDelete) ++deletes;
    for (size_t i = deletes; i < d->size(); ++i) ASSERT_NE((*d)[i].op, Op::kDelete);
    for (const proto::Change& c : *d) {
      if (c.op != Op::kUpdate) continue;
      ASSERT_EQ(std::count(before.rows.begin(), before.rows.end(), c.row), 0)
          << "an update that changes nothing";
    }
    // Equal results hash alike; a non-empty diff means the results differ, so the hash should too.
    if (before == after) {
      ASSERT_TRUE(d->empty());
      ASSERT_EQ(HashResult(before), HashResult(after));
    }
    if (!d->empty()) {
      ASSERT_NE(HashResult(before), HashResult(after));
    }
  }
}

TEST(DiffRows, TenThousandRows) {
  // The size the poller meets; a quadratic diff would show here as a slow test.
  ResultSet before{{"id", "v"}, {}};
  for (int64_t i = 0; i < 10000; ++i) before.rows.push_back({I(i), S("v" + std::to_string(i))});
  ResultSet after = before;
  after.rows.erase(after.rows.begin() + 5000);         // delete id 5000
  after.rows[10][1] = S("changed");                    // update id 10
  after.rows.push_back({I(10000), S("new")});          // insert
  std::reverse(after.rows.begin(), after.rows.end());  // order alone is no change
  auto d = DiffRows(before, after, {0});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, (std::vector<proto::Change>{{Op::kDelete, {I(5000), S("v5000")}},
                                            {Op::kInsert, {I(10000), S("new")}},
                                            {Op::kUpdate, {I(10), S("changed")}}}));
  std::vector<Row> rows = before.rows;
  ASSERT_TRUE(ApplyChanges(rows, *d, {0}).ok());
  EXPECT_EQ(Sorted(rows), Sorted(after.rows));
}

}  // namespace
}  // namespace livepoll::core
