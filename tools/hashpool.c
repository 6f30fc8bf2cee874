/*
 * hashpool.c - a fixed set of pthreads sharing an atomic work counter (see
 * hashpool.h).
 *
 * Interface: hashpool_run, hashpool_cpus.  No diagnostics: a failed
 * pthread_create only means fewer threads.
 */
#include "hashpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define HASHPOOL_MAX_THREADS 256

struct hashpool {
    atomic_size_t next;
    size_t n;
    hashpool_fn fn;
    void *arg;
};

static void *hashpool_worker(void *p)
{
    struct hashpool *pool = p;
    size_t i;

    while ((i = atomic_fetch_add(&pool->next, 1)) < pool->n)
        pool->fn(i, pool->arg);
    return NULL;
}

unsigned hashpool_run(size_t n, unsigned threads, hashpool_fn fn, void *arg)
{
    pthread_t tid[HASHPOOL_MAX_THREADS];
    struct hashpool pool;
    unsigned started = 0;

    atomic_init(&pool.next, 0);
    pool.n = n;
    pool.fn = fn;
    pool.arg = arg;
    if (threads > HASHPOOL_MAX_THREADS)
        threads = HASHPOOL_MAX_THREADS;
    if (threads > n)
        threads = n > 0 ? (unsigned)n : 1;
    for (unsigned t = 1; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, hashpool_worker, &pool) != 0)
            break;
        started++;
    }
    hashpool_worker(&pool);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    return started + 1;
}

unsigned hashpool_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (unsigned)n : 1;
}
