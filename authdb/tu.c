/*
 * tu.c - test utilities (see tu.h).
 */
#include <dirent.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tu.h"

#define TU_MAX_DIRS 64

static char *tu_dirs[TU_MAX_DIRS];
static int tu_ndirs;

void tu_tmpdir(char *buf, size_t sz)
{
    char tmpl[] = "/tmp/authgate-test.XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    assert_true(strlen(d) < sz);
    strcpy(buf, d);
    if (tu_ndirs < TU_MAX_DIRS)
        tu_dirs[tu_ndirs++] = strdup(d);
}

void tu_new_store(char *buf, size_t sz, const char *const *settings)
{
    authdb_create_opts o = {(gid_t)-1, (gid_t)-1, 0, settings};
    char why[AUTHDB_WHY_MAX];
    int rc;

    tu_tmpdir(buf, sz);
    assert_true(strlen(buf) + 7 < sz);
    strcat(buf, "/store");
    rc = authdb_create(buf, &o, why, sizeof(why));
    if (rc != AUTHDB_OK)
        fail_msg("authdb_create %s: %s (%s)", buf, authdb_strerror(rc), why);
}

void tu_cleanup(void)
{
    for (int i = 0; i < tu_ndirs; i++) {
        char cmd[600];
        if (getenv("AUTHGATE_KEEP_TEST_DIRS") == NULL &&
            strncmp(tu_dirs[i], "/tmp/authgate-test.", 19) == 0) {
            snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tu_dirs[i]);
            if (system(cmd) != 0)
                fprintf(stderr, "tu: cannot remove %s\n", tu_dirs[i]);
        }
        free(tu_dirs[i]);
    }
    tu_ndirs = 0;
}

int tu_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s failed", path);
    return (int)(st.st_mode & 07777);
}

int tu_gid(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s failed", path);
    return (int)st.st_gid;
}

int tu_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

void tu_raw_put(const char *envdir, const char *db, const char *key, const void *val, size_t len)
{
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val};

    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    mdb_env_set_maxreaders(env, 1024);
    assert_int_equal(mdb_env_open(env, envdir, MDB_NOTLS, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, db, 0, &dbi), 0);
    assert_int_equal(mdb_put(t, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);
}

