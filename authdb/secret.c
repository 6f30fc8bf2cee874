/*
 * secret.c - a login's secrets: derivation, record format, lookup, verify.
 *
 * Interface: authdb_mechs_parse, authdb_mechs_format, authdb_secrets_derive,
 * authdb_secrets_from_hash, authdb_secrets_free, authdb_secrets_value,
 * authdb_secrets_kinds, authdb_secrets_flags, authdb_secrets_lookup,
 * authdb_verify_password; private secret_encode, secret_decode,
 * secret_header.
 *
 * Record (value of secrets/users, little-endian), version 1:
 *   u8 version, u8 flags, u8 mechs_override, u8 entry count,
 *   i64 created, i64 changed,
 *   then entries: u8 kind, u16 length, value.
 * DIGEST-MD5 entries hold u8 realm length, realm, 16-octet H(A1).
 * Every length is checked on decode; an unknown version or kind, a wrong
 * fixed size or a duplicate kind is AUTHDB_ECORRUPT (a temporary failure
 * for readers: never "no such user", never a pass).
 * An authdb_secrets owns one allocation holding every value, each followed
 * by a NUL; it is wiped on free.
 */
#include <endian.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <strings.h>
#include <time.h>

#include "authdb_private.h"

#define REC_HEADER 20
#define VALUE_MAX  1024

struct sec_val {
    uint32_t off, len;
};

struct authdb_secrets {
    unsigned flags, mechs_override, kinds;
    int64_t created, changed;
    char digest_realm[AUTHDB_REALM_MAX + 1];
    struct sec_val v[AUTHDB_SECRET_KIND_END_];
    size_t cap, used;
    unsigned char data[];
};

static const struct {
    const char *name;
    unsigned bit;
} mech_names[] = {
    {"SCRAM-SHA-256", AUTHDB_MECH_SCRAM_SHA256},
    {"SCRAM-SHA-1", AUTHDB_MECH_SCRAM_SHA1},
    {"CRAM-MD5", AUTHDB_MECH_CRAM_MD5},
    {"DIGEST-MD5", AUTHDB_MECH_DIGEST_MD5},
    {"PLAIN", AUTHDB_MECH_PLAIN},
    {"CLEARTEXT", AUTHDB_MECH_CLEARTEXT},
};
#define MECH_COUNT (sizeof(mech_names) / sizeof(mech_names[0]))

int authdb_mechs_parse(const char *text, unsigned *mask, const char **why)
{
    const char *p = text;
    unsigned m = 0;

    while (*p != '\0') {
        size_t len, i;
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        len = strcspn(p, " ,\t");
        if (len == 0)
            break;
        for (i = 0; i < MECH_COUNT; i++)
            if (strlen(mech_names[i].name) == len && strncasecmp(p, mech_names[i].name, len) == 0)
                break;
        if (i == MECH_COUNT) {
            if (why != NULL)
                *why = "unknown mechanism (known: SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 "
                       "DIGEST-MD5 PLAIN CLEARTEXT)";
            return AUTHDB_EINVAL;
        }
        m |= mech_names[i].bit;
        p += len;
    }
    *mask = m;
    return AUTHDB_OK;
}

void authdb_mechs_format(unsigned mask, char *out, size_t outsz)
{
    size_t o = 0;

    if (outsz == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < MECH_COUNT; i++) {
        if (!(mask & mech_names[i].bit))
            continue;
        size_t l = strlen(mech_names[i].name);
        if (o + l + (o > 0) + 1 > outsz)
            break;
        if (o > 0)
            out[o++] = ' ';
        memcpy(out + o, mech_names[i].name, l + 1);
        o += l;
    }
}

/* ------------------------------------------------------------ the object */

static authdb_secrets *sec_new(size_t cap)
{
    authdb_secrets *s = malloc(sizeof(*s) + cap);
    if (s != NULL) {
        memset(s, 0, sizeof(*s));
        s->cap = cap;
    }
    return s;
}

