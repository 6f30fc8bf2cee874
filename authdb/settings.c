/*
 * settings.c - the store's settings: one table, checked values.
 *
 * Interface: authdb_setting_info_at, authdb_setting_info_find,
 * authdb_setting_check, authdb_setting_get, authdb_setting_set,
 * authdb_norm_get, authdb_derive_params_get, authdb_derive_params_for; private
 * settings_read_norm,
 * settings_put_defaults.
 *
 * Settings live in the meta DB of their environment under "s:<key>";
 * absent means the default.  local_part_case lives in both environments
 * (readers of either normalize logins) and is written to both in one
 * authdb_write().  Changing password_hash regenerates the dummy hash that
 * unknown logins are verified against, so both cost the same.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authdb_private.h"

typedef int (*setting_check_fn)(const char *value, char *out, size_t outsz, const char **why);

struct setting {
    authdb_setting_info info;
    setting_check_fn check;
};

static int check_mechs(const char *v, char *out, size_t outsz, const char **why)
{
    unsigned m;
    int rc = authdb_mechs_parse(v, &m, why);
    if (rc == AUTHDB_OK)
        authdb_mechs_format(m, out, outsz);
    return rc;
}

static int check_iterations(const char *v, char *out, size_t outsz, const char **why)
{
    char *end;
    unsigned long n;

    if (!isdigit((unsigned char)v[0]))
        goto bad;
    n = strtoul(v, &end, 10);
    if (*end != '\0' || n < 4096 || n > 10000000)
        goto bad;
    snprintf(out, outsz, "%lu", n);
    return AUTHDB_OK;
bad:
    *why = "scram_iterations must be a number from 4096 to 10000000";
    return AUTHDB_EINVAL;
}

static int check_enum(const char *v, const char *const *allowed, char *out, size_t outsz,
                      const char **why, const char *msg)
{
    for (size_t i = 0; allowed[i] != NULL; i++)
        if (strcasecmp(v, allowed[i]) == 0) {
            snprintf(out, outsz, "%s", allowed[i]);
            return AUTHDB_OK;
        }
    *why = msg;
    return AUTHDB_EINVAL;
}

static int check_hash(const char *v, char *out, size_t outsz, const char **why)
{
    static const char *const a[] = {"yescrypt", "bcrypt", "sha512-crypt", NULL};
    return check_enum(v, a, out, outsz, why,
                      "password_hash must be yescrypt, bcrypt or sha512-crypt");
}

static int check_case(const char *v, char *out, size_t outsz, const char **why)
{
    static const char *const a[] = {"insensitive", "sensitive", NULL};
    return check_enum(v, a, out, outsz, why, "local_part_case must be insensitive or sensitive");
}

static int check_yesno(const char *v, char *out, size_t outsz, const char **why)
{
    static const char *const a[] = {"yes", "no", NULL};
    return check_enum(v, a, out, outsz, why, "value must be yes or no");
}

static int check_realm(const char *v, char *out, size_t outsz, const char **why)
{
    size_t len = strlen(v);

    if (len > AUTHDB_REALM_MAX) {
        *why = "digest_realm is longer than 255 octets";
        return AUTHDB_ETOOLONG;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x21 || v[i] == '"' || v[i] == '\\' || v[i] == 0x7f) {
            *why = "digest_realm must not contain spaces, quotes, backslashes or controls";
            return AUTHDB_EINVAL;
        }
    snprintf(out, outsz, "%s", v);
    return AUTHDB_OK;
}

static int check_delims(const char *v, char *out, size_t outsz, const char **why)
{
    size_t len = strlen(v);

    if (len > 8) {
        *why = "subaddress_delimiter: at most 8 characters";
        return AUTHDB_ETOOLONG;
    }
    for (size_t i = 0; i < len; i++)
        if (!strchr("+-_=#~!$%&*/?^`{|}", v[i])) {
            *why =
                "subaddress_delimiter characters must be among + - _ = # ~ ! $ % & * / ? ^ ` { | }";
            return AUTHDB_EINVAL;
        }
    snprintf(out, outsz, "%s", v);
    return AUTHDB_OK;
}

