/*
 * syncrun.h - one sync round with its bookkeeping, shared by the daemon
 * authgate-sync and "authgatectl sync": open (or create) the node's store,
 * connect to the central store, run authdb_sync_round(), log, and record
 * the outcome in the node's status file <store>/sync.status.
 */
#ifndef AUTHGATE_SYNCRUN_H
#define AUTHGATE_SYNCRUN_H

#include <stdint.h>

#include "authdb.h"
#include "authdb_pg.h"

/* The status file: what authgatectl sync status shows besides the store's
 * own sequence numbers. */
typedef struct syncrun_status {
    int64_t last_attempt, last_success; /* Unix time, 0: never */
    uint64_t central_seq;               /* newest central seq at the last contact */
    uint64_t applied_seq;               /* after the last successful round */
    unsigned long rejected_last;        /* keys rejected by the last applying round */
    unsigned long rejected_total;       /* since the status file was created */
    unsigned long full_loads;
    long pid;             /* of the last writer */
    char last_error[512]; /* "" after a success */
} syncrun_status;

typedef struct syncrun {
    const authdb_conf *conf;
    const char *central; /* connection string */
    const char *store;   /* the node's store directory */
    const authdb_log *lg;
    unsigned flags;    /* AUTHDB_SYNC_* */
    int listen;        /* LISTEN on each new connection (the daemon) */
    authdb_sync *conn; /* kept between rounds; NULL: connect first */
    authdb *node;      /* kept open between rounds */
    syncrun_status st;
} syncrun;

/* Path of the status file of store, into out. */
int syncrun_status_path(const char *store, char *out, size_t outsz);
/* Load the status file (missing: zeros and ENOENT). */
int syncrun_status_load(const char *store, syncrun_status *st);
/* Write it atomically (temporary file + rename), mode 0644. */
int syncrun_status_save(const char *store, const syncrun_status *st);

/* Prepare r (loads the status file). */
void syncrun_init(syncrun *r, const authdb_conf *conf, const char *central, const char *store,
                  const authdb_log *lg, unsigned flags, int listen);
/* One round; logs its outcome and saves the status file.  Returns the
 * authdb status of authdb_sync_round (AUTHDB_EREMOTE: the connection was
 * dropped, the next round reconnects). */
int syncrun_round(syncrun *r, authdb_sync_result *res, char *why, size_t whylen);
void syncrun_done(syncrun *r);

#endif
