// The standalone hot path of core::Subscriptions, in process: 1000 subscribers of one topic of
// `rows` rows, 5 rows changing per poll; the mean cost of PollDone (change detection, diff, the
// relay's delivery) and of a late Join (the snapshot from the relay's mirror).
//   subscriptions_bench [rows=10000] [keyed=1]
// A benchmark, not a test: it prints figures and never fails on them.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/subscriptions.h"

using namespace livepoll;
using namespace livepoll::core;

namespace {
// Appending, not `"x" + std::to_string(n)`: GCC 12 at -O3 warns (falsely) on that form.
std::string Text(const char* prefix, int n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  const int rows = argc > 1 ? std::atoi(argv[1]) : 10000;
  const bool keyed = argc > 2 ? std::atoi(argv[2]) != 0 : true;
  if (rows <= 0) return 2;
  Catalog catalog;
  catalog.queries["q"] = {"q",
                          "db",
                          {},
                          keyed ? std::vector<std::string>{"id"} : std::vector<std::string>{},
                          std::chrono::seconds(1),
                          0.0};
  SubscriptionsOptions options;
  options.client_timeout = std::chrono::hours(1);  // the clients here never heartbeat
  Subscriptions subs(catalog, options);
  Outputs out;
  Time now(std::chrono::seconds(100));
  for (ClientId c = 1; c <= 1000; ++c) (void)subs.Join(now, c, "q", {}, out);

  ResultSet rs;
  rs.columns = {"id", "v"};
  for (int i = 0; i < rows; ++i) rs.rows.push_back({Value(int64_t{i}), Value(Text("value ", i))});
  using Micros = std::chrono::duration<double, std::micro>;
  constexpr int kPolls = 300;
  double poll_us = 0;
  size_t deliveries = 0;
  for (int p = 0; p < kPolls; ++p) {
    subs.Tick(now, out);
    for (int k = 0; k < 5; ++k) rs.rows[(p * 7 + k * 131) % rows][1] = Value(Text("p", p));
    std::vector<PollRequest> polls;
    polls.swap(out.pollers.polls);
    const auto t0 = std::chrono::steady_clock::now();
    for (const PollRequest& r : polls) subs.PollDone(now, r.poll_id, rs, out);
    poll_us += Micros(std::chrono::steady_clock::now() - t0).count();
    deliveries += out.relay.deliveries.size();
    out = Outputs{};
    now += std::chrono::seconds(1);
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (ClientId c = 2001; c <= 2100; ++c) (void)subs.Join(now, c, "q", {}, out);
  const double join_us = Micros(std::chrono::steady_clock::now() - t0).count();
  std::printf("rows=%d keyed=%d deliveries=%zu poll_done_mean_us=%.1f late_join_mean_us=%.1f\n",
              rows, keyed ? 1 : 0, deliveries, poll_us / kPolls, join_us / 100);
  return 0;
}