static int sec_add(authdb_secrets *s, enum authdb_secret_kind kind, const void *p, size_t len)
{
    if (kind <= 0 || kind >= AUTHDB_SECRET_KIND_END_ || (s->kinds & (1u << kind)))
        return AUTHDB_ECORRUPT;
    if (len > VALUE_MAX || s->used + len + 1 > s->cap)
        return AUTHDB_ETOOLONG;
    memcpy(s->data + s->used, p, len);
    s->data[s->used + len] = '\0';
    s->v[kind].off = (uint32_t)s->used;
    s->v[kind].len = (uint32_t)len;
    s->used += len + 1;
    s->kinds |= 1u << kind;
    return AUTHDB_OK;
}

void authdb_secrets_free(authdb_secrets *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, sizeof(*s) + s->used);
    free(s);
}

int authdb_secrets_value(const authdb_secrets *s, enum authdb_secret_kind kind, const void **val,
                         size_t *len)
{
    if (kind <= 0 || kind >= AUTHDB_SECRET_KIND_END_ || !(s->kinds & (1u << kind)))
        return AUTHDB_NOTFOUND;
    *val = s->data + s->v[kind].off;
    *len = s->v[kind].len;
    return AUTHDB_OK;
}

unsigned authdb_secrets_kinds(const authdb_secrets *s)
{
    return s->kinds;
}

unsigned authdb_secrets_flags(const authdb_secrets *s)
{
    return s->flags;
}

/* ------------------------------------------------------------ derivation */

int authdb_secrets_derive(const authdb_derive_params *p, const char *login, const char *password,
                          size_t pwlen, authdb_secrets **out)
{
    unsigned char salt[16], bin[33];
    char text[512];
    authdb_secrets *s = NULL;
    int rc;

    *out = NULL;
    if (pwlen > AUTHDB_PASSWORD_MAX)
        return AUTHDB_ETOOLONG;
    if (pwlen == 0 || memchr(password, '\0', pwlen) != NULL)
        return AUTHDB_EINVAL;
    if ((p->mechs & (AUTHDB_MECH_SCRAM_SHA1 | AUTHDB_MECH_SCRAM_SHA256)) &&
        p->scram_iterations < 4096)
        return AUTHDB_EINVAL;
    s = sec_new(4096 + 2 * pwlen);
    if (s == NULL)
        return AUTHDB_ENOMEM;
    rc = pwhash_make(p->password_hash[0] ? p->password_hash : "yescrypt", password, pwlen, text,
                     sizeof(text));
    if (rc == AUTHDB_OK)
        rc = sec_add(s, AUTHDB_SECRET_HASH, text, strlen(text));
    for (int i = 0; i < 2 && rc == AUTHDB_OK; i++) {
        unsigned bit = i == 0 ? AUTHDB_MECH_SCRAM_SHA256 : AUTHDB_MECH_SCRAM_SHA1;
        if (!(p->mechs & bit))
            continue;
        if (getentropy(salt, sizeof(salt)) != 0) {
            rc = AUTHDB_EHASH;
            break;
        }
        rc = scram_format(i == 0 ? SCRAM_SHA256 : SCRAM_SHA1, password, pwlen, salt, sizeof(salt),
                          p->scram_iterations, text, sizeof(text));
        if (rc == AUTHDB_OK)
            rc = sec_add(s, i == 0 ? AUTHDB_SECRET_SCRAM_SHA256 : AUTHDB_SECRET_SCRAM_SHA1, text,
                         strlen(text));
    }
    if (rc == AUTHDB_OK && (p->mechs & AUTHDB_MECH_CRAM_MD5)) {
        rc = legacy_cram_state(password, pwlen, bin);
        if (rc == AUTHDB_OK)
            rc = sec_add(s, AUTHDB_SECRET_CRAM_MD5, bin, 32);
    }
    if (rc == AUTHDB_OK && (p->mechs & AUTHDB_MECH_DIGEST_MD5)) {
        rc = legacy_digest_ha1(login, p->digest_realm, password, pwlen, bin);
        if (rc == AUTHDB_OK)
            rc = sec_add(s, AUTHDB_SECRET_DIGEST_MD5, bin, 16);
        snprintf(s->digest_realm, sizeof(s->digest_realm), "%s", p->digest_realm);
    }
    if (rc == AUTHDB_OK && (p->mechs & AUTHDB_MECH_PLAIN)) {
        if (getentropy(salt, sizeof(salt)) != 0)
            rc = AUTHDB_EHASH;
        if (rc == AUTHDB_OK)
            rc = legacy_plain(salt, password, pwlen, bin);
        if (rc == AUTHDB_OK)
            rc = sec_add(s, AUTHDB_SECRET_PLAIN, bin, 33);
    }
    if (rc == AUTHDB_OK && (p->mechs & AUTHDB_MECH_CLEARTEXT))
        rc = sec_add(s, AUTHDB_SECRET_CLEARTEXT, password, pwlen);
    explicit_bzero(text, sizeof(text));
    explicit_bzero(bin, sizeof(bin));
    if (rc != AUTHDB_OK) {
        authdb_secrets_free(s);
        return rc;
    }
    *out = s;
    return AUTHDB_OK;
}

