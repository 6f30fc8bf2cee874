/*
 * pg_private.h - internals shared by the PostgreSQL modules of authdb_pg
 * (pgconn.c, pgschema.c, pgstore.c, pgsync.c).  Not installed.
 */
#ifndef AUTHDB_PG_PRIVATE_H
#define AUTHDB_PG_PRIVATE_H

#include <libpq-fe.h>

#include "authdb_pg.h"
#include "authdb_private.h"

/* The advisory lock every writer of the central store takes first (in
 * authdb's write transactions and in the change-log trigger), so change
 * sequence numbers are assigned in commit order. */
#define PG_LOCK_KEY "1635087463" /* "autg" */
#define PG_CHANNEL  "authgate_changes"

/* pgconn.c */
int pgconn_open(const char *conninfo, const char *app, PGconn **out, char *why, size_t whylen);
/* Run sql with n parameters.  binary: parameters and results in binary
 * format (bytea as raw octets), else text.  AUTHDB_OK with *out (caller
 * PQclears; NULL allowed when no rows are wanted), or an authdb status
 * with err filled (SQLSTATE 40001/40P01: AUTHDB_EBUSY, 42501: AUTHDB_EPERM,
 * a lost connection or any other failure: AUTHDB_EREMOTE). */
int pgconn_exec(PGconn *c, const char *sql, int n, const char *const *vals, const int *lens,
                int binary, PGresult **out, char *err, size_t errlen);
int pgconn_cmd(PGconn *c, const char *sql, char *err, size_t errlen);
/* Integer of a text-format result cell (0 when NULL). */
uint64_t pgconn_u64(const PGresult *r, int row, int col);
/* The message of the last failure on c, one line. */
const char *pgconn_error(PGconn *c, char *buf, size_t bufsz);

/* pgschema.c */
/* Create the schema (tables, triggers, views, grants) and the meta rows
 * of a new store in one transaction; an existing older schema is
 * migrated; the current one is AUTHDB_EEXIST. */
int pgschema_create(PGconn *c, const authdb_create_opts *o, const char *idhex, char *why,
                    size_t whylen);
/* The schema version (AUTHDB_ENOSTORE with why when there is none,
 * AUTHDB_ENEWER when newer than this build). */
int pgschema_check(PGconn *c, unsigned *version, char *why, size_t whylen);
int pgschema_upgrade(PGconn *c, unsigned *from, unsigned *to, char *why, size_t whylen);

#endif
