/*
 * bench_lookup.c - the cost of one login's secrets lookup, beside raw LMDB.
 *
 * usage: bench-lookup [USERS [LOOKUPS]]     (defaults 1000000 1000000)
 *
 * Builds a store of USERS logins in a temp dir, each with the default
 * secrets (yescrypt hash, SCRAM-SHA-256, SCRAM-SHA-1: derived once and
 * stored under every login, so every record has the real size), then times
 * LOOKUPS random lookups three ways, after one warm-up scan of every record,
 * interleaved in blocks (rotating which goes first) so that the machine's
 * state affects all alike:
 *   authdb   authdb_secrets_lookup(): fork check, short read txn,
 *            normalization, get, validation, copy out, txn end;
 *   raw-txn  mdb_txn_begin(RDONLY) + mdb_get + mdb_txn_abort on the same
 *            environment (the least any correct reader must do);
 *   raw-get  mdb_get inside one long-lived read txn (a floor no short-txn
 *            reader can reach; shown for scale).
 * Prints p50/p99/p99.9/mean in microseconds and the ratios.
 */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authdb_private.h"

#define BLOCK 1000

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

struct fill {
    unsigned n;
    const authdb_secrets *s;
};

static int fill_fn(authdb_txn *txn, void *arg)
{
    struct fill *f = arg;
    char login[64];
    int rc = AUTHDB_OK;

    for (unsigned i = 0; i < f->n && rc == AUTHDB_OK; i++) {
        snprintf(login, sizeof(login), "user%07u@bench.example", i);
        rc = authdb_user_put(txn, login, (size_t)-1, f->s, AUTHDB_PUT_UPSERT);
    }
    return rc;
}

static void report(const char *name, uint64_t *t, size_t n, double base_p50, double base_p99)
{
    double sum = 0;

    qsort(t, n, sizeof(*t), cmp_u64);
    for (size_t i = 0; i < n; i++)
        sum += (double)t[i];
    double p50 = t[n / 2] / 1000.0, p99 = t[n * 99 / 100] / 1000.0,
           p999 = t[n * 999 / 1000] / 1000.0;
    printf("%-8s p50 %6.3f us  p99 %6.3f us  p99.9 %6.3f us  mean %6.3f us", name, p50, p99, p999,
           sum / n / 1000.0);
    if (base_p50 > 0)
        printf("   (x%.2f p50, x%.2f p99 of raw-txn)", p50 / base_p50, p99 / base_p99);
    printf("\n");
}

