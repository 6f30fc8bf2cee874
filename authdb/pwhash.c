/*
 * pwhash.c - crypt(3) password hashes through libxcrypt.
 *
 * Interface (private): pwhash_make, pwhash_check, pwhash_valid,
 * pwhash_dummy.
 *
 * New hashes are yescrypt (default), bcrypt or sha512-crypt with
 * libxcrypt's default cost; imported hashes of those and of sha256-crypt,
 * md5-crypt and DES crypt are accepted for verification.  Comparison is
 * constant-time (CRYPTO_memcmp).  crypt_r's "*" failure strings are
 * detected.  Cleartext copies are wiped with explicit_bzero.
 */
#include <crypt.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "authdb_private.h"

struct pwhash_scheme {
    const char *prefix;
    const char *name;
    int can_make;
    size_t tail; /* length of the hash after the last '$' (bcrypt: 53, salt+hash) */
};

static const struct pwhash_scheme schemes[] = {
    {"$y$", "yescrypt", 1, 43},  {"$2b$", "bcrypt", 1, 53},      {"$2a$", "bcrypt", 0, 53},
    {"$2y$", "bcrypt", 0, 53},   {"$6$", "sha512-crypt", 1, 86}, {"$5$", "sha256-crypt", 0, 43},
    {"$1$", "md5-crypt", 0, 22}, {"$7$", "scrypt", 0, 43},       {"$gy$", "gost-yescrypt", 0, 43},
};

static const struct pwhash_scheme *scheme_of(const char *hash)
{
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncmp(hash, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
            return &schemes[i];
    return NULL;
}

static const struct pwhash_scheme *scheme_named(const char *name)
{
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (schemes[i].can_make && strcmp(name, schemes[i].name) == 0)
            return &schemes[i];
    return NULL;
}

/* crypt_r needs a NUL-terminated password: copy it, refusing embedded NULs. */
static int pw_copy(const char *pw, size_t pwlen, char *buf, size_t bufsz)
{
    if (pwlen >= bufsz)
        return AUTHDB_ETOOLONG;
    if (memchr(pw, '\0', pwlen) != NULL)
        return AUTHDB_EINVAL;
    memcpy(buf, pw, pwlen);
    buf[pwlen] = '\0';
    return AUTHDB_OK;
}

int pwhash_make(const char *method, const char *password, size_t pwlen, char *out, size_t outsz)
{
    const struct pwhash_scheme *s = scheme_named(method);
    char setting[CRYPT_GENSALT_OUTPUT_SIZE], pw[AUTHDB_PASSWORD_MAX + 1];
    struct crypt_data *cd = NULL;
    const char *r;
    int rc;

    if (s == NULL)
        return AUTHDB_EINVAL;
    rc = pw_copy(password, pwlen, pw, sizeof(pw));
    if (rc != AUTHDB_OK)
        goto out;
    rc = AUTHDB_EHASH;
    if (crypt_gensalt_rn(s->prefix, 0, NULL, 0, setting, sizeof(setting)) == NULL)
        goto out;
    cd = calloc(1, sizeof(*cd));
    if (cd == NULL) {
        rc = AUTHDB_ENOMEM;
        goto out;
    }
    r = crypt_r(pw, setting, cd);
    if (r == NULL || r[0] == '*')
        goto out;
    if (strlen(r) + 1 > outsz || strlen(r) > AUTHDB_HASH_MAX) {
        rc = AUTHDB_ETOOLONG;
        goto out;
    }
    strcpy(out, r);
    rc = AUTHDB_OK;
out:
    explicit_bzero(pw, sizeof(pw));
    if (cd != NULL) {
        explicit_bzero(cd, sizeof(*cd));
        free(cd);
    }
    return rc;
}

int pwhash_check(const char *hash, const char *password, size_t pwlen)
{
    char pw[AUTHDB_PASSWORD_MAX + 1];
    struct crypt_data *cd = NULL;
    const char *r;
    size_t hlen = strlen(hash);
    int rc;

    rc = pw_copy(password, pwlen, pw, sizeof(pw));
    if (rc == AUTHDB_EINVAL || rc == AUTHDB_ETOOLONG) {
        /* Still spend the hash, with a password that cannot match. */
        pw[0] = '\0';
        rc = AUTHDB_EMISMATCH;
    }
    cd = calloc(1, sizeof(*cd));
    if (cd == NULL) {
        rc = AUTHDB_ENOMEM;
        goto out;
    }
    r = crypt_r(pw, hash, cd);
    if (r == NULL || r[0] == '*') {
        rc = AUTHDB_EHASH;
        goto out;
    }
    if (rc == AUTHDB_OK)
        rc =
            (strlen(r) == hlen && CRYPTO_memcmp(r, hash, hlen) == 0) ? AUTHDB_OK : AUTHDB_EMISMATCH;
out:
    explicit_bzero(pw, sizeof(pw));
    if (cd != NULL) {
        explicit_bzero(cd, sizeof(*cd));
        free(cd);
    }
    return rc;
}

/* Syntax check of a stored or imported hash, without computing it. */
int pwhash_valid(const char *hash, const char **scheme)
{
    const struct pwhash_scheme *s;
    size_t len = strlen(hash);

    if (len == 0 || len > AUTHDB_HASH_MAX)
        return len == 0 ? AUTHDB_EINVAL : AUTHDB_ETOOLONG;
    for (size_t i = 0; i < len; i++) {
        char c = hash[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '/' || c == '$' || c == '=' || c == ','))
            return AUTHDB_EINVAL;
    }
    s = scheme_of(hash);
    if (s == NULL) {
        /* Traditional DES crypt: 13 characters from the salt alphabet. */
        if (len != 13 || strchr(hash, '$') != NULL)
            return AUTHDB_EINVAL;
        if (scheme != NULL)
            *scheme = "des-crypt";
    } else {
        /* A setting without its hash ("$6$salt$") is not a hash. */
        const char *last = strrchr(hash, '$');
        if (strlen(last + 1) != s->tail)
            return AUTHDB_EINVAL;
        if (scheme != NULL)
            *scheme = s->name;
    }
    switch (crypt_checksalt(hash)) {
    case CRYPT_SALT_OK:
    case CRYPT_SALT_METHOD_LEGACY:
        return AUTHDB_OK;
    default:
        return AUTHDB_EINVAL;
    }
}

int pwhash_dummy(const char *method, char *out, size_t outsz)
{
    unsigned char rnd[24];
    char pw[sizeof(rnd) * 2 + 1];
    int rc;

    if (getentropy(rnd, sizeof(rnd)) != 0)
        return AUTHDB_EHASH;
    for (size_t i = 0; i < sizeof(rnd); i++)
        pw[2 * i] = (char)('a' + (rnd[i] & 15)), pw[2 * i + 1] = (char)('a' + (rnd[i] >> 4));
    pw[sizeof(pw) - 1] = '\0';
    rc = pwhash_make(method, pw, strlen(pw), out, outsz);
    explicit_bzero(pw, sizeof(pw));
    return rc;
}
