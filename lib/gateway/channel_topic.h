// Channel topics of the gateway: `live:QUERY` or `live:QUERY?NAME=VALUE&...`, the native
// protocol's topic after `live:` (DESIGN.md, "topic"), with NAME and VALUE percent-encoded as in
// a URL's query string (`+` is a space). The join payload's `params` is the other way to give the
// parameters; one or the other, not both.
#pragma once

#include <string>
#include <string_view>

#include "livepoll/status.h"
#include "proto/messages.h"

namespace livepoll::gateway {

inline constexpr std::string_view kTopicPrefix = "live:";

struct ChannelTopic {
  std::string query;
  proto::Params params;     // in the topic's order; the daemon canonicalises them (core/topic.h)
  bool has_params = false;  // the topic had a `?`
  bool operator==(const ChannelTopic&) const = default;
};

// Reads a channel topic. InvalidArgument, naming what is wrong, for a topic without the `live:`
// prefix, an empty query name, a parameter without `=` or with an empty name, or a bad `%XX`.
Result<ChannelTopic> ParseChannelTopic(std::string_view topic);

// Decodes `%XX` and `+` of a URL query string's part; InvalidArgument on a bad escape.
Result<std::string> PercentDecode(std::string_view text);

}  // namespace livepoll::gateway
