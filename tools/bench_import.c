/*
 * bench_import.c - how fast authgatectl imports users.
 *
 * usage: bench-import [--hash-users N] [--cleartext-users N] [--pairs N]
 *                     [--pair-users N] [--authgatectl PATH] [--keep]
 *
 * In a fresh store in a temp dir it measures, end to end through the real
 * authgatectl binary (fork + exec, wall clock):
 *   1. the single-thread rate of authdb_secrets_derive() with the store's
 *      default settings (the baseline a cleartext import is held to), and
 *      the rate of one thread per CPU in this process (the ceiling);
 *   2. "import dovecot" of N users (default 100,000) holding SHA512-CRYPT
 *      hashes (no hashing at all: parse, validate, one write transaction);
 *      target >= 20,000 users/s;
 *   3. "import sasldb" of N users (default 10,000) with cleartext passwords,
 *      a sasldb2 file written with libdb exactly as saslpasswd2 writes it;
 *      target >= 1.8x the single-thread rate on 2 cores;
 *   4. the measured speed-up of the cleartext import itself: N pairs
 *      (default 3) of imports of --pair-users users (default 500), one with
 *      --jobs 1 and one on all CPUs, run back to back in alternating order
 *      so that both see the same load from other processes; the median
 *      ratio is printed.  (On a shared machine the single-thread rate of
 *      step 1 drifts with the load during a long import; the pairs do not.)
 * Every import also prints its CPU time (wait4): CPU per user does not
 * depend on other load, so "CPU per user" compares the parallel import with
 * a bare single-thread derivation and projects the idle-machine speed-up.
 * Prints each figure beside its baseline and target.
 */
#include <crypt.h>
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authdb.h"

#define BENCH_DOMAIN "bench.example"

struct bench_opts {
    unsigned hash_users, cleartext_users;
    unsigned pairs, pair_users;
    int keep;
    char authgatectl[PATH_MAX];
};

static double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first three fields of /proc/loadavg. */
static const char *bench_load(char *buf, size_t sz)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double a = 0, b = 0, c = 0;

    if (f == NULL || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
        snprintf(buf, sz, "unknown");
    else
        snprintf(buf, sz, "%.2f %.2f %.2f", a, b, c);
    if (f != NULL)
        fclose(f);
    return buf;
}

/* Run authgatectl with args (NULL-terminated), output to /dev/null.
 * Returns its exit status, or -1. */
static int bench_run(const struct bench_opts *o, const char *store, char *const *args, double *cpu)
{
    struct rusage ru;
    char *argv[16];
    int n = 0, status;
    pid_t pid;

    argv[n++] = (char *)o->authgatectl;
    argv[n++] = (char *)"--store";
    argv[n++] = (char *)store;
    for (int i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        setenv(AUTHDB_CONF_ENV, "/dev/null", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status))
        return -1;
    if (cpu != NULL)
        *cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
    return WEXITSTATUS(status);
}

static double bench_thread_cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Single-thread derivation rate (users per wall second); *cpu_per_user
 * gets the CPU seconds one derivation takes. */
static double bench_derive_rate(const char *store, char *params_text, size_t textsz,
                                double *cpu_per_user)
{
    double c0;
    authdb_derive_params p;
    authdb *h = NULL;
    char why[256], mechs[128];
    unsigned n = 0;
    double t0, t;

    if (authdb_open(store, AUTHDB_SECRETS, &h, why, sizeof(why)) != AUTHDB_OK ||
        authdb_derive_params_get(h, NULL, &p) != AUTHDB_OK) {
        fprintf(stderr, "bench-import: %s\n", why);
        authdb_close(h);
        return 0;
    }
    authdb_close(h);
    authdb_mechs_format(p.mechs, mechs, sizeof(mechs));
    snprintf(params_text, textsz, "%s hash + %s, %u iterations", p.password_hash, mechs,
             p.scram_iterations);
    t0 = bench_now();
    c0 = bench_thread_cpu();
    do {
        char login[64], pw[32];
        authdb_secrets *s = NULL;
        snprintf(login, sizeof(login), "single%u@" BENCH_DOMAIN, n);
        snprintf(pw, sizeof(pw), "pw-%u-x", n);
        if (authdb_secrets_derive(&p, login, pw, strlen(pw), &s) != AUTHDB_OK) {
            fprintf(stderr, "bench-import: derive failed\n");
            return 0;
        }
        authdb_secrets_free(s);
        n++;
        t = bench_now() - t0;
    } while (t < 2.0 || n < 20);
    *cpu_per_user = (bench_thread_cpu() - c0) / n;
    return n / t;
}

