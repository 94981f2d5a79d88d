/*
 * livepoll data-source plugin ABI.
 *
 * A data-source plugin is a shared object that livepolld loads with dlopen(3). It exports one C
 * function, LIVEPOLL_SOURCE_ENTRY_SYMBOL ("livepoll_source_entry"), returning a pointer to a
 * static `lp_source_plugin` that lives as long as the library is loaded.
 *
 * Versioning rules (the loader enforces them before it reads anything else):
 *  - The first two fields, `struct_size` and `abi_major`, never move and never change type.
 *  - `abi_major` must equal the host's LIVEPOLL_SOURCE_ABI_MAJOR. A new major version is a
 *    break: old plugins are refused with a message naming the file and both versions.
 *  - Within one major version the struct only grows at its end (a new minor version). The host
 *    reads a field only if `struct_size` covers it, so an older plugin keeps loading; a plugin
 *    whose `struct_size` does not reach the last field of ABI 1.0 (LIVEPOLL_SOURCE_V1_0_SIZE) is
 *    refused.
 *
 * Boundary rules: only C types cross it. Strings are pointer + length (not NUL-terminated unless
 * said). No exception may escape a callback: catch everything and report it as error text.
 * Errors are returned as a non-zero int with a message written (NUL-terminated, truncated to fit)
 * into the caller's `err` buffer of `err_cap` bytes.
 *
 * Threading: the host calls `open` from any thread. One connection is used by one thread at a time;
 * different connections may be used concurrently. A statement belongs to its connection.
 */
#ifndef LIVEPOLL_SOURCE_H
#define LIVEPOLL_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIVEPOLL_SOURCE_ABI_MAJOR 1
#define LIVEPOLL_SOURCE_ABI_MINOR 1
#define LIVEPOLL_SOURCE_ENTRY_SYMBOL "livepoll_source_entry"

/* Value types, as in lp_value.type. Numbers are part of the ABI. */
enum {
  LP_NULL = 0,
  LP_INT = 1,  /* int64 */
  LP_REAL = 2, /* double */
  LP_TEXT = 3, /* UTF-8 bytes, pointer + length */
  LP_BLOB = 4, /* raw bytes, pointer + length */
  LP_BOOL = 5  /* 0 or 1 in `i` */
};

typedef struct lp_value {
  int32_t type; /* one of LP_* */
  int32_t reserved;
  union {
    int64_t i; /* LP_INT, LP_BOOL */
    double r;  /* LP_REAL */
    struct {
      const char* data;
      size_t len;
    } s; /* LP_TEXT, LP_BLOB: valid only for the duration of the call */
  } u;
} lp_value;

typedef struct lp_str {
  const char* data;
  size_t len;
} lp_str;

/* Log levels for lp_host.log. */
enum { LP_LOG_DEBUG = 0, LP_LOG_INFO = 1, LP_LOG_WARN = 2, LP_LOG_ERROR = 3 };

/* What the host lends the plugin. Valid from `open` until the matching `close`. */
typedef struct lp_host {
  uint32_t struct_size; /* sizeof(lp_host) as the host was built */
  uint32_t abi_major;
  void* ctx;
  void (*log)(void* ctx, int level, const char* msg, size_t len);
} lp_host;

/* Where a query streams its result. Return 0 to go on, non-zero to stop (the host ran out of
 * room, for example); the plugin then returns an error from `query`. Pointers in the arguments are
 * valid only during the call. `columns` is called once, before any `row`, even for no rows. */
typedef struct lp_sink {
  void* ctx;
  int (*columns)(void* ctx, const lp_str* names, size_t count);
  int (*row)(void* ctx, const lp_value* values, size_t count);
} lp_sink;

/* Where a multiplexed query (query_batch, ABI 1.1) streams its result: the sink above with each
 * row tagged by the index of the parameter set it belongs to. The same rules otherwise: return 0
 * to go on, non-zero to stop; pointers valid only during the call; `columns` once, before any
 * `row`, even for no rows at all. */
typedef struct lp_batch_sink {
  void* ctx;
  int (*columns)(void* ctx, const lp_str* names, size_t count);
  int (*row)(void* ctx, size_t set, const lp_value* values, size_t count);
} lp_batch_sink;

typedef struct lp_connection lp_connection; /* opaque, the plugin's */
typedef struct lp_statement lp_statement;   /* opaque, the plugin's */

