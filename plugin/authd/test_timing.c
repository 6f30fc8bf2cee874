/*
 * test_timing.c - integration test: through the real daemon (one worker),
 * an unknown login costs what a wrong password costs, and so does a
 * disabled login.
 *
 * Requests go in rounds (wrong, unknown, disabled, control), the order
 * rotating from round to round.  Two measures, each asserted within 5%:
 *   - response time as the client sees it (what an attacker measures):
 *     the median, over SAMPLES rounds, of the difference between a kind
 *     and the wrong-password request of the same round, relative to the
 *     median wrong-password time.  Pairing within a round cancels the
 *     load other jobs put on the machine; plain medians of each kind are
 *     printed too but not asserted, because under bursty load the
 *     distribution is bimodal (free vs. contended CPU) and its median
 *     jumps between the modes;
 *   - CPU time the worker thread spent per request, from
 *     /proc/PID/task/TID/schedstat (nanoseconds on CPU): the median per
 *     kind, which does not depend on what else runs.
 * Prints the figures.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define SAMPLES 301
#define WARMUP  10
#define LIMIT   0.05

/* CONTROL is an empty login, which the daemon refuses without hashing:
 * the paired measure must see it as much cheaper, or it could not see
 * anything. */
enum { WRONG, UNKNOWN, DISABLED, CONTROL, KINDS };

static const char *const kind_name[KINDS] = {"wrong password", "unknown login", "disabled login",
                                             "control (empty)"};
static const char *const kind_login[KINDS] = {FX_LOGIN, "nosuchuser", FX_DISABLED_LOGIN, ""};

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

/* Nanoseconds thread tid of pid has run, or -1. */
static double thread_cpu_ns(pid_t pid, long tid)
{
    char path[96];
    double ns = -1;
    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/schedstat", (long)pid, tid);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &ns) != 1)
            ns = -1;
        fclose(f);
    }
    return ns;
}

/* The worker: the thread other than the main one that has run most. */
static long find_worker(pid_t pid)
{
    char path[64];
    long best = -1;
    double most = -1;
    snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long tid = atol(e->d_name);
        if (tid <= 0 || tid == (long)pid)
            continue;
        double ns = thread_cpu_ns(pid, tid);
        if (ns > most) {
            most = ns;
            best = tid;
        }
    }
    closedir(d);
    return best;
}

/* Plain medians (printed) and paired differences (asserted). */
static int check_paired(const char *what, const char *unit, double *v[KINDS])
{
    static double diff[SAMPLES], tmp[SAMPLES];
    double mw;
    int bad = 0;

    memcpy(tmp, v[WRONG], sizeof(tmp));
    mw = median(tmp, SAMPLES);
    printf("%s (%d rounds):\n", what, SAMPLES);
    printf("  %-15s median %9.3f %s\n", kind_name[WRONG], mw, unit);
    for (int k = 1; k < KINDS; k++) {
        memcpy(tmp, v[k], sizeof(tmp));
        double mk = median(tmp, SAMPLES);
        for (int i = 0; i < SAMPLES; i++)
            diff[i] = v[k][i] - v[WRONG][i];
        double d = median(diff, SAMPLES) / mw;
        printf("  %-15s median %9.3f %s; paired difference %+.3f %s = %+.2f%% (asserted)\n",
               kind_name[k], mk, unit, d * mw, unit, 100 * d);
        if (k == CONTROL) {
            if (d > -0.5) {
                printf("FAIL: the control (no hash) is only %+.2f%% off: the measure is blind\n",
                       100 * d);
                bad = 1;
            }
            continue;
        }
        if (d > LIMIT || d < -LIMIT) {
            printf("FAIL: %s: %s differs from wrong password by %+.2f%%, want within %.0f%%\n",
                   what, kind_name[k], 100 * d, 100 * LIMIT);
            bad = 1;
        }
    }
    return bad;
}

static int check_medians(const char *what, const char *unit, double *v[KINDS])
{
    double m[KINDS];
    int bad = 0;
    for (int k = 0; k < CONTROL; k++)
        m[k] = median(v[k], SAMPLES);
    printf("%s, median of %d each:\n", what, SAMPLES);
    for (int k = 0; k < CONTROL; k++) {
        double d = (m[k] - m[WRONG]) / m[WRONG];
        printf("  %-15s %9.3f %s", kind_name[k], m[k], unit);
        if (k != WRONG)
            printf("  (%+.2f%% vs wrong password, asserted)", 100 * d);
        printf("\n");
        if (d > LIMIT || d < -LIMIT) {
            printf("FAIL: %s: %s differs from wrong password by %+.2f%%, want within %.0f%%\n",
                   what, kind_name[k], 100 * d, 100 * LIMIT);
            bad = 1;
        }
    }
    return bad;
}

int main(void)
{
    static double wall[KINDS][SAMPLES], cpu[KINDS][SAMPLES];
    fixture f;
    int status = 1;
    int rc = fixture_init(&f, 0, 1, 10);

    if (rc != 0)
        return rc == 77 ? 77 : 1;
    if (fixture_start(&f) != 0)
        goto out;
    for (int i = 0; i < WARMUP; i++)
        fixture_ask(f.sock, FX_LOGIN, "warm up", "smtp", "", NULL, 0);
    long worker = find_worker(f.pid);
    if (worker < 0 || thread_cpu_ns(f.pid, worker) < 0) {
        printf("cannot read the worker's schedstat\n");
        goto out;
    }
    for (int i = 0; i < SAMPLES; i++) {
        for (int j = 0; j < KINDS; j++) {
            int k = (i + j) % KINDS; /* rotate the order */
            double c0 = thread_cpu_ns(f.pid, worker);
            double t0 = fixture_now_ms();
            int got = fixture_ask(f.sock, kind_login[k], "not the password", "smtp", "", NULL, 0);
            wall[k][i] = fixture_now_ms() - t0;
            cpu[k][i] = (thread_cpu_ns(f.pid, worker) - c0) / 1e6;
            if (got != PROTO_ANSWER_NO) {
                printf("%s: got answer %d, want NO\n", kind_name[k], got);
                goto out;
            }
        }
    }
    double *w[KINDS] = {wall[WRONG], wall[UNKNOWN], wall[DISABLED], wall[CONTROL]};
    double *c[KINDS] = {cpu[WRONG], cpu[UNKNOWN], cpu[DISABLED], cpu[CONTROL]};
    int bad = check_paired("response time seen by the client", "ms", w);
    bad |= check_medians("CPU time of the worker thread per request", "ms", c);
    printf("limit: within %.0f%%\n", 100 * LIMIT);
    status = bad;
out:
    if (fixture_stop(&f, SIGTERM, 10000) != 0)
        status = 1;
    fixture_free(&f);
    return status;
}
