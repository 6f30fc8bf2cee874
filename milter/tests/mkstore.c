/*
 * mkstore.c - build a store for the milter's integration tests and
 * benchmark (authgatectl is the real writer; this keeps the milter's tests
 * independent of it).
 *
 * usage: mkstore [-g GROUP] DIR [allow LOGIN PATTERN | deny LOGIN PATTERN |
 *                     domain DOMAIN | setting KEY VALUE | login LOGIN]...
 * "login" creates a login (with a fixed imported sha512-crypt hash: these
 * tests never authenticate), so that the policy knows it exists.
 * Creates the store in DIR (which must not hold one), policy/ owned by
 * GROUP if given, then applies each operation in one write transaction.
 */
#include <grp.h>
#include <stdio.h>
#include <string.h>

#include "authdb.h"

/* openssl passwd -6 -salt mkstore mkstore */
#define MKSTORE_HASH                                                                               \
    "$6$mkstore$QE4BfY/R3HYfIkzwx1AkT4PTaKQDA5YPIMMC45.PH9tKvJxnM"                                 \
    "p6MY/NziUFbyhq9KQH9M4QfTlkbnN4JaNAkP0"

typedef struct ops {
    int argc;
    char **argv;
    const char *why;
    const authdb_secrets *login_secrets;
} ops;

static int apply(authdb_txn *txn, void *arg)
{
    ops *o = arg;
    int rc = AUTHDB_OK;

    for (int i = 0; i < o->argc && rc == AUTHDB_OK;) {
        const char *op = o->argv[i];
        if ((strcmp(op, "allow") == 0 || strcmp(op, "deny") == 0) && i + 2 < o->argc) {
            rc = authdb_rule_add(txn, o->argv[i + 1], strlen(o->argv[i + 1]),
                                 op[0] == 'a' ? AUTHDB_ALLOW : AUTHDB_DENY, o->argv[i + 2],
                                 strlen(o->argv[i + 2]));
            i += 3;
        } else if (strcmp(op, "domain") == 0 && i + 1 < o->argc) {
            rc = authdb_domain_add(txn, o->argv[i + 1], strlen(o->argv[i + 1]));
            i += 2;
        } else if (strcmp(op, "login") == 0 && i + 1 < o->argc) {
            rc = authdb_user_put(txn, o->argv[i + 1], strlen(o->argv[i + 1]), o->login_secrets,
                                 AUTHDB_PUT_UPSERT);
            i += 2;
        } else if (strcmp(op, "setting") == 0 && i + 2 < o->argc) {
            rc = authdb_setting_set(txn, o->argv[i + 1], o->argv[i + 2], &o->why);
            i += 3;
        } else {
            o->why = "usage: mkstore DIR [allow|deny LOGIN PATTERN | domain D | setting K V | "
                     "login L]...";
            rc = AUTHDB_EINVAL;
        }
    }
    return rc;
}

int main(int argc, char **argv)
{
    authdb_create_opts co = {(gid_t)-1, (gid_t)-1, 0, NULL};
    char why[AUTHDB_WHY_MAX];
    authdb *h = NULL;
    ops o;
    int rc;

    if (argc > 2 && strcmp(argv[1], "-g") == 0) {
        struct group *g = getgrnam(argv[2]);
        if (g == NULL) {
            fprintf(stderr, "mkstore: no group %s\n", argv[2]);
            return 1;
        }
        co.policy_gid = g->gr_gid;
        argc -= 2;
        argv += 2;
    }
    o.argc = argc - 2;
    o.argv = argv + 2;
    o.why = NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: mkstore DIR [operations]\n");
        return 2;
    }
    rc = authdb_create(argv[1], &co, why, sizeof(why));
    if (rc != AUTHDB_OK) {
        fprintf(stderr, "mkstore: %s: %s\n", why, authdb_strerror(rc));
        return 1;
    }
    rc = authdb_open(argv[1], AUTHDB_BOTH | AUTHDB_WRITE, &h, why, sizeof(why));
    if (rc != AUTHDB_OK) {
        fprintf(stderr, "mkstore: %s\n", why);
        return 1;
    }
    authdb_secrets *ls = NULL;
    rc = authdb_secrets_from_hash(MKSTORE_HASH, &ls);
    o.login_secrets = ls;
    if (rc == AUTHDB_OK)
        rc = authdb_write(h, apply, &o);
    authdb_secrets_free(ls);
    if (rc != AUTHDB_OK)
        fprintf(stderr, "mkstore: %s%s%s\n", authdb_strerror(rc), o.why ? ": " : "",
                o.why ? o.why : "");
    authdb_close(h);
    return rc == AUTHDB_OK ? 0 : 1;
}