#define SECRETS_NEW_CAP 4096

int authdb_secrets_new(authdb_secrets **out)
{
    *out = sec_new(SECRETS_NEW_CAP);
    return *out != NULL ? AUTHDB_OK : AUTHDB_ENOMEM;
}

static int value_ok(int kind, const unsigned char *p, size_t len);

int authdb_secrets_add(authdb_secrets *s, enum authdb_secret_kind kind, const void *val, size_t len,
                       const char *realm)
{
    if (kind <= 0 || kind >= AUTHDB_SECRET_KIND_END_)
        return AUTHDB_EINVAL;
    if (s->kinds & (1u << kind))
        return AUTHDB_EEXIST;
    if (!value_ok(kind, val, len))
        return AUTHDB_EINVAL;
    if (kind == AUTHDB_SECRET_HASH) {
        char h[AUTHDB_HASH_MAX + 1];
        memcpy(h, val, len);
        h[len] = '\0';
        if (pwhash_valid(h, NULL) != AUTHDB_OK)
            return AUTHDB_EINVAL;
    }
    if (kind == AUTHDB_SECRET_DIGEST_MD5) {
        if (realm != NULL && strlen(realm) > AUTHDB_REALM_MAX)
            return AUTHDB_ETOOLONG;
        snprintf(s->digest_realm, sizeof(s->digest_realm), "%s", realm != NULL ? realm : "");
    }
    return sec_add(s, kind, val, len);
}

int authdb_secrets_from_hash(const char *crypt_hash, authdb_secrets **out)
{
    authdb_secrets *s;
    int rc;

    *out = NULL;
    rc = pwhash_valid(crypt_hash, NULL);
    if (rc != AUTHDB_OK)
        return rc;
    s = sec_new(strlen(crypt_hash) + 1);
    if (s == NULL)
        return AUTHDB_ENOMEM;
    rc = sec_add(s, AUTHDB_SECRET_HASH, crypt_hash, strlen(crypt_hash));
    if (rc != AUTHDB_OK) {
        authdb_secrets_free(s);
        return rc;
    }
    *out = s;
    return AUTHDB_OK;
}

/* ---------------------------------------------------------------- record */

static void put_i64(unsigned char *p, int64_t v)
{
    uint64_t u = htole64((uint64_t)v);
    memcpy(p, &u, 8);
}

static int64_t get_i64(const unsigned char *p)
{
    uint64_t u;
    memcpy(&u, p, 8);
    return (int64_t)le64toh(u);
}

int secret_encode(const authdb_secrets *s, unsigned flags, unsigned mechs, int64_t created,
                  int64_t changed, unsigned char **out, size_t *outlen)
{
    size_t need = REC_HEADER, o;
    unsigned char *b;

    for (int k = 1; k < AUTHDB_SECRET_KIND_END_; k++)
        if (s->kinds & (1u << k))
            need +=
                3 + s->v[k].len + (k == AUTHDB_SECRET_DIGEST_MD5 ? 1 + strlen(s->digest_realm) : 0);
    b = malloc(need);
    if (b == NULL)
        return AUTHDB_ENOMEM;
    b[0] = RECORD_VERSION;
    b[1] = (unsigned char)flags;
    b[2] = (unsigned char)mechs;
    b[3] = 0; /* entry count, set below */
    put_i64(b + 4, created);
    put_i64(b + 12, changed);
    o = REC_HEADER;
    for (int k = 1; k < AUTHDB_SECRET_KIND_END_; k++) {
        size_t len, rl = 0;
        if (!(s->kinds & (1u << k)))
            continue;
        len = s->v[k].len;
        if (k == AUTHDB_SECRET_DIGEST_MD5) {
            rl = strlen(s->digest_realm);
            len += 1 + rl;
        }
        b[o] = (unsigned char)k;
        b[o + 1] = (unsigned char)(len & 0xff);
        b[o + 2] = (unsigned char)(len >> 8);
        o += 3;
        if (k == AUTHDB_SECRET_DIGEST_MD5) {
            b[o++] = (unsigned char)rl;
            memcpy(b + o, s->digest_realm, rl);
            o += rl;
        }
        memcpy(b + o, s->data + s->v[k].off, s->v[k].len);
        o += s->v[k].len;
        b[3]++;
    }
    *out = b;
    *outlen = o;
    return AUTHDB_OK;
}

