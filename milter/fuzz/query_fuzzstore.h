/*
 * query_fuzzstore.h - the store and configuration authgate-query's fuzz
 * targets decide against: a real LMDB store made once in a temp dir
 * (removed at exit) with a few rules and a local domain, opened read-only
 * on the policy environment as the daemon does; the default
 * configuration.  Aborts when the store cannot be made.
 */
#ifndef AUTHGATE_QUERY_FUZZSTORE_H
#define AUTHGATE_QUERY_FUZZSTORE_H

#include "authdb.h"

authdb *query_fuzz_store(void);
const authdb_conf *query_fuzz_conf(void);

#endif
