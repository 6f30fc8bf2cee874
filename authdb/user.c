/*
 * user.c - logins in the secrets environment.
 *
 * Interface: authdb_user_get, authdb_user_put, authdb_user_del,
 * authdb_user_set_flags, authdb_user_set_mechs, authdb_user_foreach,
 * authdb_user_secrets.
 *
 * Keys are logins normalized by the store's rules (normalize.c); values
 * are secret.c records.  Writers run inside authdb_write(); a record is
 * replaced in one kv_put, so a reader sees the old or the new record,
 * never a mix.  Deleting a login also deletes its send-as rules
 * (policy.c), so a later login of the same name does not inherit them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authdb_private.h"

static int user_key(authdb_txn *txn, const char *login, size_t len, char *key, size_t *klen)
{
    authdb_norm n;
    const char *why;
    int rc = settings_read_norm(txn, &n);

    if (rc != AUTHDB_OK)
        return rc;
    return authdb_norm_login(&n, login, ADB_STRLEN(login, len), key, AUTHDB_NAME_BUFSZ, klen, &why);
}

/* The record of a login in txn: AUTHDB_OK with v, AUTHDB_NOTFOUND, or error. */
static int user_fetch(authdb_txn *txn, const char *key, size_t klen, kv_val *v)
{
    return kv_get(txn, KV_USERS, key, klen, v);
}