static int value_ok(int kind, const unsigned char *p, size_t len)
{
    switch (kind) {
    case AUTHDB_SECRET_HASH:
        return len > 0 && len <= AUTHDB_HASH_MAX && memchr(p, '\0', len) == NULL;
    case AUTHDB_SECRET_SCRAM_SHA256:
        return scram_valid(SCRAM_SHA256, (const char *)p, len);
    case AUTHDB_SECRET_SCRAM_SHA1:
        return scram_valid(SCRAM_SHA1, (const char *)p, len);
    case AUTHDB_SECRET_CRAM_MD5:
        return len == 32;
    case AUTHDB_SECRET_DIGEST_MD5:
        return len == 16;
    case AUTHDB_SECRET_PLAIN:
        return len == 33 && p[16] == '\0';
    case AUTHDB_SECRET_CLEARTEXT:
        return len > 0 && len <= AUTHDB_PASSWORD_MAX && memchr(p, '\0', len) == NULL;
    default:
        return 0;
    }
}

int secret_decode(const void *data, size_t len, authdb_secrets **out)
{
    const unsigned char *b = data;
    authdb_secrets *s;
    size_t o = REC_HEADER;
    int rc = AUTHDB_OK;

    *out = NULL;
    if (len < REC_HEADER || b[0] != RECORD_VERSION || len > 64 * 1024)
        return AUTHDB_ECORRUPT;
    s = sec_new(len);
    if (s == NULL)
        return AUTHDB_ENOMEM;
    s->flags = b[1];
    s->mechs_override = b[2];
    s->created = get_i64(b + 4);
    s->changed = get_i64(b + 12);
    while (o < len && rc == AUTHDB_OK) {
        int kind;
        size_t vlen;
        const unsigned char *v;
        if (len - o < 3) {
            rc = AUTHDB_ECORRUPT;
            break;
        }
        kind = b[o];
        vlen = (size_t)b[o + 1] | ((size_t)b[o + 2] << 8);
        o += 3;
        if (vlen > len - o) {
            rc = AUTHDB_ECORRUPT;
            break;
        }
        v = b + o;
        o += vlen;
        if (kind == AUTHDB_SECRET_DIGEST_MD5) {
            size_t rl = vlen > 0 ? v[0] : 0;
            if (vlen < 1 || rl + 1 > vlen) {
                rc = AUTHDB_ECORRUPT;
                break;
            }
            memcpy(s->digest_realm, v + 1, rl);
            s->digest_realm[rl] = '\0';
            v += 1 + rl;
            vlen -= 1 + rl;
        }
        if (!value_ok(kind, v, vlen)) {
            rc = AUTHDB_ECORRUPT;
            break;
        }
        rc = sec_add(s, (enum authdb_secret_kind)kind, v, vlen);
        if (rc != AUTHDB_OK)
            rc = AUTHDB_ECORRUPT;
    }
    if (rc == AUTHDB_OK && !(s->kinds & (1u << AUTHDB_SECRET_HASH)))
        rc = AUTHDB_ECORRUPT; /* every login has a hash */
    if (rc == AUTHDB_OK && (unsigned)__builtin_popcount(s->kinds) != b[3])
        rc = AUTHDB_ECORRUPT; /* entries missing: a cut record */
    if (rc != AUTHDB_OK) {
        authdb_secrets_free(s);
        return rc;
    }
    *out = s;
    return AUTHDB_OK;
}

