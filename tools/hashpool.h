/*
 * hashpool.h - run a slow per-item function over n items on several
 * threads (secret derivation for bulk imports).
 *
 * Items are handed out one at a time from a shared atomic counter, so a
 * slow item never leaves a thread idle while others remain.  fn must be
 * thread-safe and record its outcome in the item itself.
 */
#ifndef AUTHGATECTL_HASHPOOL_H
#define AUTHGATECTL_HASHPOOL_H

#include <stddef.h>

typedef void (*hashpool_fn)(size_t i, void *arg);

/* Run fn(i, arg) for every i in [0, n) on up to threads threads (the
 * calling thread is one of them).  If threads cannot be created, the rest
 * of the work runs in the caller: the result is the same, only slower.
 * Returns the number of threads that took part. */
unsigned hashpool_run(size_t n, unsigned threads, hashpool_fn fn, void *arg);

/* Online CPUs (at least 1). */
unsigned hashpool_cpus(void);

#endif
