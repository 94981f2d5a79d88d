// Where data-source plugins are found: the search path and the lookup of a plugin's name in it
// (livepoll-source(7), FINDING PLUGINS).
#pragma once

#include <string>
#include <vector>

#include "env/env.h"
#include "livepoll/status.h"

namespace livepoll::source {

// The folders searched for plugins, in order: `plugin_dir` if it is not empty; else each entry of
// the LIVEPOLL_PLUGIN_PATH environment variable (read through `env`; colon-separated, empty
// entries skipped) if it is set and not empty; else the install folder relative to the running
// executable (<exe>/../lib/livepoll/plugins, left out when /proc/self/exe cannot be read) and the
// build tree's folder.
std::vector<std::string> PluginSearchPath(Env& env, const std::string& plugin_dir);

// Finds plugin `name`: a path containing '/' is taken as it is; otherwise `<dir>/<name>.so` in
// the first folder of `search_path` that has it as a regular file. InvalidArgument for an empty
// name; NotFound lists the folders searched.
Result<std::string> FindPlugin(const std::string& name,
                               const std::vector<std::string>& search_path);

}  // namespace livepoll::source
