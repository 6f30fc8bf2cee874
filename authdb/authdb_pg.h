/*
 * authdb_pg.h - the PostgreSQL side of authgate (library authdb_pg, the
 * only code that links libpq): a central store with the same content as a
 * store directory, and the sync that makes a node's store directory follow
 * it.
 *
 * Only authgatectl and authgate-sync link this library.  A program that
 * did not (the SASL plugin, authgate-milter, authgate-authd, the query
 * daemon) cannot open a postgresql:// store: authdb_open() answers
 * AUTHDB_ENOSTORE.
 *
 * Central store: the tables of schema "authgate" hold exactly the keys and
 * values of a store directory's LMDB databases (secrets_meta,
 * secrets_users, policy_meta, policy_rules, policy_ruleidx,
 * policy_domains; key bytea / value bytea, ordered bytewise like LMDB).
 * Triggers log every change in authgate.changes (seq, table, key) under
 * one advisory lock, so sequence numbers are assigned in commit order, and
 * pg_notify('authgate_changes', seq) tells listeners at commit.
 * Connection strings are libpq's (URI or service); credentials come from
 * libpq's own files (PGPASSFILE, the service file) or peer
 * authentication, never from the command line.
 */
#ifndef AUTHDB_PG_H
#define AUTHDB_PG_H

#include <stddef.h>
#include <stdint.h>

#include "authdb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The central schema version this build creates and reads. */
#define AUTHDB_PG_SCHEMA 1

/* Link the PostgreSQL backend into this program: after this call (it
 * does nothing else) authdb_open() and authdb_create() accept
 * "postgresql://..." and "postgres://..." stores.  Returns AUTHDB_OK. */
int authdb_pg_register(void);

/* Migrate the central schema to AUTHDB_PG_SCHEMA, in one transaction.
 * *from and *to get the versions (equal: nothing to do).  A newer schema
 * is AUTHDB_ENEWER; why names the problem. */
int authdb_pg_upgrade(const char *uri, unsigned *from, unsigned *to, char *why, size_t whylen);

/* ---------------------------------------------------------------------
 * Sync (pgsync.c): a node's store directory follows the central store.
 *
 * A round reads, in one REPEATABLE READ snapshot of the central store,
 * the current values of every key changed since the node's last applied
 * sequence number (or everything, for a full load), validates each one as
 * authdb would have written it, and applies them together with the new
 * sequence number in one write transaction per environment (secrets first,
 * with the journal of the policy changes, then policy, as authdb_write), so
 * a reader sees each environment before or after a round, never part of
 * one; a sync killed between the two commits has its round completed by
 * the next write open of the node, and one killed at any other point starts
 * again from what was committed.  A value that fails validation is not
 * applied (the node keeps what it had for that key) and is reported.
 */
typedef struct authdb_sync authdb_sync;

enum authdb_sync_flags {
    AUTHDB_SYNC_SECRETS = 1 << 0, /* follow the secrets tables too (else policy only) */
    AUTHDB_SYNC_RESYNC = 1 << 1,  /* full load even if the node is up to date or drifted */
};

typedef struct authdb_sync_opts {
    unsigned flags;
    /* Called for every rejected key and for notable events; prio is a
     * syslog priority.  msg is escaped already.  May be NULL. */
    void (*log)(void *arg, int prio, const char *msg);
    void *log_arg;
} authdb_sync_opts;

typedef struct authdb_sync_result {
    uint64_t applied_seq; /* the node's sequence number after the round */
    uint64_t central_seq; /* the central store's newest sequence number */
    int full;             /* 1: a full load was done */
    size_t keys;          /* keys read from the central store */
    size_t written;       /* keys written or deleted on the node */
    size_t rejected;      /* keys that failed validation (not applied) */
} authdb_sync_result;

/* Connect to the central store (libpq connection string or URI).  On
 * failure why names the problem (libpq's message). */
int authdb_sync_connect(const char *conninfo, authdb_sync **out, char *why, size_t whylen);
void authdb_sync_close(authdb_sync *s);
/* LISTEN for change notifications; then authdb_sync_wait() waits for one
 * (1), for timeout_ms to pass (0), or fails (a status code). */
int authdb_sync_listen(authdb_sync *s);
int authdb_sync_wait(authdb_sync *s, int timeout_ms);

/* One round (see above) on node, a store directory opened with
 * AUTHDB_BOTH | AUTHDB_WRITE.  Returns AUTHDB_OK, AUTHDB_EMANAGED when the
 * node was written locally since it was last synced (drift: nothing is
 * applied until a round with AUTHDB_SYNC_RESYNC), AUTHDB_EREMOTE when the
 * central store failed (the connection is then closed: reconnect), or a
 * node store error.  why gets a sentence on failure. */
int authdb_sync_round(authdb_sync *s, authdb *node, const authdb_sync_opts *o,
                      authdb_sync_result *r, char *why, size_t whylen);

/* The central store's newest change sequence number. */
int authdb_sync_central_seq(authdb_sync *s, uint64_t *seq, char *why, size_t whylen);

/* What a node's store says about its sync (any store directory handle). */
typedef struct authdb_sync_state {
    char central[65];     /* id of the central store followed ("" unmanaged) */
    uint64_t seq_secrets; /* last sequence number applied, per environment */
    uint64_t seq_policy;
    int64_t drift; /* time of a forced local write since the last resync (0: none) */
} authdb_sync_state;
int authdb_sync_state_get(authdb *node, authdb_sync_state *out);

#ifdef __cplusplus
}
#endif
#endif /* AUTHDB_PG_H */
