/*
 * bench_sync.c - bench-sync: what a fleet node costs and how fast it
 * follows the central store.
 *
 * usage: bench-sync ADMIN_URI NODE_URI NODE_DIR [USERS [CHANGES]]
 *        (defaults 100000 200; bench.sh starts PostgreSQL and runs it)
 * Prints:
 *   1. the central import of USERS users through authdb on PostgreSQL
 *      (authdb_write: one SQL transaction);
 *   2. the initial sync of the node (one authdb_sync_round, full load);
 *   3. change propagation: a child process runs the sync loop (LISTEN,
 *      wait, round); the parent commits CHANGES password changes one by
 *      one and times each from the central commit to the moment the node's
 *      store returns the new record (polled every 100 us): p50, p99, max.
 *      Target p99 < 2 s;
 *   4. node lookups (authdb_secrets_lookup of random users) idle, then
 *      while the child applies one central transaction changing every
 *      user: p50/p99 side by side.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authdb.h"
#include "authdb_pg.h"

static const char *const hashes[2] = {
    "$6$benchsaltone$ArXPvsrtELck6RsZ15QO/E0F86UrA2FMlUzhV3kmB9jKxQ780KQAF5e/DLCMw/cNt7s8AwXdJQ/"
    "KM9VGvh78o0",
    "$6$benchsalttwo$aAQZ965Mu4eN0LEha1FFVpm6nquJvXkIAH.rz5h2vjkCVWxpK5uPtq7Tdz3SCIlfhzPnt/"
    "yFCPcnpdB59kMRj.",
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t pct(uint64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1));
    qsort(v, n, sizeof(*v), cmp_u64);
    return v[i];
}

struct fill {
    unsigned first, n;
    int which;
};

static int fill_fn(authdb_txn *txn, void *arg)
{
    struct fill *f = arg;
    authdb_secrets *s = NULL;
    char login[64];
    int rc = authdb_secrets_from_hash(hashes[f->which], &s);

    for (unsigned i = f->first; i < f->first + f->n && rc == AUTHDB_OK; i++) {
        snprintf(login, sizeof(login), "user%07u@bench.example", i);
        rc = authdb_user_put(txn, login, (size_t)-1, s, AUTHDB_PUT_UPSERT);
    }
    authdb_secrets_free(s);
    return rc;
}

/* The sync loop of authgate-sync, in a child process. */
static void child_loop(const char *node_uri, const char *dir)
{
    authdb_sync *s = NULL;
    authdb *node = NULL;
    authdb_sync_opts o = {AUTHDB_SYNC_SECRETS, NULL, NULL};
    authdb_sync_result r;
    char why[512];

    if (authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &node, why, sizeof(why)) != AUTHDB_OK ||
        authdb_sync_connect(node_uri, &s, why, sizeof(why)) != AUTHDB_OK ||
        authdb_sync_listen(s) != AUTHDB_OK) {
        fprintf(stderr, "child: %s\n", why);
        _exit(1);
    }
    for (;;) {
        if (authdb_sync_round(s, node, &o, &r, why, sizeof(why)) != AUTHDB_OK)
            fprintf(stderr, "child: %s\n", why);
        if (authdb_sync_wait(s, 1000) < 0)
            _exit(1);
    }
}

/* Is the node's record of login built from hashes[which]? */
static int node_has(authdb *node, const char *login, int which)
{
    authdb_secrets *s = NULL;
    const void *v;
    size_t len;
    int yes = 0;

    if (authdb_secrets_lookup(node, login, strlen(login), &s) == AUTHDB_OK &&
        authdb_secrets_value(s, AUTHDB_SECRET_HASH, &v, &len) == AUTHDB_OK)
        yes = strcmp(v, hashes[which]) == 0;
    authdb_secrets_free(s);
    return yes;
}

static void lookups(authdb *node, unsigned users, unsigned n, uint64_t *lat)
{
    char login[64];
    authdb_secrets *s;

    for (unsigned i = 0; i < n; i++) {
        uint64_t t0;
        snprintf(login, sizeof(login), "user%07u@bench.example", (unsigned)random() % users);
        t0 = now_ns();
        if (authdb_secrets_lookup(node, login, (size_t)-1, &s) == AUTHDB_OK)
            authdb_secrets_free(s);
        lat[i] = now_ns() - t0;
    }
}

