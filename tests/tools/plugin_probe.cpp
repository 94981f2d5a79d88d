// plugin_probe PLUGIN [DSN SQL]
//
// Loads PLUGIN (a path, or a name looked up like livepolld does) with the real loader and prints
//   name=<name> version=<version> abi=<major>.<minor> path=<path>
// With DSN and SQL, also opens DSN, runs SQL (no parameters) and prints the columns and rows as
// tab-separated lines. Exit 0 on success; 1, with the refusal or error on stderr, otherwise.
#include <cstdio>
#include <iostream>
#include <string>
#include <variant>

#include "source/plugin.h"
#include "source/plugin_path.h"

namespace {

std::string Text(const livepoll::Value& v) {
  struct {
    std::string operator()(livepoll::Null) const { return "NULL"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return std::to_string(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const livepoll::Blob& b) const {
      return "<blob " + std::to_string(b.bytes.size()) + " bytes>";
    }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
  } visitor;
  return std::visit(visitor, v);
}

int Run(int argc, char** argv) {
  using namespace livepoll;
  if (argc != 2 && argc != 4) {
    std::cerr << "usage: plugin_probe PLUGIN [DSN SQL]\n";
    return 1;
  }
  auto path = source::FindPlugin(argv[1], source::PluginSearchPath(Env::Real(), ""));
  if (!path.ok()) {
    std::cerr << path.status().ToString() << "\n";
    return 1;
  }
  auto plugin = source::Plugin::Load(Env::Real(), *path);
  if (!plugin.ok()) {
    std::cerr << plugin.status().ToString() << "\n";
    return 1;
  }
  const auto& p = **plugin;
  std::cout << "name=" << p.name() << " version=" << p.version() << " abi=" << p.abi_major() << "."
            << p.abi_minor() << " path=" << p.path() << "\n";
  if (argc == 2) return 0;

  auto conn = (*plugin)->Open(argv[2]);
  if (!conn.ok()) {
    std::cerr << conn.status().ToString() << "\n";
    return 1;
  }
  auto stmt = (*conn)->Prepare(argv[3], {});
  if (!stmt.ok()) {
    std::cerr << stmt.status().ToString() << "\n";
    return 1;
  }
  auto rs = (*stmt)->Query({});
  if (!rs.ok()) {
    std::cerr << rs.status().ToString() << "\n";
    return 1;
  }
  for (size_t i = 0; i < rs->columns.size(); ++i) std::cout << (i ? "\t" : "") << rs->columns[i];
  std::cout << "\n";
  for (const auto& row : rs->rows) {
    for (size_t i = 0; i < row.size(); ++i) std::cout << (i ? "\t" : "") << Text(row[i]);
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