typedef struct lp_source_plugin {
  /* ---- never move these two ---- */
  uint32_t struct_size; /* sizeof(lp_source_plugin) as the plugin was built */
  uint32_t abi_major;   /* LIVEPOLL_SOURCE_ABI_MAJOR the plugin was built against */
  /* ---- ABI 1.0 ---- */
  uint32_t abi_minor;
  uint32_t reserved;
  const char* name;    /* NUL-terminated, e.g. "soci"; matches `plugin =` in the config */
  const char* version; /* NUL-terminated, the plugin's own version, for `livepoll plugins` */

  /* Connect to `dsn` (NUL-terminated, the plugin's own syntax). */
  int (*open)(const lp_host* host, const char* dsn, lp_connection** out, char* err, size_t err_cap);
  void (*close)(lp_connection* conn);

  /* Prepare `sql` whose parameters are named `:name` in the SQL text. `param_names` lists them in
   * the order `query` will pass their values. A plugin must refuse SQL that names a parameter not
   * in the list, or a list entry the SQL does not use, so the catalog is checked when it loads. */
  int (*prepare)(lp_connection* conn, const char* sql, const lp_str* param_names,
                 size_t param_count, lp_statement** out, char* err, size_t err_cap);
  /* Run a prepared statement with values for its parameters and stream the rows into `sink`.
   * Values are bound, never spliced into the SQL text. */
  int (*query)(lp_statement* stmt, const lp_value* params, size_t param_count, const lp_sink* sink,
               char* err, size_t err_cap);
  void (*finalize)(lp_statement* stmt);

  /* ---- ABI 1.1 (optional: the host reads it only when struct_size covers it, and a NULL or
   * absent entry means "not provided": the host then runs `query` once per parameter set) ---- */

  /* Multiplexed polling: runs the prepared statement once for `set_count` parameter sets, as ONE
   * statement where the database allows it, and streams every set's rows into `sink`.
   *  - `params` holds set_count * param_count values, set by set: set i's values are
   *    params[i * param_count .. (i + 1) * param_count - 1], in the order of `param_names` at
   *    prepare. `param_count` is the statement's, as for `query`. `set_count` >= 1.
   *  - `columns` is called once with the query's own columns (the same names `query` would send:
   *    no column for the set index), then `row` for each row with `set` < set_count. Rows of one
   *    set come in the order `query` would give them for that set alone; sets may interleave.
   *  - The result must equal, set by set, what `query` returns for that set's values (same
   *    columns, rows, value types), read from one snapshot of the database where it has them.
   *  - Returning 0 means every set succeeded: a set given no row has an empty result (no rows).
   *    Non-zero (with `err` set) means the whole batch failed: the host uses no row of any set
   *    and fails each set with that error. A plugin must not return 0 after a partial run.
   *  - A `row` with `set` >= set_count, or of the wrong width, breaks the contract: the host
   *    stops the batch and fails every set. */
  int (*query_batch)(lp_statement* stmt, const lp_value* params, size_t param_count,
                     size_t set_count, const lp_batch_sink* sink, char* err, size_t err_cap);
  /* ---- later minor versions append here ---- */
} lp_source_plugin;

/* The smallest struct_size the host accepts for major version 1: up to and including `finalize`. */
#define LIVEPOLL_SOURCE_V1_0_SIZE \
  (offsetof(lp_source_plugin, finalize) + sizeof(((lp_source_plugin*)0)->finalize))

/* The struct_size that holds ABI 1.1's `query_batch`. */
#define LIVEPOLL_SOURCE_V1_1_SIZE \
  (offsetof(lp_source_plugin, query_batch) + sizeof(((lp_source_plugin*)0)->query_batch))

typedef const lp_source_plugin* (*lp_source_entry_fn)(void);

#ifdef __cplusplus
}
#define LIVEPOLL_SOURCE_EXPORT extern "C" __attribute__((visibility("default")))
#else
#define LIVEPOLL_SOURCE_EXPORT __attribute__((visibility("default")))
#endif

/* A plugin defines its entry point as:
 *   LIVEPOLL_SOURCE_EXPORT const lp_source_plugin* livepoll_source_entry(void) { return &plugin; }
 */

#endif /* LIVEPOLL_SOURCE_H */