int main(int argc, char **argv)
{
    const char *admin_uri, *node_uri, *dir;
    unsigned users = 100000, changes = 200;
    authdb *central = NULL, *node = NULL;
    authdb_sync *s = NULL;
    authdb_sync_opts o = {AUTHDB_SYNC_SECRETS, NULL, NULL};
    authdb_sync_result r;
    uint64_t t0, *lat, *idle, *busy;
    char why[512], login[64];
    struct fill f;
    pid_t child;
    unsigned nl = 200000;
    int rc;

    if (argc < 4) {
        fprintf(stderr, "usage: bench-sync ADMIN_URI NODE_URI NODE_DIR [USERS [CHANGES]]\n");
        return 2;
    }
    authdb_pg_register();
    admin_uri = argv[1];
    node_uri = argv[2];
    dir = argv[3];
    if (argc > 4)
        users = (unsigned)strtoul(argv[4], NULL, 10);
    if (argc > 5)
        changes = (unsigned)strtoul(argv[5], NULL, 10);
    if (authdb_open(admin_uri, AUTHDB_BOTH | AUTHDB_WRITE, &central, why, sizeof(why)) != 0) {
        fprintf(stderr, "bench-sync: %s\n", why);
        return 1;
    }
    f = (struct fill){0, users, 0};
    t0 = now_ns();
    rc = authdb_write(central, fill_fn, &f);
    printf("central import: %u users through authdb on PostgreSQL in %.1f s (%.0f users/s)%s\n",
           users, (double)(now_ns() - t0) / 1e9, users / ((double)(now_ns() - t0) / 1e9),
           rc ? " FAILED" : "");
    if (authdb_create(dir, NULL, why, sizeof(why)) != AUTHDB_OK ||
        authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &node, why, sizeof(why)) != AUTHDB_OK ||
        authdb_sync_connect(node_uri, &s, why, sizeof(why)) != AUTHDB_OK) {
        fprintf(stderr, "bench-sync: %s\n", why);
        return 1;
    }
    t0 = now_ns();
    rc = authdb_sync_round(s, node, &o, &r, why, sizeof(why));
    printf("initial sync:   %zu keys, %zu written, full load %s in %.2f s (%.0f users/s)%s%s\n",
           r.keys, r.written, r.full ? "yes" : "no", (double)(now_ns() - t0) / 1e9,
           users / ((double)(now_ns() - t0) / 1e9), rc ? " FAILED: " : "", rc ? why : "");
    authdb_sync_close(s);
    authdb_close(node);
    node = NULL;

    fflush(stdout);
    if ((child = fork()) == 0)
        child_loop(node_uri, dir);
    authdb_open(dir, AUTHDB_BOTH, &node, why, sizeof(why));
    usleep(300000);
    lat = calloc(changes, sizeof(*lat));
    for (unsigned i = 0; i < changes; i++) {
        f = (struct fill){(i * 7919u) % users, 1, 1};
        snprintf(login, sizeof(login), "user%07u@bench.example", f.first);
        if (authdb_write(central, fill_fn, &f) != AUTHDB_OK) {
            fprintf(stderr, "bench-sync: central write failed\n");
            break;
        }
        t0 = now_ns();
        while (!node_has(node, login, 1) && now_ns() - t0 < 10000000000ull)
            usleep(100);
        lat[i] = now_ns() - t0;
    }
    {
        double p50 = pct(lat, changes, 0.5) / 1e6, p99 = pct(lat, changes, 0.99) / 1e6;
        printf("propagation:    %u password changes, commit to visible on the node: p50 %.1f ms  "
               "p99 %.1f ms  max %.1f ms  (target p99 < 2000 ms)\n",
               changes, p50, p99, lat[changes - 1] / 1e6);
    }

    idle = calloc(nl, sizeof(*idle));
    busy = calloc(nl, sizeof(*busy));
    lookups(node, users, nl, idle);
    f = (struct fill){0, users, 1};
    t0 = now_ns();
    authdb_write(central, fill_fn, &f); /* every user to hashes[1] */
    printf("big change:     one central transaction of %u users committed in %.1f s\n", users,
           (double)(now_ns() - t0) / 1e9);
    /* Measure while the node applies it (until the last user flips). */
    t0 = now_ns();
    {
        unsigned done = 0, i = 0;
        snprintf(login, sizeof(login), "user%07u@bench.example", users - 1);
        while (i < nl) {
            lookups(node, users, 1000, busy + i);
            i += 1000;
            if (!done && node_has(node, login, 1))
                done = i;
        }
        printf("node lookups:   idle p50 %.3f us p99 %.3f us | during the apply (%u lookups in "
               "%.2f s, %s) p50 %.3f us p99 %.3f us\n",
               pct(idle, nl, 0.5) / 1e3, pct(idle, nl, 0.99) / 1e3, done ? done : nl,
               (double)(now_ns() - t0) / 1e9,
               done ? "until it committed" : "all before it committed",
               pct(busy, done ? done : nl, 0.5) / 1e3, pct(busy, done ? done : nl, 0.99) / 1e3);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    authdb_close(node);
    authdb_close(central);
    free(lat);
    free(idle);
    free(busy);
    return 0;
}
