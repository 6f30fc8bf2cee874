/*
 * runtime.h - the milter's shared state: configuration generations, the
 * policy store handle, and in-flight message accounting.
 *
 * A generation is one loaded configuration plus the authserv-id derived
 * from it and a reference to the store it names.  Callbacks pin the
 * current generation for the length of a message (runtime_acquire /
 * runtime_release), so SIGHUP can install a new one (runtime_reload)
 * without pulling anything from under a message in progress; the old one is
 * freed when its last message ends.
 *
 * The store is opened lazily, read-only, policy environment only, at most
 * once per path (authdb forbids two handles on one environment); after a
 * failure it is retried at most once per second, and runtime_store()
 * returns NULL meanwhile (the policy then answers 451 4.3.0).
 *
 * Messages in flight are counted so that SIGTERM can drain them:
 * runtime_drain() refuses new messages and waits for the count to reach
 * zero.  Everything here is thread-safe.
 */
#ifndef AUTHGATE_RUNTIME_H
#define AUTHGATE_RUNTIME_H

#include "authdb.h"

typedef struct runtime runtime;
typedef struct storeref storeref;

typedef struct gen {
    authdb_conf *conf;     /* owned, immutable */
    char authserv_id[256]; /* conf->authserv_id, or the host name */
    storeref *store;       /* private */
    unsigned refs;         /* private */
} gen;

/* Take ownership of conf (on success only).  lg must outlive the runtime.
 * Fails (with why) when the authserv-id is not a token. */
int runtime_new(authdb_conf *conf, const authdb_log *lg, runtime **out, char *why, size_t whylen);
/* Free everything; no generation may be pinned any more. */
void runtime_free(runtime *rt);

gen *runtime_acquire(runtime *rt);
void runtime_release(runtime *rt, gen *g);

/* The store of g, or NULL when it cannot be opened right now. */
authdb *runtime_store(runtime *rt, gen *g);

/* Install conf as the current generation (ownership passes on success). */
int runtime_reload(runtime *rt, authdb_conf *conf, char *why, size_t whylen);

/* A message starts: 0, or -1 while draining (refuse the message). */
int runtime_msg_begin(runtime *rt);
void runtime_msg_end(runtime *rt);
/* Refuse new messages and wait up to seconds for those in flight; returns
 * how many were still in flight. */
unsigned runtime_drain(runtime *rt, unsigned seconds);

#endif
