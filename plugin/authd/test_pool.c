/*
 * test_pool.c - unit tests for pool.c: every item runs exactly once and in
 * order on one thread, the queue refuses (EAGAIN) past its capacity while
 * workers are busy, workers really run in parallel, pool_drain_free
 * finishes what was queued, and pool_stalled_ms tells a stuck pool from a
 * busy or idle one (the watchdog's health test).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pool.h"

struct rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int gate_open; /* workers wait for it when non-zero "gated" */
    int gated;
    unsigned inside; /* workers currently inside fn */
    unsigned max_inside;
    unsigned ran[64];
    unsigned order[64];
    unsigned norder;
};

static void rec_fn(void *item, void *arg)
{
    struct rec *r = arg;
    unsigned i = (unsigned)(uintptr_t)item;

    pthread_mutex_lock(&r->mu);
    r->inside++;
    if (r->inside > r->max_inside)
        r->max_inside = r->inside;
    pthread_cond_broadcast(&r->cv);
    while (r->gated && !r->gate_open)
        pthread_cond_wait(&r->cv, &r->mu);
    r->ran[i]++;
    r->order[r->norder++] = i;
    r->inside--;
    pthread_mutex_unlock(&r->mu);
}

static void rec_init(struct rec *r, int gated)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->gated = gated;
}

/* Wait (at most 5 s) until `n` workers are inside fn. */
static int wait_inside(struct rec *r, unsigned n)
{
    struct timespec dl;
    int ok = 1;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&r->mu);
    while (r->inside < n && ok)
        ok = pthread_cond_timedwait(&r->cv, &r->mu, &dl) == 0;
    pthread_mutex_unlock(&r->mu);
    return r->inside >= n;
}

static void open_gate(struct rec *r)
{
    pthread_mutex_lock(&r->mu);
    r->gate_open = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void test_fifo_once(void **state)
{
    (void)state;
    struct rec r;
    pool *p;
    rec_init(&r, 0);
    assert_int_equal(pool_new(1, 64, rec_fn, &r, &p), 0);
    for (unsigned i = 0; i < 40; i++)
        assert_int_equal(pool_submit(p, (void *)(uintptr_t)i), 0);
    pool_drain_free(p);
    for (unsigned i = 0; i < 40; i++) {
        if (r.ran[i] != 1)
            fail_msg("item %u ran %u times, want 1", i, r.ran[i]);
        if (r.order[i] != i)
            fail_msg("position %u: got item %u, want %u", i, r.order[i], i);
    }
}

static void test_capacity(void **state)
{
    (void)state;
    struct rec r;
    pool *p;
    rec_init(&r, 1);
    assert_int_equal(pool_new(2, 3, rec_fn, &r, &p), 0);
    assert_int_equal(pool_capacity(p), 3);
    /* Two items occupy both workers... */
    assert_int_equal(pool_submit(p, (void *)0), 0);
    assert_int_equal(pool_submit(p, (void *)1), 0);
    assert_true(wait_inside(&r, 2));
    /* ...three more wait, the sixth is refused. */
    for (uintptr_t i = 2; i < 5; i++)
        assert_int_equal(pool_submit(p, (void *)i), 0);
    assert_int_equal(pool_waiting(p), 3);
    int rc = pool_submit(p, (void *)5);
    if (rc != EAGAIN)
        fail_msg("submit past capacity: got %d, want EAGAIN (%d)", rc, EAGAIN);
    open_gate(&r);
    pool_drain_free(p); /* finishes the queued items */
    for (unsigned i = 0; i < 5; i++)
        if (r.ran[i] != 1)
            fail_msg("item %u ran %u times, want 1", i, r.ran[i]);
    assert_int_equal(r.ran[5], 0);
}

static void test_parallel(void **state)
{
    (void)state;
    struct rec r;
    pool *p;
    rec_init(&r, 1);
    assert_int_equal(pool_new(4, 8, rec_fn, &r, &p), 0);
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pool_submit(p, (void *)i), 0);
    if (!wait_inside(&r, 4))
        fail_msg("workers inside at once: got %u, want 4", r.inside);
    open_gate(&r);
    pool_drain_free(p);
    assert_int_equal(r.max_inside, 4);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_stalled(void **state)
{
    (void)state;
    struct rec r;
    struct timespec pause = {0, 200 * 1000000};
    pool *p;
    int64_t st;

    rec_init(&r, 1);
    assert_int_equal(pool_new(1, 4, rec_fn, &r, &p), 0);
    /* idle: never stalled, whatever the clock says */
    assert_int_equal(pool_stalled_ms(p, now_ms() + 100000), 0);
    /* one item stuck in the only worker, one waiting */
    assert_int_equal(pool_submit(p, (void *)0), 0);
    assert_int_equal(pool_submit(p, (void *)1), 0);
    assert_true(wait_inside(&r, 1));
    nanosleep(&pause, NULL);
    st = pool_stalled_ms(p, now_ms());
    if (st < 150 || st > 5000)
        fail_msg("stuck worker: stalled %lld ms, want about 200", (long long)st);
    /* progress resets it; idle again is 0 */
    open_gate(&r);
    pool_drain_free(p);

    rec_init(&r, 0);
    assert_int_equal(pool_new(2, 8, rec_fn, &r, &p), 0);
    for (uintptr_t i = 0; i < 8; i++)
        assert_int_equal(pool_submit(p, (void *)i), 0);
    for (int k = 0; k < 100 && r.norder < 8; k++)
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
    assert_int_equal(r.norder, 8);
    assert_int_equal(pool_stalled_ms(p, now_ms() + 100000), 0);
    pool_drain_free(p);
}

static void test_bad_args(void **state)
{
    (void)state;
    pool *p = (pool *)1;
    assert_int_equal(pool_new(0, 1, rec_fn, NULL, &p), EINVAL);
    assert_null(p);
    assert_int_equal(pool_new(1, 0, rec_fn, NULL, &p), EINVAL);
    pool_drain_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_once), cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_parallel),  cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_stalled),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