static const struct setting settings[] = {
    {{"mechanisms", "SCRAM-SHA-256 SCRAM-SHA-1",
      "secrets derived from a new password: SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5 PLAIN "
      "CLEARTEXT",
      AUTHDB_SECRETS},
     check_mechs},
    {{"scram_iterations", "4096", "PBKDF2 iterations for new SCRAM secrets (4096 to 10000000)",
      AUTHDB_SECRETS},
     check_iterations},
    {{"password_hash", "yescrypt",
      "crypt(3) scheme for new passwords: yescrypt bcrypt sha512-crypt", AUTHDB_SECRETS},
     check_hash},
    {{"digest_realm", "", "realm DIGEST-MD5 secrets are derived for", AUTHDB_SECRETS}, check_realm},
    {{"local_part_case", "insensitive",
      "insensitive: Alice@x and alice@x are one login; sensitive: two (empty store only)",
      AUTHDB_SECRETS | AUTHDB_POLICY},
     check_case},
    {{"subaddress_delimiter", "+",
      "characters that start a subaddress (user+tag@domain); empty: none", AUTHDB_POLICY},
     check_delims},
    {{"self_send", "yes", "a login that is an address may send as itself", AUTHDB_POLICY},
     check_yesno},
};
#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

const authdb_setting_info *authdb_setting_info_at(size_t i)
{
    return i < SETTING_COUNT ? &settings[i].info : NULL;
}

static const struct setting *setting_find(const char *key)
{
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (strcmp(settings[i].info.key, key) == 0)
            return &settings[i];
    return NULL;
}

const authdb_setting_info *authdb_setting_info_find(const char *key)
{
    const struct setting *s = setting_find(key);
    return s != NULL ? &s->info : NULL;
}

int authdb_setting_check(const char *key, const char *value, char *out, size_t outsz,
                         const char **why)
{
    const struct setting *s = setting_find(key);
    const char *dummy;

    if (why == NULL)
        why = &dummy;
    if (s == NULL) {
        *why = "unknown setting";
        return AUTHDB_NOTFOUND;
    }
    if (strlen(value) > AUTHDB_SETTING_MAX) {
        *why = "value longer than 255 octets";
        return AUTHDB_ETOOLONG;
    }
    return s->check(value, out, outsz, why);
}

/* Read key from one env's meta, or its default. */
static int meta_setting(authdb_txn *txn, int which, const struct setting *s, char *out,
                        size_t outsz)
{
    char mk[64];
    kv_val v;
    int rc;

    snprintf(mk, sizeof(mk), "s:%s", s->info.key);
    rc = store_meta_get(txn, which, mk, &v);
    if (rc == AUTHDB_NOTFOUND) {
        snprintf(out, outsz, "%s", s->info.default_value);
        return AUTHDB_OK;
    }
    if (rc != AUTHDB_OK)
        return rc;
    if (v.size >= outsz || v.size > AUTHDB_SETTING_MAX)
        return AUTHDB_ECORRUPT;
    memcpy(out, v.data, v.size);
    out[v.size] = '\0';
    return AUTHDB_OK;
}

static int setting_read(authdb_txn *txn, const struct setting *s, char *out, size_t outsz)
{
    for (int i = 0; i < ENV_COUNT; i++)
        if ((s->info.envs & (1u << i)) && store_has_env(txn, i))
            return meta_setting(txn, i, s, out, outsz);
    return AUTHDB_ENOENV;
}

