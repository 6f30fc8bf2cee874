/*
 * query_adduser.c - give logins a password in a store made by
 * milter-mkstore, for authgate-query's integration tests (the MTAs
 * authenticate through the authgate SASL plugin against the same store
 * whose policy authgate-query reads).  authgatectl is the real writer;
 * this keeps the tests independent of it.
 *
 * usage: query-adduser DIR LOGIN... < password
 * The password is the first line of standard input (never argv); every
 * login gets it, with the secrets the store's "mechanisms" setting asks
 * for.
 */
#include <stdio.h>
#include <string.h>

#include "authdb.h"

typedef struct job {
    authdb *h;
    int n;
    char **logins;
    const char *pw;
} job;

static int put(authdb_txn *txn, void *arg)
{
    job *j = arg;
    authdb_derive_params p;
    authdb_secrets *s = NULL;
    int rc = AUTHDB_OK;

    for (int i = 0; i < j->n && rc == AUTHDB_OK; i++) {
        const char *l = j->logins[i];
        rc = authdb_derive_params_for(j->h, txn, l, strlen(l), &p);
        if (rc == AUTHDB_OK)
            rc = authdb_secrets_derive(&p, l, j->pw, strlen(j->pw), &s);
        if (rc == AUTHDB_OK)
            rc = authdb_user_put(txn, l, strlen(l), s, AUTHDB_PUT_UPSERT);
        authdb_secrets_free(s);
        s = NULL;
    }
    return rc;
}

int main(int argc, char **argv)
{
    char why[AUTHDB_WHY_MAX], pw[AUTHDB_PASSWORD_MAX + 2];
    job j;
    int rc;

    if (argc < 3) {
        fprintf(stderr, "usage: query-adduser DIR LOGIN... < password\n");
        return 2;
    }
    if (fgets(pw, sizeof(pw), stdin) == NULL) {
        fprintf(stderr, "query-adduser: no password on standard input\n");
        return 2;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    j.n = argc - 2;
    j.logins = argv + 2;
    j.pw = pw;
    rc = authdb_open(argv[1], AUTHDB_BOTH | AUTHDB_WRITE, &j.h, why, sizeof(why));
    if (rc != AUTHDB_OK) {
        fprintf(stderr, "query-adduser: %s\n", why);
        return 1;
    }
    rc = authdb_write(j.h, put, &j);
    if (rc != AUTHDB_OK)
        fprintf(stderr, "query-adduser: %s\n", authdb_strerror(rc));
    authdb_close(j.h);
    explicit_bzero(pw, sizeof(pw));
    return rc == AUTHDB_OK ? 0 : 1;
}
