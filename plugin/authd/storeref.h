/*
 * storeref.h - the daemon's one store handle, shared by the workers.
 *
 * Workers hold a read lock for the length of one verification; reopening
 * (SIGHUP, or a store that was missing) takes the write lock, so the old
 * handle is closed before the new one is opened: LMDB forbids two handles
 * on one environment in a process.  While the store cannot be opened,
 * storeref_acquire() returns NULL with the reason, and retries the open at
 * most once per STOREREF_RETRY_MS.
 */
#ifndef AUTHD_STOREREF_H
#define AUTHD_STOREREF_H

#include <stddef.h>

#include "authdb.h"

#define STOREREF_RETRY_MS 1000

typedef struct storeref storeref;

/* Create the holder and try to open dir (AUTHDB_SECRETS, read-only).
 * Returns 0 or ENOMEM; an open failure is not an error here: *why gets it
 * (empty when the store opened) and requests fail temporarily until it
 * opens. */
int storeref_new(const char *dir, storeref **out, char *why, size_t whylen);

/* The handle for one verification (read lock held until
 * storeref_release), or NULL with the reason copied to why.  Always pair
 * with storeref_release(), also when NULL is returned. */
authdb *storeref_acquire(storeref *s, char *why, size_t whylen);
void storeref_release(storeref *s);

/* Close the handle and open dir (which may differ).  Waits for running
 * verifications.  Returns the authdb_open() code; why as for _new. */
int storeref_reload(storeref *s, const char *dir, char *why, size_t whylen);

/* Close and free; NULL is fine.  No verification may be running. */
void storeref_free(storeref *s);

#endif /* AUTHD_STOREREF_H */