int authdb_setting_get(authdb *h, authdb_txn *txn, const char *key, char *out, size_t outsz)
{
    const struct setting *s = setting_find(key);
    authdb_txn *use;
    int own, rc;

    if (s == NULL)
        return AUTHDB_NOTFOUND;
    /* Read through whichever env of the setting the handle has. */
    rc =
        store_read_one(h, txn, txn != NULL ? 0 : s->info.envs & h->flags & AUTHDB_BOTH, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = setting_read(use, s, out, outsz);
    if (own)
        authdb_txn_end(use);
    return rc;
}

static int store_has_data(authdb_txn *txn, int *any)
{
    size_t n;
    int rc;

    *any = 0;
    rc = kv_count(txn, KV_USERS, &n);
    if (rc != AUTHDB_OK)
        return rc;
    if (n > 0) {
        *any = 1;
        return AUTHDB_OK;
    }
    return policy_has_rules(txn, any);
}

int authdb_setting_set(authdb_txn *txn, const char *key, const char *value, const char **why)
{
    const struct setting *s = setting_find(key);
    char canon[AUTHDB_SETTING_MAX + 1], mk[64], dummy[AUTHDB_HASH_MAX + 1];
    const char *w;
    int rc, any;

    if (why == NULL)
        why = &w;
    if (!store_is_write(txn))
        return AUTHDB_ERDONLY;
    rc = authdb_setting_check(key, value, canon, sizeof(canon), why);
    if (rc != AUTHDB_OK)
        return rc;
    for (int i = 0; i < ENV_COUNT; i++)
        if ((s->info.envs & (1u << i)) && !store_has_env(txn, i)) {
            *why = "this setting lives in both environments: open the store with both";
            return AUTHDB_ENOENV;
        }
    if (strcmp(key, "local_part_case") == 0) {
        char cur[32];
        rc = setting_read(txn, s, cur, sizeof(cur));
        if (rc != AUTHDB_OK)
            return rc;
        if (strcmp(cur, canon) != 0) {
            rc = store_has_data(txn, &any);
            if (rc != AUTHDB_OK)
                return rc;
            if (any) {
                *why = "local_part_case decides how logins are keyed: it can only change while "
                       "the store has no users and no rules (export, init a new store, import)";
                return AUTHDB_EBUSY;
            }
        }
    }
    snprintf(mk, sizeof(mk), "s:%s", key);
    txn->norm_ok = 0;
    txn->self_send = -1;
    for (int i = 0; i < ENV_COUNT; i++) {
        if (!(s->info.envs & (1u << i)))
            continue;
        rc = store_meta_put(txn, i, mk, canon, strlen(canon));
        if (rc != AUTHDB_OK)
            return rc;
        if (i == ENV_SECRETS && strcmp(key, "password_hash") == 0) {
            rc = pwhash_dummy(canon, dummy, sizeof(dummy));
            if (rc == AUTHDB_OK)
                rc = store_meta_put(txn, i, "dummy_hash", dummy, strlen(dummy));
            if (rc != AUTHDB_OK)
                return rc;
        }
    }
    return AUTHDB_OK;
}

int settings_put_defaults(int which, const char *const *given, settings_put_fn put, void *arg,
                          char *why, size_t whylen)
{
    char canon[AUTHDB_SETTING_MAX + 1], mk[64], dummy[AUTHDB_HASH_MAX + 1];
    const char *hash = "yescrypt", *w = "";
    int rc;

    for (size_t i = 0; given != NULL && given[i] != NULL; i += 2) {
        const struct setting *s = setting_find(given[i]);
        if (given[i + 1] == NULL)
            return AUTHDB_EINVAL;
        rc = authdb_setting_check(given[i], given[i + 1], canon, sizeof(canon), &w);
        if (rc != AUTHDB_OK) {
            snprintf(why, whylen, "setting %s: %s", given[i], w);
            return rc;
        }
        if (!(s->info.envs & (1u << which)))
            continue;
        snprintf(mk, sizeof(mk), "s:%s", given[i]);
        rc = put(arg, mk, canon, strlen(canon));
        if (rc != AUTHDB_OK)
            return rc;
        if (strcmp(given[i], "password_hash") == 0)
            hash = given[i + 1];
    }
    if (which != ENV_SECRETS)
        return AUTHDB_OK;
    rc = pwhash_dummy(hash, dummy, sizeof(dummy));
    if (rc != AUTHDB_OK) {
        snprintf(why, whylen, "cannot make the dummy %s hash: %s", hash, authdb_strerror(rc));
        return rc;
    }
    return put(arg, "dummy_hash", dummy, strlen(dummy));
}

/* On every lookup's path: kept to one meta get per environment. */
int settings_read_norm(authdb_txn *txn, authdb_norm *out)
{
    char v[AUTHDB_SETTING_MAX + 1];
    kv_val mv;
    int rc = AUTHDB_ENOENV;

    if (txn->norm_ok) {
        *out = txn->norm;
        return AUTHDB_OK;
    }
    authdb_norm_defaults(out);
    for (int i = 0; i < ENV_COUNT && rc == AUTHDB_ENOENV; i++)
        if (store_has_env(txn, i))
            rc = store_meta_get(txn, i, "s:local_part_case", &mv);
    if (rc == AUTHDB_OK)
        out->case_sensitive = mv.size == 9 && memcmp(mv.data, "sensitive", 9) == 0;
    else if (rc != AUTHDB_NOTFOUND)
        return rc;
    if (store_has_env(txn, ENV_POLICY)) {
        rc = meta_setting(txn, ENV_POLICY, setting_find("subaddress_delimiter"), v, sizeof(v));
        if (rc != AUTHDB_OK)
            return rc;
        snprintf(out->subaddress_delims, sizeof(out->subaddress_delims), "%.8s", v);
    }
    txn->norm = *out;
    txn->norm_ok = 1;
    return AUTHDB_OK;
}

int authdb_norm_get(authdb *h, authdb_txn *txn, authdb_norm *out)
{
    authdb_txn *use;
    int own, rc;

    rc = store_read_one(h, txn, txn != NULL ? 0 : h->flags & AUTHDB_BOTH, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = settings_read_norm(use, out);
    if (own)
        authdb_txn_end(use);
    return rc;
}

int authdb_derive_params_get(authdb *h, authdb_txn *txn, authdb_derive_params *out)
{
    char v[AUTHDB_SETTING_MAX + 1];
    authdb_txn *use;
    int own, rc;

    memset(out, 0, sizeof(*out));
    rc = store_read_one(h, txn, txn != NULL ? 0 : AUTHDB_SECRETS, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = setting_read(use, setting_find("mechanisms"), v, sizeof(v));
    if (rc == AUTHDB_OK)
        rc = authdb_mechs_parse(v, &out->mechs, NULL);
    if (rc == AUTHDB_OK)
        rc = setting_read(use, setting_find("scram_iterations"), v, sizeof(v));
    if (rc == AUTHDB_OK)
        out->scram_iterations = (unsigned)strtoul(v, NULL, 10);
    if (rc == AUTHDB_OK)
        rc = setting_read(use, setting_find("password_hash"), out->password_hash,
                          sizeof(out->password_hash));
    if (rc == AUTHDB_OK)
        rc = setting_read(use, setting_find("digest_realm"), out->digest_realm,
                          sizeof(out->digest_realm));
    if (own)
        authdb_txn_end(use);
    return rc;
}

int authdb_derive_params_for(authdb *h, authdb_txn *txn, const char *login, size_t len,
                             authdb_derive_params *out)
{
    authdb_user u;
    int rc = authdb_derive_params_get(h, txn, out);

    if (rc != AUTHDB_OK)
        return rc;
    rc = authdb_user_get(h, txn, login, len, &u);
    if (rc == AUTHDB_OK && u.mechs_override != 0)
        out->mechs = u.mechs_override;
    return rc == AUTHDB_NOTFOUND ? AUTHDB_OK : rc;
}
