// The [node] keys: one table row each, read by the file (config_file.h) and by the command line
// (command_line.cpp, which also builds --help from it), so that a key and its option cannot
// drift apart. man/livepolld.8 and man/livepoll.conf.5 list the same keys.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "config/config.h"
#include "livepoll/status.h"

namespace livepoll::config {

struct NodeKey {
  const char* ini;   // key in [node]
  const char* cli;   // long option, without "--"
  const char* arg;   // value placeholder shown by --help
  const char* help;  // the --help text
  // Checks `value` and sets it in the node; an error is the message alone (values.h).
  Status (*set)(NodeConfig& node, const std::string& value);
  // The value of the bare option (`--insecure` alone), or nullptr: the option needs a value.
  const char* implicit = nullptr;
};

// Every [node] key, in --help order.
std::span<const NodeKey> NodeKeys();

// The row of the [node] key `ini`; nullptr when there is none.
const NodeKey* FindNodeKey(std::string_view ini);

// The message for a [node] key that is not in the table: "unknown key (expected name, ...)".
std::string UnknownNodeKey();

// The node keys that only make sense together (both binds or neither, join only in a cluster,
// gossip_interval < suspect_after < dead_after, max_result_bytes under max_message_size).
// Checked once every key is set, since the file and the command line may each give one half.
Status CheckCluster(const NodeConfig& node);

// Secure by default: an error naming the first tcp:// bind that is not on loopback (127.0.0.0/8,
// ::1, localhost; a wildcard is not) while no keys protect it: the cluster's and the client
// endpoint need secret_key, the admin endpoint secret_key and admin_keys. `insecure` allows them.
// ipc:// endpoints are local.
Status CheckExposure(const NodeConfig& node);

// The WebSocket gateway has no CurveZMQ (nor TLS: put a TLS proxy in front of it): a ws_bind off
// loopback is refused unless every query of the catalog needs a token (NeedsToken), or
// `insecure`. An error names the first query that does not. Call it with the whole catalog (the
// demo's queries added).
Status CheckWsExposure(const Config& config);

// Whether a tcp:// endpoint's host is loopback (true for anything that is not tcp://).
bool IsLoopbackEndpoint(const std::string& endpoint);

}  // namespace livepoll::config
