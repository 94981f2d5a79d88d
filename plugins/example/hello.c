/* hello: the smallest complete livepoll data-source plugin (see livepoll-source(7)).
 * Every query returns one row with one text column, greeting = "hello, <dsn>".
 * Build it out of tree against the installed header: make LIVEPOLL_PREFIX=/usr/local */
#include <livepoll/source.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lp_connection {
  char greeting[256];
};

struct lp_statement {
  lp_connection* conn;
};

static int hello_open(const lp_host* host, const char* dsn, lp_connection** out, char* err,
                      size_t err_cap) {
  lp_connection* conn = malloc(sizeof(*conn));
  if (conn == NULL) {
    snprintf(err, err_cap, "out of memory");
    return 1;
  }
  snprintf(conn->greeting, sizeof(conn->greeting), "hello, %s", dsn);
  if (host->log != NULL) host->log(host->ctx, LP_LOG_DEBUG, "opened", 6);
  *out = conn;
  return 0;
}

static void hello_close(lp_connection* conn) { free(conn); }

static int hello_prepare(lp_connection* conn, const char* sql, const lp_str* param_names,
                         size_t param_count, lp_statement** out, char* err, size_t err_cap) {
  lp_statement* stmt;
  (void)sql, (void)param_names;
  if (param_count > 0) { /* this source has no parameters, so any listed one is unused */
    snprintf(err, err_cap, "hello takes no parameters");
    return 1;
  }
  stmt = malloc(sizeof(*stmt));
  if (stmt == NULL) {
    snprintf(err, err_cap, "out of memory");
    return 1;
  }
  stmt->conn = conn;
  *out = stmt;
  return 0;
}

static int hello_query(lp_statement* stmt, const lp_value* params, size_t param_count,
                       const lp_sink* sink, char* err, size_t err_cap) {
  lp_str column = {"greeting", 8};
  lp_value value;
  (void)params, (void)param_count;
  memset(&value, 0, sizeof(value));
  value.type = LP_TEXT;
  value.u.s.data = stmt->conn->greeting;
  value.u.s.len = strlen(stmt->conn->greeting);
  if (sink->columns(sink->ctx, &column, 1) != 0 || sink->row(sink->ctx, &value, 1) != 0) {
    snprintf(err, err_cap, "the host stopped the query");
    return 1;
  }
  return 0;
}

static void hello_finalize(lp_statement* stmt) { free(stmt); }

static const lp_source_plugin plugin = {
    sizeof(lp_source_plugin),  /* struct_size: lets a newer host know which fields exist */
    LIVEPOLL_SOURCE_ABI_MAJOR, /* abi_major: checked before anything else is read */
    LIVEPOLL_SOURCE_ABI_MINOR,
    0,
    "hello",
    "1.0",
    hello_open,
    hello_close,
    hello_prepare,
    hello_query,
    hello_finalize,
    NULL}; /* query_batch (ABI 1.1, optional): without it, one query per parameter set */

LIVEPOLL_SOURCE_EXPORT const lp_source_plugin* livepoll_source_entry(void) { return &plugin; }
