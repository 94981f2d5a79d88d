#include "command.h"

namespace livepoll::cli {

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> all = [] {
    std::vector<Command> v;
    for (auto group : {InspectCommands, ZombieCommands, WatchCommands, TokenCommands,
                       ClusterCommands, KeyCommands}) {
      for (Command& c : group()) v.push_back(c);
    }
    return v;
  }();
  return all;
}

}  // namespace livepoll::cli
