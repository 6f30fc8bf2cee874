/*
 * legacy.c - the password-equivalent secrets libsasl2's older mechanisms
 * read from an auxprop plugin.
 *
 * Interface (private): legacy_cram_state, legacy_digest_ha1, legacy_plain.
 *
 *  cmusaslsecretCRAM-MD5    32 octets: the HMAC-MD5 inner and outer MD5
 *                           chaining states after one key block (RFC 2104
 *                           precomputation), each word in network order,
 *                           as libsasl's hmac_md5_import expects.
 *  cmusaslsecretDIGEST-MD5  16 octets: MD5(user ":" realm ":" password),
 *                           the inner H(A1) of RFC 2831.
 *  cmusaslsecretPLAIN       33 octets: salt[16] NUL MD5(salt "sasldb" pw),
 *                           checked by libsasl's auxprop password check.
 * All are weak (password-equivalent for their mechanism, or a fast
 * unsalted/short-salted hash); the store derives them only on request.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <string.h>

#include "authdb_private.h"

static void md5_block_state(const unsigned char block[64], unsigned char out[16])
{
    MD5_CTX c;
    uint32_t w[4];

    MD5_Init(&c);
    MD5_Update(&c, block, 64); /* exactly one block: the chaining state */
    w[0] = htonl(c.A);
    w[1] = htonl(c.B);
    w[2] = htonl(c.C);
    w[3] = htonl(c.D);
    memcpy(out, w, 16);
    explicit_bzero(&c, sizeof(c));
}

int legacy_cram_state(const char *pw, size_t pwlen, unsigned char out[32])
{
    unsigned char key[64] = {0}, ipad[64], opad[64];

    if (pwlen > 64)
        MD5((const unsigned char *)pw, pwlen, key);
    else
        memcpy(key, pw, pwlen);
    for (int i = 0; i < 64; i++) {
        ipad[i] = key[i] ^ 0x36;
        opad[i] = key[i] ^ 0x5c;
    }
    md5_block_state(ipad, out);
    md5_block_state(opad, out + 16);
    explicit_bzero(key, sizeof(key));
    explicit_bzero(ipad, sizeof(ipad));
    explicit_bzero(opad, sizeof(opad));
    return AUTHDB_OK;
}

int legacy_digest_ha1(const char *user, const char *realm, const char *pw, size_t pwlen,
                      unsigned char out[16])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    if (c == NULL)
        return AUTHDB_ENOMEM;
    EVP_DigestInit_ex(c, EVP_md5(), NULL);
    EVP_DigestUpdate(c, user, strlen(user));
    EVP_DigestUpdate(c, ":", 1);
    EVP_DigestUpdate(c, realm, strlen(realm));
    EVP_DigestUpdate(c, ":", 1);
    EVP_DigestUpdate(c, pw, pwlen);
    EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
    return AUTHDB_OK;
}

int legacy_plain(const unsigned char salt[16], const char *pw, size_t pwlen, unsigned char out[33])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    if (c == NULL)
        return AUTHDB_ENOMEM;
    memcpy(out, salt, 16);
    out[16] = '\0';
    EVP_DigestInit_ex(c, EVP_md5(), NULL);
    EVP_DigestUpdate(c, salt, 16);
    EVP_DigestUpdate(c, "sasldb", 6);
    EVP_DigestUpdate(c, pw, pwlen);
    EVP_DigestFinal_ex(c, out + 17, NULL);
    EVP_MD_CTX_free(c);
    return AUTHDB_OK;
}
