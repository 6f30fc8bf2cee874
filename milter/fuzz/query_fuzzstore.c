/*
 * query_fuzzstore.c - the fuzz targets' store (see query_fuzzstore.h).
 */
#define _XOPEN_SOURCE 700
#include "query_fuzzstore.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[64];
static authdb *store;
static authdb_conf *defaults;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

static void cleanup(void)
{
    authdb_close(store);
    authdb_conf_free(defaults);
    if (dir[0] != '\0')
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int fill(authdb_txn *txn, void *arg)
{
    static const char *const rules[][3] = {
        {"alice@example.com", "a", "alias@example.com"},
        {"alice@example.com", "a", "@lists.example"},
        {"bob", "a", "*"},
        {"bob", "d", "@example.com"},
        {"\"x,y\"@example.com", "a", "@lists.example"},
    };
    int rc = AUTHDB_OK;

    (void)arg;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && rc == AUTHDB_OK; i++)
        rc = authdb_rule_add(txn, rules[i][0], strlen(rules[i][0]),
                             rules[i][1][0] == 'a' ? AUTHDB_ALLOW : AUTHDB_DENY, rules[i][2],
                             strlen(rules[i][2]));
    if (rc == AUTHDB_OK)
        rc = authdb_domain_add(txn, "example.com", 11);
    return rc;
}

static void setup(void)
{
    authdb_create_opts co = {(gid_t)-1, (gid_t)-1, 0, NULL};
    char why[AUTHDB_WHY_MAX], path[128];
    authdb *w = NULL;

    snprintf(dir, sizeof(dir), "/tmp/authgate-fuzz.XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(cleanup);
    snprintf(path, sizeof(path), "%s/store", dir);
    if (authdb_create(path, &co, why, sizeof(why)) != AUTHDB_OK ||
        authdb_open(path, AUTHDB_BOTH | AUTHDB_WRITE, &w, why, sizeof(why)) != AUTHDB_OK ||
        authdb_write(w, fill, NULL) != AUTHDB_OK) {
        fprintf(stderr, "query fuzz store: %s\n", why);
        abort();
    }
    authdb_close(w);
    if (authdb_open(path, AUTHDB_POLICY, &store, why, sizeof(why)) != AUTHDB_OK ||
        authdb_conf_load("/nonexistent/authgate.conf", 1, &defaults, why, sizeof(why)) !=
            AUTHDB_OK) {
        fprintf(stderr, "query fuzz store: %s\n", why);
        abort();
    }
}

authdb *query_fuzz_store(void)
{
    if (store == NULL)
        setup();
    return store;
}

const authdb_conf *query_fuzz_conf(void)
{
    if (store == NULL)
        setup();
    return defaults;
}
