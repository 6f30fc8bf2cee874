/*
 * setpass.c - store requests from sasl_setpass and saslpasswd2.
 *
 * Interface: setpass_plan, setpass_login, setpass_apply, setpass_status.
 *
 * What libsasl2 2.1.28 sends to an auxprop store function:
 *  - sasl_setpass(conn, user, pass): the connection's propctx with
 *    "userPassword" = pass, for user exactly as the caller gave it (no
 *    canonicalization, no realm), after a probe (ctx == NULL).
 *  - sasl_setpass(..., SASL_SET_DISABLE) (saslpasswd2 -d): "userPassword"
 *    and "*" (SASL_AUX_ALL), both without values: delete the user.
 *  - saslpasswd2, after every successful change and after a delete: a
 *    store of cmusaslsecretCRAM-MD5, -DIGEST-MD5 and -PLAIN without values
 *    ("wipe the old secrets").  Obeying it would undo the change just made;
 *    this store derives those secrets itself, so it is ignored.
 *  - SCRAM's setpass (only with scram_secret_generate: yes): authPassword
 *    for "user@realm-or-hostname".  Ignored for the same reason.
 * Properties whose names start with '*' are authid lookup results left in
 * the connection's propctx, not store requests.
 *
 * A password is turned into secrets with the store's settings (or the
 * login's mechanisms override), outside any write transaction because
 * deriving is slow, then written in one authdb_write.
 *
 * Diagnostics: none; callers map the authdb code with setpass_status.
 */
#include <string.h>
#include <strings.h>

#include <sasl/sasl.h>

#include "plugin_private.h"

enum setpass_action setpass_plan(const setpass_prop *props, size_t n, const char **password)
{
    enum setpass_action act = SETPASS_NONE;
    int del = 0;
    size_t i;

    *password = NULL;
    for (i = 0; i < n; i++) {
        const char *name = props[i].name;
        const char *const *v = props[i].values;

        if (name == NULL)
            continue;
        if (strcmp(name, "*") == 0) {
            del = 1;
        } else if (strcasecmp(name, props_name(PROPS_USERPASSWORD)) == 0) {
            const char *last = NULL;

            for (; v != NULL && *v != NULL; v++)
                last = *v;
            if (last != NULL && last[0] != '\0') {
                *password = last;
                act = SETPASS_SET;
            } else {
                del = 1;
            }
        }
    }
    if (del) {
        act = SETPASS_DELETE;
        *password = NULL;
    }
    return act;
}

int setpass_login(const char *user, size_t ulen, const char *realm, char *out, size_t outsz,
                  size_t *outlen)
{
    size_t rlen = realm == NULL ? 0 : strlen(realm);
    int add = rlen > 0 && memchr(user, '@', ulen) == NULL;
    size_t need = ulen + (add ? rlen + 1 : 0);
    int rc = AUTHDB_OK;

    if (ulen == 0 || memchr(user, '\0', ulen) != NULL) {
        rc = AUTHDB_EINVAL;
        goto out;
    }
    if (need >= outsz || need > AUTHDB_LOGIN_MAX) {
        rc = AUTHDB_ETOOLONG;
        goto out;
    }
    memcpy(out, user, ulen);
    if (add) {
        out[ulen] = '@';
        memcpy(out + ulen + 1, realm, rlen);
    }
    out[need] = '\0';
    *outlen = need;
out:
    return rc;
}

struct setpass_put {
    const char *login;
    size_t len;
    const authdb_secrets *secrets;
};

static int setpass_put_fn(authdb_txn *txn, void *arg)
{
    const struct setpass_put *p = arg;
    return authdb_user_put(txn, p->login, p->len, p->secrets, AUTHDB_PUT_UPSERT);
}

struct setpass_del {
    const char *login;
    size_t len;
};

static int setpass_del_fn(authdb_txn *txn, void *arg)
{
    const struct setpass_del *d = arg;
    return authdb_user_del(txn, d->login, d->len);
}

/* The derivation parameters for login: the store's, with the login's
 * mechanisms override when it has one. */
static int setpass_params(authdb *db, const char *login, size_t len, authdb_derive_params *p)
{
    authdb_user u;
    int rc = authdb_derive_params_get(db, NULL, p);

    if (rc != AUTHDB_OK)
        goto out;
    rc = authdb_user_get(db, NULL, login, len, &u);
    if (rc == AUTHDB_OK && u.mechs_override != 0)
        p->mechs = u.mechs_override;
    if (rc == AUTHDB_NOTFOUND)
        rc = AUTHDB_OK;
out:
    return rc;
}

static int setpass_set(authdb *db, const char *login, size_t len, const char *password,
                       size_t pwlen)
{
    authdb_derive_params p;
    authdb_secrets *s = NULL;
    authdb_norm norm;
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;
    struct setpass_put put;
    int rc;

    /* Derive for the normalized login: DIGEST-MD5's H(A1) hashes it. */
    rc = authdb_norm_get(db, NULL, &norm);
    if (rc == AUTHDB_OK)
        rc = authdb_norm_login(&norm, login, len, key, sizeof(key), &klen, NULL);
    if (rc == AUTHDB_OK)
        rc = setpass_params(db, key, klen, &p);
    if (rc == AUTHDB_OK)
        rc = authdb_secrets_derive(&p, key, password, pwlen, &s);
    if (rc != AUTHDB_OK)
        goto out;
    put.login = key;
    put.len = klen;
    put.secrets = s;
    rc = authdb_write(db, setpass_put_fn, &put);
out:
    authdb_secrets_free(s);
    return rc;
}

int setpass_apply(authdb *db, enum setpass_action action, const char *login, size_t len,
                  const char *password, size_t pwlen)
{
    struct setpass_del del = {login, len};
    int rc = AUTHDB_OK;

    switch (action) {
    case SETPASS_SET:
        rc = setpass_set(db, login, len, password, pwlen);
        break;
    case SETPASS_DELETE:
        rc = authdb_write(db, setpass_del_fn, &del);
        break;
    case SETPASS_NONE:
        break;
    }
    return rc;
}

int setpass_status(int authdb_rc)
{
    int r;

    switch (authdb_rc) {
    case AUTHDB_OK:
        r = SASL_OK;
        break;
    case AUTHDB_NOTFOUND:
        r = SASL_NOUSER;
        break;
    case AUTHDB_EINVAL:
    case AUTHDB_ETOOLONG:
        r = SASL_BADPARAM;
        break;
    default:
        r = SASL_FAIL;
        break;
    }
    return r;
}
