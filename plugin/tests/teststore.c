/*
 * teststore.c - real stores for the plugin's tests (see teststore.h).
 *
 * Interface: teststore_create, teststore_put, teststore_disable,
 * teststore_delete, teststore_has, teststore_verify, teststore_corrupt.
 *
 * Each operation forks; the child opens the store, does the work, sends
 * the authdb code back through a pipe and exits without closing anything
 * it inherited.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authdb.h"
#include "teststore.h"

struct ts_op {
    const char *dir;
    const char *login;
    const char *password;
    const char *mechs;
    const char *realm;
    int flag;
    int *out; /* teststore_has: disabled flag */
};

typedef int (*ts_fn)(struct ts_op *op);

/* Run fn in a child; returns its code (AUTHDB_EBUSY if the child died). */
static int ts_child(ts_fn fn, struct ts_op *op)
{
    int p[2];
    int res[2] = {AUTHDB_EBUSY, 0};
    pid_t pid;
    int status;

    if (pipe(p) != 0)
        return AUTHDB_EBUSY;
    pid = fork();
    if (pid == 0) {
        int r[2];
        close(p[0]);
        r[0] = fn(op);
        r[1] = op->out != NULL ? *op->out : 0;
        if (write(p[1], r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(2);
        _exit(0);
    }
    close(p[1]);
    if (pid > 0) {
        if (read(p[0], res, sizeof(res)) != (ssize_t)sizeof(res))
            res[0] = AUTHDB_EBUSY;
        waitpid(pid, &status, 0);
    }
    close(p[0]);
    if (op->out != NULL)
        *op->out = res[1];
    return res[0];
}

static int ts_create(struct ts_op *op)
{
    const char *settings[7];
    authdb_create_opts o;
    size_t n = 0;

    memset(&o, 0, sizeof(o));
    o.secrets_gid = (gid_t)-1;
    o.policy_gid = (gid_t)-1;
    if (op->mechs != NULL) {
        settings[n++] = "mechanisms";
        settings[n++] = op->mechs;
    }
    if (op->realm != NULL) {
        settings[n++] = "digest_realm";
        settings[n++] = op->realm;
    }
    settings[n++] = "scram_iterations";
    settings[n++] = "4096";
    settings[n] = NULL;
    o.settings = settings;
    return authdb_create(op->dir, &o, NULL, 0);
}

struct ts_put {
    const char *login;
    const authdb_secrets *s;
    unsigned mechs;
};

static int ts_put_fn(authdb_txn *txn, void *arg)
{
    const struct ts_put *p = arg;
    int rc = authdb_user_put(txn, p->login, strlen(p->login), p->s, AUTHDB_PUT_UPSERT);

    if (rc == AUTHDB_OK && p->mechs != 0)
        rc = authdb_user_set_mechs(txn, p->login, strlen(p->login), p->mechs);
    return rc;
}

static int ts_put(struct ts_op *op)
{
    authdb *db = NULL;
    authdb_derive_params prm;
    authdb_secrets *s = NULL;
    struct ts_put put = {op->login, NULL, 0};
    int rc = authdb_open(op->dir, AUTHDB_BOTH | AUTHDB_WRITE, &db, NULL, 0);

    if (rc == AUTHDB_OK)
        rc = authdb_derive_params_get(db, NULL, &prm);
    if (rc == AUTHDB_OK && op->mechs != NULL && op->mechs[0] != '\0') {
        rc = authdb_mechs_parse(op->mechs, &put.mechs, NULL);
        prm.mechs = put.mechs;
    }
    if (rc == AUTHDB_OK)
        rc = authdb_secrets_derive(&prm, op->login, op->password, strlen(op->password), &s);
    put.s = s;
    if (rc == AUTHDB_OK)
        rc = authdb_write(db, ts_put_fn, &put);
    authdb_secrets_free(s);
    authdb_close(db);
    return rc;
}

static int ts_flags_fn(authdb_txn *txn, void *arg)
{
    const struct ts_op *op = arg;
    size_t n = strlen(op->login);
    return op->flag ? authdb_user_set_flags(txn, op->login, n, AUTHDB_USER_DISABLED, 0)
                    : authdb_user_set_flags(txn, op->login, n, 0, AUTHDB_USER_DISABLED);
}

static int ts_del_fn(authdb_txn *txn, void *arg)
{
    const struct ts_op *op = arg;
    return authdb_user_del(txn, op->login, strlen(op->login));
}

static int ts_write(struct ts_op *op, authdb_write_fn fn)
{
    authdb *db = NULL;
    int rc = authdb_open(op->dir, AUTHDB_BOTH | AUTHDB_WRITE, &db, NULL, 0);

    if (rc == AUTHDB_OK)
        rc = authdb_write(db, fn, op);
    authdb_close(db);
    return rc;
}

static int ts_disable(struct ts_op *op)
{
    return ts_write(op, ts_flags_fn);
}

static int ts_delete(struct ts_op *op)
{
    return ts_write(op, ts_del_fn);
}

static int ts_has(struct ts_op *op)
{
    authdb *db = NULL;
    authdb_user u;
    int rc = authdb_open(op->dir, AUTHDB_SECRETS, &db, NULL, 0);

    if (rc == AUTHDB_OK)
        rc = authdb_user_get(db, NULL, op->login, strlen(op->login), &u);
    if (rc == AUTHDB_OK)
        *op->out = (u.flags & AUTHDB_USER_DISABLED) != 0;
    authdb_close(db);
    return rc;
}

static int ts_verify(struct ts_op *op)
{
    authdb *db = NULL;
    int rc = authdb_open(op->dir, AUTHDB_SECRETS, &db, NULL, 0);

    if (rc == AUTHDB_OK)
        rc = authdb_verify_password(db, op->login, strlen(op->login), op->password,
                                    strlen(op->password));
    authdb_close(db);
    return rc;
}

int teststore_create(const char *dir, const char *mechs, const char *realm)
{
    struct ts_op op = {dir, NULL, NULL, mechs, realm, 0, NULL};
    return ts_child(ts_create, &op);
}

int teststore_put(const char *dir, const char *login, const char *password, const char *mechs)
{
    struct ts_op op = {dir, login, password, mechs, NULL, 0, NULL};
    return ts_child(ts_put, &op);
}

int teststore_disable(const char *dir, const char *login, int disabled)
{
    struct ts_op op = {dir, login, NULL, NULL, NULL, disabled, NULL};
    return ts_child(ts_disable, &op);
}

int teststore_delete(const char *dir, const char *login)
{
    struct ts_op op = {dir, login, NULL, NULL, NULL, 0, NULL};
    return ts_child(ts_delete, &op);
}

int teststore_has(const char *dir, const char *login, int *disabled)
{
    int flag = 0;
    struct ts_op op = {dir, login, NULL, NULL, NULL, 0, &flag};
    int rc = ts_child(ts_has, &op);

    if (disabled != NULL)
        *disabled = flag;
    return rc == AUTHDB_OK ? 1 : rc == AUTHDB_NOTFOUND ? 0 : rc;
}

int teststore_verify(const char *dir, const char *login, const char *password)
{
    struct ts_op op = {dir, login, password, NULL, NULL, 0, NULL};
    return ts_child(ts_verify, &op);
}

int teststore_corrupt(const char *dir)
{
    char path[4096];
    struct stat st;
    unsigned char junk[4096];
    off_t done = 0;
    int fd, rc = 0;

    memset(junk, 0xA5, sizeof(junk));
    snprintf(path, sizeof(path), "%s/secrets/data.mdb", dir);
    fd = open(path, O_WRONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = -1;
        goto out;
    }
    while (done < st.st_size && rc == 0) {
        size_t n =
            (size_t)(st.st_size - done) < sizeof(junk) ? (size_t)(st.st_size - done) : sizeof(junk);
        if (write(fd, junk, n) != (ssize_t)n)
            rc = -1;
        done += (off_t)n;
    }
out:
    if (fd >= 0)
        close(fd);
    return rc;
}
