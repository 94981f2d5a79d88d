// What a configuration file means (livepoll.conf(5)): its [node], [source.NAME] and [query.NAME]
// sections, read from the INI syntax of ini.h. ParseConfigText (config.h) and the command line's
// --config both come here.
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "livepoll/status.h"

namespace livepoll::config {

// Reads the file's `text` into `config`: [node] keys over what config.node holds, and the sources
// and queries. Errors are InvalidArgument, the first in the file, each naming `file` and, where
// there is one, the section and key ("FILE: [SECTION] KEY: ...") or the line ("FILE: line N:
// ..."). Checks every key and section, the required keys, that each query's source exists and
// that its params appear in its sql; not CheckCluster (node_keys.h), which waits for the command
// line. On error `config` holds part of the file.
Status ApplyFileText(const std::string& file, std::string_view text, Config& config);

// The queries' access keys against [node] token_secret, checked once the file and the command line
// are both read: auth = token, bind.* and allow need a token_secret; a query with auth = none
// takes neither bind.* nor allow. Errors are InvalidArgument "[query.Q] KEY: ...".
Status CheckAccess(const Config& config);

}  // namespace livepoll::config
