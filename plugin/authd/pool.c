/*
 * pool.c - bounded worker pool: N threads, one mutex-protected ring of
 * pending items, one condition variable (work available or stopping).
 *
 * Interface: pool_new, pool_submit, pool_waiting, pool_capacity,
 * pool_stalled_ms, pool_drain_free (see pool.h).  pool_submit never blocks: a full queue is
 * EAGAIN so that the caller (the accept loop) can refuse the request and
 * log it instead of stalling.
 *
 * Diagnostics: none; errno values are returned.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "pool.h"

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* an item was queued, or stopping */
    void **ring;
    size_t cap, head, count;
    size_t busy;         /* items being worked on */
    int64_t progress_ms; /* last item finished, or work arrived at an idle pool */
    int stopping;
    pool_fn fn;
    void *arg;
    unsigned nthreads; /* started */
    pthread_t *threads;
};

static int64_t pool_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *pool_worker(void *arg)
{
    pool *p = arg;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->count == 0 && !p->stopping)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->count == 0)
            break; /* stopping and drained */
        void *item = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        p->busy++;
        pthread_mutex_unlock(&p->mu);
        p->fn(item, p->arg);
        pthread_mutex_lock(&p->mu);
        p->busy--;
        p->progress_ms = pool_now_ms();
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int pool_new(unsigned threads, size_t capacity, pool_fn fn, void *arg, pool **out)
{
    pool *p = NULL;
    int rc = EINVAL;

    *out = NULL;
    if (threads == 0 || capacity == 0 || fn == NULL)
        goto out;
    rc = ENOMEM;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        goto out;
    p->cap = capacity;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    if ((p->ring = calloc(capacity, sizeof(*p->ring))) == NULL ||
        (p->threads = calloc(threads, sizeof(*p->threads))) == NULL)
        goto out;
    for (unsigned i = 0; i < threads; i++) {
        rc = pthread_create(&p->threads[i], NULL, pool_worker, p);
        if (rc != 0)
            goto out;
        p->nthreads++;
    }
    rc = 0;
    *out = p;
    p = NULL;
out:
    pool_drain_free(p);
    return rc;
}

int pool_submit(pool *p, void *item)
{
    int rc = 0;

    pthread_mutex_lock(&p->mu);
    if (p->stopping)
        rc = ESHUTDOWN;
    else if (p->count == p->cap)
        rc = EAGAIN;
    else {
        if (p->count + p->busy == 0)
            p->progress_ms = pool_now_ms();
        p->ring[(p->head + p->count) % p->cap] = item;
        p->count++;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

size_t pool_waiting(pool *p)
{
    size_t n;

    pthread_mutex_lock(&p->mu);
    n = p->count;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int64_t pool_stalled_ms(pool *p, int64_t now_ms)
{
    int64_t ms = 0;

    pthread_mutex_lock(&p->mu);
    if (p->count + p->busy > 0 && now_ms > p->progress_ms)
        ms = now_ms - p->progress_ms;
    pthread_mutex_unlock(&p->mu);
    return ms;
}

size_t pool_capacity(const pool *p)
{
    return p->cap;
}

void pool_drain_free(pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p->ring);
    free(p);
}
