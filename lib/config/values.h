// The checks of single values that the [node] keys and the catalog share. Each error is
// InvalidArgument with the message alone ("'x' is not ..."): the caller adds where the value
// came from ("FILE: [SECTION] KEY: " or "--option: ").
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "livepoll/status.h"

namespace livepoll::config {

// `s` without leading and trailing spaces and tabs.
std::string Trim(std::string_view s);

// A whole number in [lo, hi], nothing else around it.
Result<int> ParseInt(const std::string& text, int lo, int hi);

// "a, b ,c" -> {a, b, c}; an empty text is an empty list. Empty or repeated items are refused,
// and with `identifiers` an item that is not one (letters, digits, _, not starting with a digit).
Result<std::vector<std::string>> ParseList(const std::string& text, bool identifiers);

// A source or query name: letters, digits, _ and -, since it ends up in topics and logs.
bool IsName(std::string_view s);

// Roughly a ZeroMQ endpoint (`transport://address`); ZeroMQ itself says more when binding.
Status CheckEndpoint(const std::string& v);

// ParseDuration (livepoll/duration.h) into `out`; `out` is unchanged on error.
Status SetDuration(std::chrono::milliseconds& out, const std::string& v);
// The same, refusing 0: a timer of 0 would fire in a busy loop.
Status SetPositiveDuration(std::chrono::milliseconds& out, const std::string& v);

// A size in bytes in [lo, hi]: a whole number, optionally followed by B, KiB, MiB or GiB (K, M,
// G: the same powers of 1024), e.g. 4096, 4KiB, 16MiB.
Result<uint64_t> ParseSize(const std::string& text, uint64_t lo, uint64_t hi);

}  // namespace livepoll::config
