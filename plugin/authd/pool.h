/*
 * pool.h - a fixed set of worker threads taking items from a bounded FIFO
 * queue.  Generic: an item is a pointer handed to the work function, which
 * owns it from then on.
 */
#ifndef AUTHD_POOL_H
#define AUTHD_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct pool pool;

/* Called on a worker thread for each item, in FIFO order of submission. */
typedef void (*pool_fn)(void *item, void *arg);

/* Start `threads` workers (>= 1) with a queue of `capacity` (>= 1) items
 * waiting beyond those being worked on.  Threads inherit the caller's
 * signal mask.  Returns 0 or an errno value (*out NULL). */
int pool_new(unsigned threads, size_t capacity, pool_fn fn, void *arg, pool **out);

/* Queue an item.  Returns 0, EAGAIN when the queue is full, ESHUTDOWN once
 * pool_drain_free() has begun.  On error the caller keeps the item. */
int pool_submit(pool *p, void *item);

/* Milliseconds since the pool last made progress while it had work
 * (items waiting or being worked on): since the last item finished, or
 * since work arrived at an idle pool; 0 when idle.  A large value means
 * every worker is stuck (the watchdog's health test).  now_ms:
 * CLOCK_MONOTONIC milliseconds. */
int64_t pool_stalled_ms(pool *p, int64_t now_ms);

/* Items waiting (not yet taken by a worker), and the capacity. */
size_t pool_waiting(pool *p);
size_t pool_capacity(const pool *p);

/* Refuse new items, let the workers finish every queued item, join them
 * and free the pool.  NULL is fine. */
void pool_drain_free(pool *p);

#endif /* AUTHD_POOL_H */