int secret_header(const void *data, size_t len, authdb_user *u)
{
    authdb_secrets *s;
    const void *h;
    size_t hl;
    const char *scheme = "unknown";
    int rc = secret_decode(data, len, &s);

    if (rc != AUTHDB_OK)
        return rc;
    u->flags = s->flags;
    u->kinds = s->kinds;
    u->mechs_override = s->mechs_override;
    u->created = s->created;
    u->changed = s->changed;
    if (authdb_secrets_value(s, AUTHDB_SECRET_HASH, &h, &hl) == AUTHDB_OK)
        pwhash_valid(h, &scheme);
    snprintf(u->hash_scheme, sizeof(u->hash_scheme), "%s", scheme);
    authdb_secrets_free(s);
    return AUTHDB_OK;
}

/* ---------------------------------------------------------------- lookup */

static int login_key(authdb_txn *txn, const char *login, size_t len, char *key, size_t *klen)
{
    authdb_norm n;
    const char *why;
    int rc = settings_read_norm(txn, &n);

    if (rc != AUTHDB_OK)
        return rc;
    return authdb_norm_login(&n, login, len, key, AUTHDB_NAME_BUFSZ, klen, &why);
}

int authdb_secrets_lookup(authdb *h, const char *login, size_t len, authdb_secrets **out)
{
    authdb_txn txn;
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;
    kv_val v;
    int rc;

    *out = NULL;
    rc = store_read_local(h, AUTHDB_SECRETS, &txn);
    if (rc != AUTHDB_OK)
        return rc;
    rc = login_key(&txn, login, len, key, &klen);
    if (rc != AUTHDB_OK)
        goto out;
    rc = kv_get(&txn, KV_USERS, key, klen, &v);
    if (rc == AUTHDB_OK)
        rc = secret_decode(v.data, v.size, out);
out:
    store_read_local_end(&txn);
    return rc;
}

int authdb_verify_password(authdb *h, const char *login, size_t len, const char *password,
                           size_t pwlen)
{
    authdb_txn txn;
    char key[AUTHDB_NAME_BUFSZ], hash[AUTHDB_HASH_MAX + 1];
    size_t klen;
    kv_val v;
    authdb_secrets *s = NULL;
    unsigned flags = 0;
    int rc, found = 0, keyrc;

    rc = store_read_local(h, AUTHDB_SECRETS, &txn);
    if (rc != AUTHDB_OK)
        return rc;
    keyrc = login_key(&txn, login, len, key, &klen);
    if (keyrc == AUTHDB_OK) {
        rc = kv_get(&txn, KV_USERS, key, klen, &v);
        if (rc == AUTHDB_OK) {
            const void *hv;
            size_t hl;
            rc = secret_decode(v.data, v.size, &s);
            if (rc == AUTHDB_OK &&
                authdb_secrets_value(s, AUTHDB_SECRET_HASH, &hv, &hl) == AUTHDB_OK) {
                memcpy(hash, hv, hl + 1);
                flags = s->flags;
                found = 1;
            }
            authdb_secrets_free(s);
        }
    } else if (authdb_is_tempfail(keyrc)) {
        rc = keyrc;
    } else {
        rc = AUTHDB_NOTFOUND;
    }
    if (rc == AUTHDB_NOTFOUND) {
        /* Unknown login: the same work as a known one, on the dummy. */
        rc = store_meta_get(&txn, ENV_SECRETS, "dummy_hash", &v);
        if (rc == AUTHDB_OK && v.size > 0 && v.size <= AUTHDB_HASH_MAX) {
            memcpy(hash, v.data, v.size);
            hash[v.size] = '\0';
        } else if (rc == AUTHDB_OK || rc == AUTHDB_NOTFOUND) {
            rc = AUTHDB_ECORRUPT;
        }
    }
    store_read_local_end(&txn); /* hash outside the read txn: keep it short */
    if (rc != AUTHDB_OK)
        goto out;
    rc = pwhash_check(hash, password, pwlen);
    if (rc == AUTHDB_EHASH || rc == AUTHDB_ENOMEM)
        goto out;
    if (!found)
        rc = keyrc != AUTHDB_OK ? keyrc : AUTHDB_NOTFOUND;
    else if (flags & AUTHDB_USER_DISABLED)
        rc = AUTHDB_EDISABLED;
out:
    explicit_bzero(hash, sizeof(hash));
    return rc;
}
