// What a SIGHUP cannot change: every [node] key differing between the running configuration and
// the file read again is named, with both values (daemon/reload.h, RestartOnlyChanges).
#include "daemon/reload.h"

#include <gtest/gtest.h>

namespace livepoll::daemon {
namespace {

using namespace std::chrono_literals;

TEST(RestartOnlyChanges, NamesEachChangedNodeKeyWithBothValues) {
  config::NodeConfig running;
  running.name = "n1";
  EXPECT_TRUE(RestartOnlyChanges(running, running).empty());

  config::NodeConfig next = running;
  next.client_bind = "tcp://127.0.0.1:9999";
  next.name = "n2";
  next.linger = 7s;
  next.max_clients = 5;
  next.join = {"tcp://127.0.0.1:1", "tcp://127.0.0.1:2"};
  EXPECT_EQ(RestartOnlyChanges(running, next),
            (std::vector<std::string>{
                "name (n1 -> n2)", "client_bind (tcp://127.0.0.1:7470 -> tcp://127.0.0.1:9999)",
                "linger (5000ms -> 7000ms)", "join ((none) -> tcp://127.0.0.1:1,tcp://127.0.0.1:2)",
                "max_clients (10000 -> 5)"}));
}

TEST(RestartOnlyChanges, ANewTokenKeyInTheSameFileIsNamed) {
  config::NodeConfig running;
  running.token_secret = "/etc/livepoll/token.key";
  running.token_key = std::string(32, 'a');
  config::NodeConfig next = running;
  next.token_key = std::string(32, 'b');
  EXPECT_EQ(RestartOnlyChanges(running, next),
            std::vector<std::string>{"token_secret (the key in /etc/livepoll/token.key)"});
}

}  // namespace
}  // namespace livepoll::daemon