int authdb_user_get(authdb *h, authdb_txn *txn, const char *login, size_t len, authdb_user *out)
{
    authdb_txn *use;
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;
    kv_val v;
    int own, rc;

    memset(out, 0, sizeof(*out));
    rc = store_read_one(h, txn, AUTHDB_SECRETS, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = user_key(use, login, len, key, &klen);
    if (rc == AUTHDB_OK)
        rc = user_fetch(use, key, klen, &v);
    if (rc == AUTHDB_OK)
        rc = secret_header(v.data, v.size, out);
    if (rc == AUTHDB_OK)
        memcpy(out->login, key, klen + 1);
    if (own)
        authdb_txn_end(use);
    return rc;
}

int authdb_user_secrets(authdb *h, authdb_txn *txn, const char *login, size_t len,
                        authdb_secrets **out)
{
    authdb_txn *use;
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;
    kv_val v;
    int own, rc;

    *out = NULL;
    rc = store_read_one(h, txn, AUTHDB_SECRETS, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = user_key(use, login, len, key, &klen);
    if (rc == AUTHDB_OK)
        rc = user_fetch(use, key, klen, &v);
    if (rc == AUTHDB_OK)
        rc = secret_decode(v.data, v.size, out);
    if (own)
        authdb_txn_end(use);
    return rc;
}

static int user_store(authdb_txn *txn, const char *key, size_t klen, const authdb_secrets *s,
                      unsigned flags, unsigned mechs, int64_t created, int64_t changed)
{
    unsigned char *rec = NULL;
    size_t rlen;
    int rc;

    rc = secret_encode(s, flags, mechs, created, changed, &rec, &rlen);
    if (rc != AUTHDB_OK)
        return rc;
    rc = kv_put(txn, KV_USERS, key, klen, rec, rlen, 0);
    explicit_bzero(rec, rlen);
    free(rec);
    return rc;
}

int authdb_user_put(authdb_txn *txn, const char *login, size_t len, const authdb_secrets *s,
                    enum authdb_put_mode mode)
{
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;
    kv_val v;
    authdb_user old;
    int64_t now = (int64_t)time(NULL);
    int rc;

    if (!store_is_write(txn))
        return AUTHDB_ERDONLY;
    if (!(authdb_secrets_kinds(s) & (1u << AUTHDB_SECRET_HASH)))
        return AUTHDB_EINVAL; /* every login has a hash (secret.c) */
    rc = user_key(txn, login, len, key, &klen);
    if (rc != AUTHDB_OK)
        return rc;
    rc = user_fetch(txn, key, klen, &v);
    if (rc == AUTHDB_OK) {
        if (mode == AUTHDB_PUT_CREATE)
            return AUTHDB_EEXIST;
        rc = secret_header(v.data, v.size, &old);
        if (rc != AUTHDB_OK)
            return rc;
        return user_store(txn, key, klen, s, old.flags, old.mechs_override, old.created, now);
    }
    if (rc != AUTHDB_NOTFOUND)
        return rc;
    if (mode == AUTHDB_PUT_REPLACE)
        return AUTHDB_NOTFOUND;
    return user_store(txn, key, klen, s, 0, 0, now, now);
}

int authdb_user_del(authdb_txn *txn, const char *login, size_t len)
{
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;
    int rc, had_user, had_rules;

    if (!store_is_write(txn))
        return AUTHDB_ERDONLY;
    if (!store_has_env(txn, ENV_SECRETS) || !store_has_env(txn, ENV_POLICY))
        return AUTHDB_ENOENV;
    rc = user_key(txn, login, len, key, &klen);
    if (rc != AUTHDB_OK)
        return rc;
    rc = kv_del(txn, KV_USERS, key, klen, NULL, 0);
    if (rc != AUTHDB_OK && rc != AUTHDB_NOTFOUND)
        return rc;
    had_user = rc == AUTHDB_OK;
    rc = policy_del_login(txn, key, klen);
    if (rc != AUTHDB_OK && rc != AUTHDB_NOTFOUND)
        return rc;
    had_rules = rc == AUTHDB_OK;
    return had_user || had_rules ? AUTHDB_OK : AUTHDB_NOTFOUND;
}

static int user_rewrite(authdb_txn *txn, const char *login, size_t len, unsigned set,
                        unsigned clear, int set_mechs, unsigned mechs)
{
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;
    kv_val v;
    authdb_secrets *s = NULL;
    authdb_user u;
    int rc;

    if (!store_is_write(txn))
        return AUTHDB_ERDONLY;
    rc = user_key(txn, login, len, key, &klen);
    if (rc == AUTHDB_OK)
        rc = user_fetch(txn, key, klen, &v);
    if (rc == AUTHDB_OK)
        rc = secret_header(v.data, v.size, &u);
    if (rc == AUTHDB_OK)
        rc = secret_decode(v.data, v.size, &s);
    if (rc != AUTHDB_OK)
        return rc;
    rc = user_store(txn, key, klen, s, (u.flags | set) & ~clear,
                    set_mechs ? mechs : u.mechs_override, u.created, u.changed);
    authdb_secrets_free(s);
    return rc;
}

int authdb_user_set_flags(authdb_txn *txn, const char *login, size_t len, unsigned set,
                          unsigned clear)
{
    return user_rewrite(txn, login, len, set, clear, 0, 0);
}

int authdb_user_set_mechs(authdb_txn *txn, const char *login, size_t len, unsigned mechs)
{
    if (mechs & ~(unsigned)AUTHDB_MECH_ALL_)
        return AUTHDB_EINVAL;
    return user_rewrite(txn, login, len, 0, 0, 1, mechs);
}

int authdb_user_foreach(authdb *h, authdb_txn *txn, authdb_user_cb cb, void *arg)
{
    authdb_txn *use;
    kv_cursor *c = NULL;
    kv_val k = {0}, v = {0};
    authdb_user u;
    int own, rc;

    rc = store_read_one(h, txn, AUTHDB_SECRETS, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = kv_cursor_open(use, KV_USERS, &c);
    if (rc != AUTHDB_OK)
        goto out;
    for (rc = kv_cursor_get(c, &k, &v, KV_FIRST); rc == AUTHDB_OK;
         rc = kv_cursor_get(c, &k, &v, KV_NEXT)) {
        memset(&u, 0, sizeof(u));
        if (k.size > AUTHDB_LOGIN_MAX) {
            rc = AUTHDB_ECORRUPT;
            break;
        }
        memcpy(u.login, k.data, k.size);
        u.login[k.size] = '\0';
        rc = secret_header(v.data, v.size, &u);
        if (rc == AUTHDB_OK)
            rc = cb(&u, arg);
        if (rc != AUTHDB_OK)
            break;
    }
    if (rc == AUTHDB_NOTFOUND)
        rc = AUTHDB_OK;
out:
    kv_cursor_close(c);
    if (own)
        authdb_txn_end(use);
    return rc;
}
