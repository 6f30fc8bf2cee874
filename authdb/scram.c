/*
 * scram.c - SCRAM-SHA-1 / SCRAM-SHA-256 server keys (RFC 5802, RFC 7677).
 *
 * Interface (private): scram_keys, scram_format, b64_encode, b64_decode.
 *
 * SaltedPassword = PBKDF2-HMAC-H(password, salt, iterations);
 * StoredKey = H(HMAC(SaltedPassword, "Client Key"));
 * ServerKey = HMAC(SaltedPassword, "Server Key").
 * The stored text is what libsasl2 2.1.28's scram plugin parses from an
 * authPassword value: "SCRAM-SHA-256$<iter>:<b64 salt>$<b64 StoredKey>:<b64
 * ServerKey>".  The password is hashed as given (no SASLprep), as libsasl's
 * own setpass does.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "authdb_private.h"

int b64_encode(const unsigned char *in, size_t len, char *out, size_t outsz)
{
    if (outsz < 4 * ((len + 2) / 3) + 1)
        return AUTHDB_ETOOLONG;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return AUTHDB_OK;
}

int b64_decode(const char *in, size_t len, unsigned char *out, size_t outsz, size_t *outlen)
{
    size_t pad = 0;
    int n;

    if (len % 4 != 0 || outsz < len / 4 * 3)
        return AUTHDB_EINVAL;
    if (len > 0 && in[len - 1] == '=')
        pad++;
    if (len > 1 && in[len - 2] == '=')
        pad++;
    n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0 || (size_t)n < pad)
        return AUTHDB_EINVAL;
    *outlen = (size_t)n - pad;
    return AUTHDB_OK;
}

int scram_keys(enum scram_hash h, const char *pw, size_t pwlen, const unsigned char *salt,
               size_t saltlen, unsigned iter, unsigned char *client_key, unsigned char *stored_key,
               unsigned char *server_key, size_t *keylen)
{
    const EVP_MD *md = h == SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
    unsigned char salted[EVP_MAX_MD_SIZE];
    unsigned int len = (unsigned int)EVP_MD_size(md), l;
    int rc = AUTHDB_EHASH;

    if (iter < 1 || pwlen > AUTHDB_PASSWORD_MAX)
        return AUTHDB_EINVAL;
    if (PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, (int)saltlen, (int)iter, md, (int)len, salted) != 1)
        goto out;
    if (HMAC(md, salted, (int)len, (const unsigned char *)"Client Key", 10, client_key, &l) == NULL)
        goto out;
    if (EVP_Digest(client_key, len, stored_key, &l, md, NULL) != 1)
        goto out;
    if (HMAC(md, salted, (int)len, (const unsigned char *)"Server Key", 10, server_key, &l) == NULL)
        goto out;
    *keylen = len;
    rc = AUTHDB_OK;
out:
    explicit_bzero(salted, sizeof(salted));
    return rc;
}

int scram_format(enum scram_hash h, const char *pw, size_t pwlen, const unsigned char *salt,
                 size_t saltlen, unsigned iter, char *out, size_t outsz)
{
    unsigned char ck[EVP_MAX_MD_SIZE], sk[EVP_MAX_MD_SIZE], svk[EVP_MAX_MD_SIZE];
    char bsalt[128], bsk[96], bsvk[96];
    size_t klen;
    int rc, n;

    if (saltlen > 64)
        return AUTHDB_EINVAL;
    rc = scram_keys(h, pw, pwlen, salt, saltlen, iter, ck, sk, svk, &klen);
    if (rc != AUTHDB_OK)
        goto out;
    rc = b64_encode(salt, saltlen, bsalt, sizeof(bsalt));
    if (rc == AUTHDB_OK)
        rc = b64_encode(sk, klen, bsk, sizeof(bsk));
    if (rc == AUTHDB_OK)
        rc = b64_encode(svk, klen, bsvk, sizeof(bsvk));
    if (rc != AUTHDB_OK)
        goto out;
    n = snprintf(out, outsz, "%s$%u:%s$%s:%s", h == SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256",
                 iter, bsalt, bsk, bsvk);
    rc = (n < 0 || (size_t)n >= outsz) ? AUTHDB_ETOOLONG : AUTHDB_OK;
out:
    explicit_bzero(ck, sizeof(ck));
    explicit_bzero(sk, sizeof(sk));
    explicit_bzero(svk, sizeof(svk));
    return rc;
}

/* Is text (not NUL-terminated) a well-formed stored value for h:
 * "<name>$<iter>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>", iterations
 * 1..10000000, keys of the hash's size?  The decoders of stored records and
 * of values from outside (imports, a central store) rely on it. */
int scram_valid(enum scram_hash h, const char *text, size_t len)
{
    const char *name = h == SCRAM_SHA1 ? "SCRAM-SHA-1$" : "SCRAM-SHA-256$";
    size_t nl = strlen(name), klen = h == SCRAM_SHA1 ? 20 : 32, i, start, outlen;
    unsigned char buf[128];
    unsigned long iter = 0;

    if (len <= nl || len >= 512 || memcmp(text, name, nl) != 0 || memchr(text, '\0', len))
        return 0;
    for (i = nl; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        iter = iter * 10 + (unsigned long)(text[i] - '0');
        if (iter > 10000000)
            return 0;
    }
    if (i == nl || iter == 0 || i >= len || text[i] != ':')
        return 0;
    /* salt, StoredKey, ServerKey: separated by '$' then ':' */
    const char seps[3] = {'$', ':', '\0'};
    start = ++i;
    for (int field = 0; field < 3; field++) {
        while (i < len && text[i] != seps[field])
            i++;
        if ((field < 2 && i >= len) || (field == 2 && i != len))
            return 0;
        if (b64_decode(text + start, i - start, buf, sizeof(buf), &outlen) != AUTHDB_OK)
            return 0;
        if (field == 0 ? (outlen == 0 || outlen > 64) : outlen != klen)
            return 0;
        start = ++i;
    }
    return 1;
}
