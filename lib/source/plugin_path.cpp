#include "source/plugin_path.h"

#include <filesystem>
#include <optional>
#include <system_error>

#include "livepoll/strings.h"

namespace livepoll::source {
namespace {

// The folder of the running executable, or "" when /proc/self/exe cannot be read.
std::string ExeDir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) return "";
  return exe.parent_path().string();
}

}  // namespace

std::vector<std::string> PluginSearchPath(Env& env, const std::string& plugin_dir) {
  if (!plugin_dir.empty()) return {plugin_dir};
  std::vector<std::string> dirs;
  if (std::optional<std::string> all = env.GetEnv("LIVEPOLL_PLUGIN_PATH"); all && !all->empty()) {
    size_t start = 0;
    while (start <= all->size()) {
      size_t end = all->find(':', start);
      if (end == std::string::npos) end = all->size();
      if (end > start) dirs.push_back(all->substr(start, end - start));  // "a::b" skips the gap
      start = end + 1;
    }
    return dirs;
  }
  if (std::string exe = ExeDir(); !exe.empty()) {
    dirs.push_back((std::filesystem::path(exe).parent_path() / LIVEPOLL_PLUGIN_INSTALL_REL)
                       .lexically_normal()
                       .string());
  }
  dirs.push_back(LIVEPOLL_BUILD_PLUGIN_DIR);
  return dirs;
}

Result<std::string> FindPlugin(const std::string& name,
                               const std::vector<std::string>& search_path) {
  if (name.empty()) return Status::InvalidArgument("empty data-source plugin name");
  if (name.find('/') != std::string::npos) return name;
  for (const auto& dir : search_path) {
    std::string candidate = dir + "/" + name + ".so";
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  const std::string searched = Join(search_path, ", ");
  return Status::NotFound("data-source plugin '" + name + "' not found (looked for " + name +
                          ".so in: " + (searched.empty() ? "no folders" : searched) +
                          "); set --plugin-dir or LIVEPOLL_PLUGIN_PATH");
}

}  // namespace livepoll::source
