/*
 * bench_authd.c - benchmark: logins per second through the real
 * authgate-authd at 1 and 8 concurrent clients (one connection per login,
 * as libsasl does), printed beside the baseline: the single-core hash
 * rate, i.e. crypt_r() verifications per second of the same store hash in
 * one thread, and authdb_verify_password() in one thread in-process.
 *
 * The ceiling for N clients is min(N, workers, CPUs) x the single-core
 * rate.  Wall-clock rates depend on what else runs; two figures do not:
 * the hash's CPU time in this thread (CLOCK_THREAD_CPUTIME_ID), and the
 * daemon's CPU time per login (utime + stime from /proc/PID/stat), whose
 * ratio is the daemon's overhead over the bare hash.
 * Usage: bench-authd [seconds per figure, default 3]; AUTHD_BIN names the
 * daemon.
 */
#include <crypt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authdb.h"
#include "fixture.h"

struct client {
    const char *sock;
    double end_ms;
    unsigned long ok, failed;
    double *lat;
    size_t nlat, caplat;
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    while (fixture_now_ms() < c->end_ms) {
        double t = fixture_now_ms();
        int got = fixture_ask(c->sock, FX_LOGIN, FX_PASSWORD, "smtp", "", NULL, 0);
        double ms = fixture_now_ms() - t;
        if (got == PROTO_ANSWER_OK)
            c->ok++;
        else
            c->failed++;
        if (c->nlat < c->caplat)
            c->lat[c->nlat++] = ms;
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Logins/s with n clients for secs; median latency into *med. */
static double run_clients(const char *sock, int n, double secs, double *med, unsigned long *failed)
{
    pthread_t t[64];
    struct client c[64];
    double start = fixture_now_ms();
    unsigned long ok = 0;
    size_t all = 0;
    double *lat;

    *failed = 0;
    for (int i = 0; i < n; i++) {
        c[i] = (struct client){sock, start + secs * 1000, 0, 0, NULL, 0, 100000};
        c[i].lat = malloc(c[i].caplat * sizeof(double));
        pthread_create(&t[i], NULL, client_run, &c[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        ok += c[i].ok;
        *failed += c[i].failed;
        all += c[i].nlat;
    }
    double elapsed = (fixture_now_ms() - start) / 1000;
    lat = malloc((all + 1) * sizeof(double));
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        memcpy(lat + k, c[i].lat, c[i].nlat * sizeof(double));
        k += c[i].nlat;
        free(c[i].lat);
    }
    qsort(lat, k, sizeof(double), cmp);
    *med = k > 0 ? lat[k / 2] : 0;
    free(lat);
    return ok / elapsed;
}

static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU milliseconds (user + system) process pid has used, or -1. */
static double proc_cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    double ms = -1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    if (fgets(buf, sizeof(buf), f) != NULL) {
        /* Fields after the parenthesized command: state is field 3;
         * utime and stime are fields 14 and 15. */
        const char *p = strrchr(buf, ')');
        unsigned long ut, st;
        if (p != NULL &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            ms = (ut + st) * 1000.0 / sysconf(_SC_CLK_TCK);
    }
    fclose(f);
    return ms;
}

/* crypt_r verifications per second of hash in this thread; *cpu_ms gets
 * the CPU time of one. */
static double hash_rate(const char *hash, double secs, double *cpu_ms)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    double c0 = thread_cpu_ms();
    double start = fixture_now_ms(), end = start + secs * 1000;
    unsigned long n = 0;
    while (fixture_now_ms() < end) {
        const char *r = crypt_r(FX_PASSWORD, hash, cd);
        if (r == NULL || strcmp(r, hash) != 0) {
            fprintf(stderr, "crypt_r does not verify the store's hash\n");
            n = 0;
            break;
        }
        n++;
    }
    double rate = n / ((fixture_now_ms() - start) / 1000);
    *cpu_ms = n > 0 ? (thread_cpu_ms() - c0) / n : 0;
    free(cd);
    return rate;
}

static double verify_rate(authdb *h, double secs)
{
    double start = fixture_now_ms(), end = start + secs * 1000;
    unsigned long n = 0;
    while (fixture_now_ms() < end) {
        if (authdb_verify_password(h, FX_LOGIN, strlen(FX_LOGIN), FX_PASSWORD,
                                   strlen(FX_PASSWORD)) != AUTHDB_OK) {
            fprintf(stderr, "authdb_verify_password failed\n");
            return 0;
        }
        n++;
    }
    return n / ((fixture_now_ms() - start) / 1000);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus > 0 ? (unsigned)cpus : 1;
    char why[AUTHDB_WHY_MAX], hash[AUTHDB_HASH_MAX + 1] = "";
    authdb *h = NULL;
    authdb_secrets *s = NULL;
    fixture f;
    int status = 1;

    if (secs <= 0)
        secs = 3;
    int rc = fixture_init(&f, 0, threads, 30);
    if (rc != 0)
        return rc == 77 ? 77 : 1;
    /* The baseline, in this process, before the daemon runs. */
    if (authdb_open(f.store, AUTHDB_SECRETS, &h, why, sizeof(why)) != AUTHDB_OK ||
        authdb_secrets_lookup(h, FX_LOGIN, strlen(FX_LOGIN), &s) != AUTHDB_OK) {
        fprintf(stderr, "cannot read the store: %s\n", why);
        goto out;
    }
    const void *v;
    size_t vlen;
    if (authdb_secrets_value(s, AUTHDB_SECRET_HASH, &v, &vlen) != AUTHDB_OK ||
        vlen >= sizeof(hash)) {
        fprintf(stderr, "no hash for %s\n", FX_LOGIN);
        goto out;
    }
    memcpy(hash, v, vlen);
    double hash_cpu;
    double hr = hash_rate(hash, secs, &hash_cpu);
    double vr = verify_rate(h, secs);
    authdb_secrets_free(s);
    s = NULL;
    authdb_close(h);
    h = NULL;

    if (fixture_start(&f) != 0)
        goto out;
    double med1, med8;
    unsigned long fail1, fail8;
    double cpu0 = proc_cpu_ms(f.pid);
    double r1 = run_clients(f.sock, 1, secs, &med1, &fail1);
    double cpu1 = proc_cpu_ms(f.pid);
    double r8 = run_clients(f.sock, 8, secs, &med8, &fail8);
    double cpu8 = proc_cpu_ms(f.pid);
    /* logins in each run = rate x its length (close enough for CPU/login) */
    double per1 = (cpu1 - cpu0) / (r1 * secs), per8 = (cpu8 - cpu1) / (r8 * secs);
    /* "$y$j9T$": scheme and cost, without salt and hash. */
    char scheme[32];
    const char *p3 = strchr(hash + 1, '$');
    p3 = p3 != NULL ? strchr(p3 + 1, '$') : NULL;
    snprintf(scheme, sizeof(scheme), "%.*s", p3 != NULL ? (int)(p3 - hash + 1) : 3, hash);
    char load[64] = "?";
    FILE *la = fopen("/proc/loadavg", "r");
    if (la != NULL) {
        if (fgets(load, sizeof(load), la) != NULL)
            load[strcspn(load, "\n")] = '\0';
        fclose(la);
    }
    unsigned ceil8 = threads < 8 ? threads : 8;
    if (ceil8 > (unsigned)cpus)
        ceil8 = (unsigned)cpus;

    printf("authgate-authd benchmark: %ld CPUs (load %s), authd_threads=%u, hash %s..., %.0f s "
           "per figure\n",
           cpus, load, threads, scheme, secs);
    printf("  baseline: single-core hash rate (crypt_r, 1 thread)  %8.1f verifications/s "
           "(%.2f ms each; %.2f ms CPU = %.1f/s per free core)\n",
           hr, 1000 / hr, hash_cpu, 1000 / hash_cpu);
    /* Ratios are against the per-core rate from CPU time: the wall-clock
     * rate drops whenever another process takes the core. */
    double core = 1000 / hash_cpu;
    printf("  authdb_verify_password, 1 thread, in-process       %8.1f /s (%.2f x per-core rate)\n",
           vr, vr / core);
    printf("  authd, 1 client                                    %8.1f logins/s (median %.2f "
           "ms; %.2f x per-core rate; ceiling 1 x)\n",
           r1, med1, r1 / core);
    printf("  authd, 8 clients                                   %8.1f logins/s (median %.2f "
           "ms; %.2f x per-core rate; ceiling %u x)\n",
           r8, med8, r8 / core, ceil8);
    printf("  daemon CPU per login: %.2f ms (1 client), %.2f ms (8 clients) = %.2f x / %.2f x "
           "the bare hash\n",
           per1, per8, per1 / hash_cpu, per8 / hash_cpu);
    if (fail1 + fail8 > 0)
        printf("  FAILED logins: %lu\n", fail1 + fail8);
    status = fail1 + fail8 > 0;
out:
    authdb_secrets_free(s);
    authdb_close(h);
    if (f.pid > 0 && fixture_stop(&f, SIGTERM, 30000) != 0)
        status = 1;
    fixture_free(&f);
    return status;
}