int main(int argc, char **argv)
{
    unsigned users = argc > 1 ? (unsigned)atoi(argv[1]) : 1000000;
    unsigned lookups = argc > 2 ? (unsigned)atoi(argv[2]) : 1000000;
    char tmpl[] = "/tmp/authgate-bench.XXXXXX", dir[600], cmd[700], login[64];
    authdb_derive_params p = {AUTHDB_MECH_SCRAM_SHA256 | AUTHDB_MECH_SCRAM_SHA1, 4096, "yescrypt",
                              ""};
    authdb_create_opts o = {(gid_t)-1, (gid_t)-1, 1ul << 30, NULL};
    authdb_secrets *s;
    authdb *h;
    uint64_t *ta, *tr, *tg, t0;
    size_t na = 0, nr = 0, ng = 0;
    struct fill f;
    int rc;

    if (users == 0 || lookups == 0 || mkdtemp(tmpl) == NULL) {
        fprintf(stderr, "usage: bench-lookup [USERS [LOOKUPS]]\n");
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/store", tmpl);
    if ((rc = authdb_create(dir, &o, NULL, 0)) != AUTHDB_OK ||
        (rc = authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0)) != AUTHDB_OK ||
        (rc = authdb_secrets_derive(&p, "x", "a password", 10, &s)) != AUTHDB_OK) {
        fprintf(stderr, "bench-lookup: setup: %s\n", authdb_strerror(rc));
        return 1;
    }
    f.n = users;
    f.s = s;
    t0 = now_ns();
    rc = authdb_write(h, fill_fn, &f);
    if (rc != AUTHDB_OK) {
        fprintf(stderr, "bench-lookup: fill: %s\n", authdb_strerror(rc));
        return 1;
    }
    authdb_stats st;
    authdb_get_stats(h, &st);
    printf("store: %u logins (hash + SCRAM-SHA-256 + SCRAM-SHA-1 each), %.1f MiB used, filled in "
           "%.1f s\n",
           users, st.secrets_used / 1048576.0, (now_ns() - t0) / 1e9);

    /* raw access to the very environment the handle uses (never open an
     * env twice in one process) */
    MDB_env *env = atomic_load(&h->cur)->e[ENV_SECRETS].env;
    MDB_dbi dbi = atomic_load(&h->cur)->e[ENV_SECRETS].main;
    MDB_txn *long_txn;
    ta = calloc(lookups, sizeof(*ta));
    tr = calloc(lookups, sizeof(*tr));
    tg = calloc(lookups, sizeof(*tg));
    srand(42);
    unsigned long sink = 0;
    /* warm the page cache and the map: every record once */
    {
        MDB_txn *t;
        MDB_cursor *c;
        MDB_val k, v;
        mdb_txn_begin(env, NULL, MDB_RDONLY, &t);
        mdb_cursor_open(t, dbi, &c);
        for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0;
             r = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            sink += ((unsigned char *)v.mv_data)[0];
        mdb_cursor_close(c);
        mdb_txn_abort(t);
    }
    for (unsigned done = 0; done < lookups; done += BLOCK) {
        unsigned n = lookups - done < BLOCK ? lookups - done : BLOCK;
        unsigned idx[BLOCK];
        for (unsigned i = 0; i < n; i++)
            idx[i] = (unsigned)rand() % users;
        /* rotate which way goes first, so none always meets a cold cache */
        for (int k3 = 0; k3 < 3; k3++) {
            int way = (int)((done / BLOCK + (unsigned)k3) % 3);
            if (way == 2 && mdb_txn_begin(env, NULL, MDB_RDONLY, &long_txn) != 0)
                return 1;
            for (unsigned i = 0; i < n; i++) {
                int len = snprintf(login, sizeof(login), "user%07u@bench.example", idx[i]);
                MDB_val k = {(size_t)len, login}, v;
                uint64_t a = now_ns();
                if (way == 0) {
                    authdb_secrets *x;
                    rc = authdb_secrets_lookup(h, login, (size_t)len, &x);
                    sink += authdb_secrets_kinds(x);
                    authdb_secrets_free(x);
                } else if (way == 1) {
                    MDB_txn *t;
                    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &t);
                    if (rc == 0)
                        rc = mdb_get(t, dbi, &k, &v);
                    sink += v.mv_size;
                    mdb_txn_abort(t);
                } else {
                    rc = mdb_get(long_txn, dbi, &k, &v);
                    sink += v.mv_size;
                }
                uint64_t b = now_ns();
                if (rc != 0) {
                    fprintf(stderr, "bench-lookup: lookup %s: %s\n", login, authdb_strerror(rc));
                    return 1;
                }
                if (way == 0)
                    ta[na++] = b - a;
                else if (way == 1)
                    tr[nr++] = b - a;
                else
                    tg[ng++] = b - a;
            }
            if (way == 2)
                mdb_txn_abort(long_txn);
        }
    }
    printf("%u random lookups each, interleaved in blocks of %d (sink %lu)\n", lookups, BLOCK,
           sink % 7);
    uint64_t *rcopy = malloc(nr * sizeof(*rcopy));
    memcpy(rcopy, tr, nr * sizeof(*rcopy));
    qsort(rcopy, nr, sizeof(*rcopy), cmp_u64);
    double rp50 = rcopy[nr / 2] / 1000.0, rp99 = rcopy[nr * 99 / 100] / 1000.0;
    report("raw-get", tg, ng, 0, 0);
    report("raw-txn", tr, nr, 0, 0);
    report("authdb", ta, na, rp50, rp99);
    printf("target: authdb within 2x of raw-txn, p99 under 5 us\n");
    authdb_secrets_free(s);
    authdb_close(h);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-lookup: cannot remove %s\n", tmpl);
    free(ta);
    free(tr);
    free(tg);
    free(rcopy);
    return 0;
}
