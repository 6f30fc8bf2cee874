/*
 * test_timing.c - integration test: through the real daemon, an unknown
 * login costs what a wrong password costs.  Requests alternate (wrong,
 * unknown, disabled) so that machine load hits all three alike; the
 * medians of SAMPLES each must be within 5% of each other (unknown vs
 * wrong, disabled vs wrong).  Prints the figures.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define SAMPLES 151
#define WARMUP  10
#define LIMIT   0.05

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp);
    return v[n / 2];
}

static double timed_ask(const fixture *f, const char *login, const char *password, int want,
                        int *bad)
{
    double t = fixture_now_ms();
    int got = fixture_ask(f->sock, login, password, "smtp", "", NULL, 0);
    double ms = fixture_now_ms() - t;
    if (got != want) {
        fprintf(stderr, "%s: got answer %d, want %d\n", login, got, want);
        *bad = 1;
    }
    return ms;
}

int main(void)
{
    static double wrong[SAMPLES], unknown[SAMPLES], disabled[SAMPLES];
    fixture f;
    int bad = 0, status = 1;
    int rc = fixture_init(&f, 0, 1, 10);

    if (rc != 0)
        return rc == 77 ? 77 : 1;
    if (fixture_start(&f) != 0)
        goto out;
    for (int i = 0; i < WARMUP; i++)
        timed_ask(&f, FX_LOGIN, "warm up", PROTO_ANSWER_NO, &bad);
    for (int i = 0; i < SAMPLES; i++) {
        wrong[i] = timed_ask(&f, FX_LOGIN, "not the password", PROTO_ANSWER_NO, &bad);
        unknown[i] = timed_ask(&f, "nosuchuser", "not the password", PROTO_ANSWER_NO, &bad);
        disabled[i] = timed_ask(&f, FX_DISABLED_LOGIN, "not the password", PROTO_ANSWER_NO, &bad);
    }
    if (bad)
        goto out;
    double mw = median(wrong, SAMPLES), mu = median(unknown, SAMPLES),
           md = median(disabled, SAMPLES);
    double du = (mu - mw) / mw, dd = (md - mw) / mw;
    printf("median over %d requests each (one worker):\n"
           "  wrong password  %.3f ms\n"
           "  unknown login   %.3f ms  (%+.2f%% vs wrong)\n"
           "  disabled login  %.3f ms  (%+.2f%% vs wrong)\n"
           "limit: within %.0f%%\n",
           SAMPLES, mw, mu, 100 * du, md, 100 * dd, 100 * LIMIT);
    if (du > LIMIT || du < -LIMIT) {
        printf("FAIL: unknown login median differs from wrong password by %+.2f%%, want within "
               "%.0f%%\n",
               100 * du, 100 * LIMIT);
        goto out;
    }
    if (dd > LIMIT || dd < -LIMIT) {
        printf("FAIL: disabled login median differs from wrong password by %+.2f%%, want "
               "within %.0f%%\n",
               100 * dd, 100 * LIMIT);
        goto out;
    }
    status = 0;
out:
    if (fixture_stop(&f, SIGTERM, 10000) != 0)
        status = 1;
    fixture_free(&f);
    return status;
}
