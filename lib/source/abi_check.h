// Refusing a plugin before trusting it (cf. PostgreSQL's PG_MODULE_MAGIC, checked in dfmgr.c): the
// checks Plugin::Load runs on the struct a plugin's entry point returned, in the order the ABI
// promises (plugins/include/livepoll/source.h, "Versioning rules").
#pragma once

#include <string>

#include "livepoll/source.h"
#include "livepoll/status.h"

namespace livepoll::source {

// Ok when the host may use `api`, the struct that the entry point of the plugin at `path`
// returned. Otherwise the refusal, naming `path`:
//  - Incompatible: `struct_size` is too small to hold `abi_major`; `abi_major` is not
//    LIVEPOLL_SOURCE_ABI_MAJOR (both versions named); or the struct is shorter than ABI 1.0's
//    (LIVEPOLL_SOURCE_V1_0_SIZE; both sizes and versions named).
//  - InvalidArgument: a required field (name, open, close, prepare, query, finalize) is NULL, or
//    the name is empty.
// Reads `abi_major` only once `struct_size` covers it, and any later field only once both are
// accepted, so a plugin built for another ABI is never read past its header.
// Optional fields of later minor versions (ABI 1.1's query_batch) are not checked: the host reads
// one only when `struct_size` covers it, and treats NULL as "not provided" (plugin.cpp).
// REQUIRES: `api` is not null and points to at least its first `struct_size` bytes.
Status CheckPluginAbi(const std::string& path, const lp_source_plugin* api);

}  // namespace livepoll::source