struct bench_thread {
    const authdb_derive_params *p;
    double until;
    unsigned n, id;
    int failed;
};

static void *bench_derive_thread(void *arg)
{
    struct bench_thread *t = arg;

    while (bench_now() < t->until) {
        char login[64], pw[32];
        authdb_secrets *s = NULL;
        snprintf(login, sizeof(login), "t%u-%u@" BENCH_DOMAIN, t->id, t->n);
        snprintf(pw, sizeof(pw), "pw-%u-%u", t->id, t->n);
        if (authdb_secrets_derive(t->p, login, pw, strlen(pw), &s) != AUTHDB_OK) {
            t->failed = 1;
            break;
        }
        authdb_secrets_free(s);
        t->n++;
    }
    return NULL;
}

/* Derivation rate with one thread per CPU, in this process, over ~4 s: the
 * ceiling for a parallel import on this machine. */
static double bench_derive_rate_all(const char *store, unsigned threads)
{
    struct bench_thread t[64];
    pthread_t tid[64];
    authdb_derive_params p;
    authdb *h = NULL;
    char why[256];
    double t0;
    unsigned total = 0;

    if (threads > 64)
        threads = 64;
    if (authdb_open(store, AUTHDB_SECRETS, &h, why, sizeof(why)) != AUTHDB_OK ||
        authdb_derive_params_get(h, NULL, &p) != AUTHDB_OK) {
        authdb_close(h);
        return 0;
    }
    authdb_close(h);
    t0 = bench_now();
    for (unsigned i = 0; i < threads; i++) {
        t[i] = (struct bench_thread){&p, t0 + 4.0, 0, i, 0};
        if (pthread_create(&tid[i], NULL, bench_derive_thread, &t[i]) != 0)
            return 0;
    }
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        if (t[i].failed)
            return 0;
        total += t[i].n;
    }
    return total / (bench_now() - t0);
}

/* A passwd-file with n users cycling through 16 distinct SHA512-CRYPT hashes. */
static int bench_dovecot_file(const char *path, unsigned n)
{
    char hashes[16][128];
    FILE *f;

    for (int i = 0; i < 16; i++) {
        struct crypt_data cd;
        char salt[64], pw[16];
        const char *h;
        memset(&cd, 0, sizeof(cd));
        snprintf(pw, sizeof(pw), "pw%d", i);
        if (crypt_gensalt_rn("$6$", 5000, NULL, 0, salt, sizeof(salt)) == NULL ||
            (h = crypt_r(pw, salt, &cd)) == NULL || h[0] == '*')
            return -1;
        snprintf(hashes[i], sizeof(hashes[i]), "%s", h);
    }
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "user%06u@" BENCH_DOMAIN ":{SHA512-CRYPT}%s:5000:5000::/home/u%u::\n", i,
                hashes[i % 16], i);
    return fclose(f) == 0 ? 0 : -1;
}

/* A sasldb2 file (Berkeley DB hash, keys user\0realm\0userPassword). */
static int bench_sasldb_file(const char *path, unsigned n)
{
    DB *db = NULL;
    int rc = -1;

    if (db_create(&db, NULL, 0) != 0)
        return -1;
    if (db->open(db, NULL, path, NULL, DB_HASH, DB_CREATE, 0600) != 0)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        char key[128], val[64];
        DBT k, v;
        int klen = snprintf(key, sizeof(key), "clear%06u", i) + 1;
        klen += snprintf(key + klen, sizeof(key) - (size_t)klen, "%s", BENCH_DOMAIN) + 1;
        klen += snprintf(key + klen, sizeof(key) - (size_t)klen, "userPassword");
        memset(&k, 0, sizeof(k));
        memset(&v, 0, sizeof(v));
        k.data = key;
        k.size = (u_int32_t)klen;
        v.data = val;
        v.size = (u_int32_t)snprintf(val, sizeof(val), "secret-%u", i);
        if (db->put(db, NULL, &k, &v, 0) != 0)
            goto out;
    }
    rc = 0;
out:
    if (db->close(db, 0) != 0)
        rc = -1;
    return rc;
}

