/*
 * test_hashpool.c - every item runs exactly once, whatever the thread
 * count; more threads than items; zero items.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hashpool.h"

struct counts {
    atomic_uint seen[1000];
};

static void count_one(size_t i, void *arg)
{
    struct counts *c = arg;
    atomic_fetch_add(&c->seen[i], 1);
}

static void test_each_once(void **state)
{
    static struct counts c;
    const unsigned threads[] = {1, 2, 3, 8, 64};
    const size_t sizes[] = {0, 1, 2, 7, 1000};

    (void)state;
    assert_true(hashpool_cpus() >= 1);
    for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++)
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            unsigned used;
            memset(&c, 0, sizeof(c));
            used = hashpool_run(sizes[s], threads[t], count_one, &c);
            if (used < 1 || used > threads[t] || (sizes[s] > 0 && used > sizes[s]))
                fail_msg("n=%zu threads=%u: used %u threads", sizes[s], threads[t], used);
            for (size_t i = 0; i < 1000; i++) {
                unsigned want = i < sizes[s] ? 1 : 0;
                if (atomic_load(&c.seen[i]) != want)
                    fail_msg("n=%zu threads=%u: item %zu ran %u times, want %u", sizes[s],
                             threads[t], i, atomic_load(&c.seen[i]), want);
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
