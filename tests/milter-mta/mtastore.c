/*
 * mtastore.c - build the one store that drives both SMTP AUTH (the SASL
 * plugin reads secrets/) and send-as enforcement (authgate-milter reads
 * policy/) in the milter's MTA integration tests.  authgatectl is the real
 * writer; this test tool uses authdb directly so the tests do not depend on
 * it.
 *
 * usage: milter-mta-store [-s GROUP] [-p GROUP] DIR OPERATION...
 *   setting KEY VALUE        store setting (put "mechanisms" before users)
 *   user LOGIN               login with the password read from stdin
 *   allow LOGIN PATTERN      send-as rule
 *   deny LOGIN PATTERN
 *   domain DOMAIN            local domain
 * -s / -p: group of secrets/ and policy/.  The password is the first line of
 * standard input (never argv), read once and used for every "user".
 * Operations run in order in one write transaction (settings first take
 * effect for the users after them: derivation reads the store's settings
 * through the same transaction).
 *
 * Diagnostics: one line on stderr naming the failed operation; exit 1
 * (2 for usage).
 */
#include <grp.h>
#include <stdio.h>
#include <string.h>

#include "authdb.h"

typedef struct job {
    authdb *h;
    int argc;
    char **argv;
    const char *password;
    size_t pwlen;
    const char *failed; /* the operation that failed */
    const char *why;
} job;

static int add_user(authdb_txn *txn, job *j, const char *login)
{
    authdb_derive_params p;
    authdb_secrets *s = NULL;
    int rc;

    rc = authdb_derive_params_get(j->h, txn, &p);
    if (rc != AUTHDB_OK)
        goto out;
    rc = authdb_secrets_derive(&p, login, j->password, j->pwlen, &s);
    if (rc != AUTHDB_OK)
        goto out;
    rc = authdb_user_put(txn, login, strlen(login), s, AUTHDB_PUT_UPSERT);
out:
    authdb_secrets_free(s);
    return rc;
}

static int apply(authdb_txn *txn, void *arg)
{
    job *j = arg;
    int rc = AUTHDB_OK;

    j->failed = NULL;
    j->why = NULL;
    for (int i = 0; i < j->argc && rc == AUTHDB_OK;) {
        const char *op = j->argv[i];
        j->failed = op;
        if ((strcmp(op, "allow") == 0 || strcmp(op, "deny") == 0) && i + 2 < j->argc) {
            rc = authdb_rule_add(txn, j->argv[i + 1], strlen(j->argv[i + 1]),
                                 op[0] == 'a' ? AUTHDB_ALLOW : AUTHDB_DENY, j->argv[i + 2],
                                 strlen(j->argv[i + 2]));
            i += 3;
        } else if (strcmp(op, "domain") == 0 && i + 1 < j->argc) {
            rc = authdb_domain_add(txn, j->argv[i + 1], strlen(j->argv[i + 1]));
            i += 2;
        } else if (strcmp(op, "setting") == 0 && i + 2 < j->argc) {
            rc = authdb_setting_set(txn, j->argv[i + 1], j->argv[i + 2], &j->why);
            i += 3;
        } else if (strcmp(op, "user") == 0 && i + 1 < j->argc && j->password != NULL) {
            j->failed = j->argv[i + 1];
            rc = add_user(txn, j, j->argv[i + 1]);
            i += 2;
        } else {
            j->why = j->password == NULL && strcmp(op, "user") == 0
                         ? "no password on standard input"
                         : "unknown operation or missing argument";
            rc = AUTHDB_EINVAL;
        }
    }
    return rc;
}

static int group_id(const char *name, gid_t *out)
{
    struct group *g = getgrnam(name);

    if (g == NULL) {
        fprintf(stderr, "milter-mta-store: no group %s\n", name);
        return -1;
    }
    *out = g->gr_gid;
    return 0;
}

int main(int argc, char **argv)
{
    authdb_create_opts co = {(gid_t)-1, (gid_t)-1, 0, NULL};
    char why[AUTHDB_WHY_MAX];
    char pw[AUTHDB_PASSWORD_MAX + 2];
    authdb *h = NULL;
    job j;
    int rc = 1, i = 1;

    memset(&j, 0, sizeof(j));
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-s") == 0 && group_id(argv[i + 1], &co.secrets_gid) == 0)
            continue;
        if (strcmp(argv[i], "-p") == 0 && group_id(argv[i + 1], &co.policy_gid) == 0)
            continue;
        rc = 2;
        goto out;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: milter-mta-store [-s GROUP] [-p GROUP] DIR OPERATION...\n");
        rc = 2;
        goto out;
    }
    if (fgets(pw, sizeof(pw), stdin) != NULL) {
        pw[strcspn(pw, "\r\n")] = '\0';
        j.password = pw;
        j.pwlen = strlen(pw);
    }
    j.argc = argc - i - 1;
    j.argv = argv + i + 1;
    if (authdb_create(argv[i], &co, why, sizeof(why)) != AUTHDB_OK ||
        authdb_open(argv[i], AUTHDB_BOTH | AUTHDB_WRITE, &h, why, sizeof(why)) != AUTHDB_OK) {
        fprintf(stderr, "milter-mta-store: %s\n", why);
        goto out;
    }
    j.h = h;
    rc = authdb_write(h, apply, &j);
    if (rc != AUTHDB_OK) {
        fprintf(stderr, "milter-mta-store: %s: %s%s%s\n", j.failed ? j.failed : "write",
                authdb_strerror(rc), j.why ? ": " : "", j.why ? j.why : "");
        rc = 1;
    }
out:
    explicit_bzero(pw, sizeof(pw));
    authdb_close(h);
    return rc;
}