static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
    char self[PATH_MAX];
    ssize_t len;

    o->hash_users = 100000;
    o->cleartext_users = 10000;
    o->pairs = 3;
    o->pair_users = 500;
    len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len > 0) {
        self[len] = '\0';
        *strrchr(self, '/') = '\0';
        snprintf(o->authgatectl, sizeof(o->authgatectl), "%.*s/authgatectl",
                 (int)(sizeof(o->authgatectl) - 16), self);
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hash-users") == 0 && i + 1 < argc)
            o->hash_users = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--cleartext-users") == 0 && i + 1 < argc)
            o->cleartext_users = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--authgatectl") == 0 && i + 1 < argc)
            snprintf(o->authgatectl, sizeof(o->authgatectl), "%s", argv[++i]);
        else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc)
            o->pairs = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--pair-users") == 0 && i + 1 < argc)
            o->pair_users = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--keep") == 0)
            o->keep = 1;
        else {
            fprintf(stderr, "usage: bench-import [--hash-users N] [--cleartext-users N] "
                            "[--pairs N] [--pair-users N] [--authgatectl PATH] [--keep]\n");
            return 2;
        }
    }
    return 0;
}

/* Time one import into a fresh store; users/s or 0 on failure. */
static double bench_import(const struct bench_opts *o, const char *dir, const char *name,
                           char *const *args, unsigned users, double *cpu_per_user)
{
    double cpu = 0;
    char store[PATH_MAX];
    char *init[] = {(char *)"init", (char *)"--secrets-group",
                    (char *)"root", (char *)"--policy-group",
                    (char *)"root", NULL};
    double t0, t;
    int rc;

    snprintf(store, sizeof(store), "%s/%s", dir, name);
    if (bench_run(o, store, init, NULL) != 0) {
        fprintf(stderr, "bench-import: authgatectl init %s failed\n", store);
        return 0;
    }
    t0 = bench_now();
    rc = bench_run(o, store, args, &cpu);
    t = bench_now() - t0;
    if (rc != 0) {
        fprintf(stderr, "bench-import: authgatectl %s %s: exit %d\n", args[0], args[1], rc);
        return 0;
    }
    printf("  %-36s %7u users in %7.2f s, CPU %7.2f s (%.2f ms/user, %.2f CPUs busy)\n", name,
           users, t, cpu, 1000 * cpu / users, cpu / t);
    if (cpu_per_user != NULL)
        *cpu_per_user = cpu / users;
    return users / t;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Median ratio (all CPUs / --jobs 1) over interleaved pairs; 0 on failure. */
static double bench_pairs(const struct bench_opts *o, const char *dir, char *sasldb)
{
    char *one[] = {(char *)"import", (char *)"sasldb", (char *)"--jobs", (char *)"1", sasldb, NULL};
    char *all[] = {(char *)"import", (char *)"sasldb", sasldb, NULL};
    double ratio[64];
    unsigned n = o->pairs < 64 ? o->pairs : 64;

    for (unsigned i = 0; i < n; i++) {
        char name1[64], nameall[64];
        double r1, rall;
        snprintf(name1, sizeof(name1), "pair %u: --jobs 1", i + 1);
        snprintf(nameall, sizeof(nameall), "pair %u: all CPUs", i + 1);
        if (i % 2 == 0) {
            r1 = bench_import(o, dir, name1, one, o->pair_users, NULL);
            rall = bench_import(o, dir, nameall, all, o->pair_users, NULL);
        } else {
            rall = bench_import(o, dir, nameall, all, o->pair_users, NULL);
            r1 = bench_import(o, dir, name1, one, o->pair_users, NULL);
        }
        if (r1 <= 0 || rall <= 0)
            return 0;
        ratio[i] = rall / r1;
        printf("  pair %u: %.1f vs %.1f users/s: %.2fx\n", i + 1, rall, r1, ratio[i]);
    }
    qsort(ratio, n, sizeof(ratio[0]), bench_cmp_double);
    return n > 0 ? ratio[n / 2] : 0;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    char dir[] = "/tmp/bench-import.XXXXXX", path[PATH_MAX], sasldb[PATH_MAX], params[256];
    char pairdb[PATH_MAX];
    char ncpu[16], load[64];
    double single, after, all, hash_rate, clear_rate, speedup = 0;
    double cpu_single = 0, cpu_after = 0, cpu_import = 0;
    int rc = 1;

    memset(&o, 0, sizeof(o));
    if ((rc = bench_parse(argc, argv, &o)) != 0)
        return rc;
    rc = 1;
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(ncpu, sizeof(ncpu), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    printf("bench-import: authgatectl %s, %s CPUs, load average %s, scratch %s\n", o.authgatectl,
           ncpu, bench_load(load, sizeof(load)), dir);

    snprintf(path, sizeof(path), "%s/users", dir);
    snprintf(sasldb, sizeof(sasldb), "%s/sasldb2", dir);
    if (bench_dovecot_file(path, o.hash_users) != 0 ||
        bench_sasldb_file(sasldb, o.cleartext_users) != 0) {
        fprintf(stderr, "bench-import: cannot write the input files\n");
        goto out;
    }
    {
        char *hash_args[] = {(char *)"import", (char *)"dovecot", path, NULL};
        char *clear_args[] = {(char *)"import", (char *)"sasldb", sasldb, NULL};
        char store0[PATH_MAX];
        char *init[] = {(char *)"init", (char *)"--secrets-group",
                        (char *)"root", (char *)"--policy-group",
                        (char *)"root", NULL};

        snprintf(store0, sizeof(store0), "%s/baseline", dir);
        if (bench_run(&o, store0, init, NULL) != 0 ||
            (single = bench_derive_rate(store0, params, sizeof(params), &cpu_single)) <= 0) {
            fprintf(stderr, "bench-import: no baseline\n");
            goto out;
        }
        printf("  single-thread authdb_secrets_derive: %.1f users/s (%s)\n", single, params);
        all = bench_derive_rate_all(store0, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
        printf("  %s-thread authdb_secrets_derive in-process: %.1f users/s (%.2fx: what the "
               "CPUs allow)\n",
               ncpu, all, all / single);
        if ((hash_rate = bench_import(&o, dir, "import dovecot (SHA512-CRYPT)", hash_args,
                                      o.hash_users, NULL)) <= 0)
            goto out;
        if ((clear_rate = bench_import(&o, dir, "import sasldb (cleartext)", clear_args,
                                       o.cleartext_users, &cpu_import)) <= 0)
            goto out;
        /* Other work on the machine shifts both figures: measure the
         * baseline again right after and compare with the mean. */
        after = bench_derive_rate(store0, params, sizeof(params), &cpu_after);
        cpu_single = (cpu_single + cpu_after) / 2;
        printf("  single-thread authdb_secrets_derive again: %.1f users/s\n", after);
        single = (single + after) / 2;
        if (o.pairs > 0) {
            snprintf(pairdb, sizeof(pairdb), "%s/sasldb2-pairs", dir);
            if (bench_sasldb_file(pairdb, o.pair_users) != 0 ||
                (speedup = bench_pairs(&o, dir, pairdb)) <= 0)
                goto out;
        }
    }
    printf("\nresults (load average now %s):\n", bench_load(load, sizeof(load)));
    printf("  hash import:      %9.0f users/s  (target >= 20000)          %s\n", hash_rate,
           hash_rate >= 20000 ? "met" : "MISSED");
    printf("  cleartext import: %9.1f users/s  = %.2fx the single-thread derive rate %.1f/s (mean) "
           "(target >= 1.8x on 2 CPUs) %s\n",
           clear_rate, clear_rate / single, single, clear_rate / single >= 1.8 ? "met" : "MISSED");
    /* CPU time per user does not depend on how busy the machine is: with
     * every CPU to itself the import would run at ncpu x the single-thread
     * rate, times the CPU it spends per user beyond a bare derivation. */
    printf("  CPU per user: %.2f ms single-thread derive, %.2f ms in the parallel import: on "
           "an idle machine %.2fx the single-thread rate (projection)\n",
           1000 * cpu_single, 1000 * cpu_import,
           sysconf(_SC_NPROCESSORS_ONLN) * cpu_single / cpu_import);
    if (o.pairs > 0)
        printf("  cleartext import, all CPUs vs --jobs 1: median %.2fx over %u interleaved "
               "pairs of %u users (target >= 1.8x on 2 CPUs) %s\n",
               speedup, o.pairs, o.pair_users, speedup >= 1.8 ? "met" : "MISSED");
    rc = 0;
out:
    if (!o.keep) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench-import: could not remove %s\n", dir);
    }
    return rc;
}