void tu_raw_del(const char *envdir, const char *db, const char *key)
{
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_val k = {strlen(key), (void *)key};

    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    mdb_env_set_maxreaders(env, 1024);
    assert_int_equal(mdb_env_open(env, envdir, MDB_NOTLS, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, db, 0, &dbi), 0);
    assert_int_equal(mdb_del(t, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);
}

void tu_raw_meta_put(const char *envdir, const char *key, const void *val, size_t len)
{
    tu_raw_put(envdir, "meta", key, val, len);
}

struct tu_op {
    const char *login, *a, *b;
    const authdb_secrets *s;
    const struct tu_rule *rules;
    int mode;
    unsigned set, clear, from, to;
};

static int op_put(authdb_txn *txn, void *arg)
{
    struct tu_op *o = arg;
    return authdb_user_put(txn, o->login, (size_t)-1, o->s, o->mode);
}

int tu_put(authdb *h, const char *login, const authdb_secrets *s, int mode)
{
    struct tu_op o = {.login = login, .s = s, .mode = mode};
    return authdb_write(h, op_put, &o);
}

int tu_add_user(authdb *h, const char *login, const char *password, int mode)
{
    authdb_derive_params p;
    authdb_secrets *s;
    authdb_norm n;
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;
    int rc;

    rc = authdb_derive_params_get(h, NULL, &p);
    if (rc != AUTHDB_OK)
        return rc;
    rc = authdb_norm_get(h, NULL, &n);
    if (rc == AUTHDB_OK)
        rc = authdb_norm_login(&n, login, strlen(login), key, sizeof(key), &klen, NULL);
    if (rc != AUTHDB_OK)
        return rc;
    rc = authdb_secrets_derive(&p, key, password, strlen(password), &s);
    if (rc != AUTHDB_OK)
        return rc;
    rc = tu_put(h, login, s, mode);
    authdb_secrets_free(s);
    return rc;
}

static int op_flags(authdb_txn *txn, void *arg)
{
    struct tu_op *o = arg;
    return authdb_user_set_flags(txn, o->login, (size_t)-1, o->set, o->clear);
}

int tu_set_flags(authdb *h, const char *login, unsigned set, unsigned clear)
{
    struct tu_op o = {.login = login, .set = set, .clear = clear};
    return authdb_write(h, op_flags, &o);
}

static int op_mechs(authdb_txn *txn, void *arg)
{
    struct tu_op *o = arg;
    return authdb_user_set_mechs(txn, o->login, (size_t)-1, o->set);
}

int tu_set_mechs(authdb *h, const char *login, unsigned mechs)
{
    struct tu_op o = {.login = login, .set = mechs};
    return authdb_write(h, op_mechs, &o);
}

static int op_del(authdb_txn *txn, void *arg)
{
    struct tu_op *o = arg;
    return authdb_user_del(txn, o->login, (size_t)-1);
}

int tu_del_user(authdb *h, const char *login)
{
    struct tu_op o = {.login = login};
    return authdb_write(h, op_del, &o);
}

static int op_setting(authdb_txn *txn, void *arg)
{
    struct tu_op *o = arg;
    return authdb_setting_set(txn, o->a, o->b, NULL);
}

int tu_setting(authdb *h, const char *key, const char *value)
{
    struct tu_op o = {.a = key, .b = value};
    return authdb_write(h, op_setting, &o);
}

static int op_domain(authdb_txn *txn, void *arg)
{
    struct tu_op *o = arg;
    return o->mode ? authdb_domain_add(txn, o->a, (size_t)-1)
                   : authdb_domain_del(txn, o->a, (size_t)-1);
}

int tu_domain(authdb *h, const char *domain, int add)
{
    struct tu_op o = {.a = domain, .mode = add};
    return authdb_write(h, op_domain, &o);
}

static int op_rules(authdb_txn *txn, void *arg)
{
    struct tu_op *o = arg;
    int rc = AUTHDB_OK;

    for (const struct tu_rule *r = o->rules; r->login != NULL && rc == AUTHDB_OK; r++)
        rc = authdb_rule_add(txn, r->login, (size_t)-1, r->action, r->pattern, (size_t)-1);
    return rc;
}

int tu_add_rules(authdb *h, const struct tu_rule *rules)
{
    struct tu_op o = {.rules = rules};
    return authdb_write(h, op_rules, &o);
}

struct tu_join {
    char *buf;
    size_t sz, len;
};

static int join_cb(const char *login, void *arg)
{
    struct tu_join *j = arg;
    int n = snprintf(j->buf + j->len, j->sz - j->len, "%s%s", j->len ? "," : "", login);
    if (n < 0 || (size_t)n >= j->sz - j->len)
        return AUTHDB_ETOOLONG;
    j->len += (size_t)n;
    return AUTHDB_OK;
}

int tu_senders(authdb *h, const char *address, char *buf, size_t sz)
{
    struct tu_join j = {buf, sz, 0};
    buf[0] = '\0';
    return authdb_senders_for(h, NULL, address, (size_t)-1, join_cb, &j, NULL);
}

/* sha512-crypt of "bulk" with salt "bulksalt" */
#define TU_BULK_HASH                                                                               \
    "$6$bulksalt$"                                                                                 \
    "IeYz13FXn3NVd61rhZYT3PhvCNapezIwwzLHxxJa69gXNo4RWI9cyxYxNEUeYS1QGtQ3SR09q8owXfKsml3Si0"

static int op_bulk(authdb_txn *txn, void *arg)
{
    struct tu_op *o = arg;
    char login[64];
    int rc = AUTHDB_OK;

    for (unsigned i = o->from; i < o->to && rc == AUTHDB_OK; i++) {
        snprintf(login, sizeof(login), "user%07u@bulk.test", i);
        rc = authdb_user_put(txn, login, (size_t)-1, o->s, AUTHDB_PUT_UPSERT);
    }
    return rc;
}

int tu_bulk_users(authdb *h, unsigned from, unsigned to)
{
    authdb_secrets *s;
    struct tu_op o = {.from = from, .to = to};
    int rc = authdb_secrets_from_hash(TU_BULK_HASH, &s);

    if (rc != AUTHDB_OK)
        return rc;
    o.s = s;
    rc = authdb_write(h, op_bulk, &o);
    authdb_secrets_free(s);
    return rc;
}

int tu_lookup_bulk(authdb *h, unsigned i)
{
    char login[64];
    authdb_secrets *s;
    int rc;

    snprintf(login, sizeof(login), "user%07u@bulk.test", i);
    rc = authdb_secrets_lookup(h, login, strlen(login), &s);
    authdb_secrets_free(s);
    return rc;
}
