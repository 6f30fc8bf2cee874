/*
 * query_b64.c - strict base64 (see query_b64.h).
 */
#include "query_b64.h"

#include <errno.h>
#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1. */
static int value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static const char *limit_reason(const sbuf *out)
{
    return sbuf_error(out) == E2BIG ? "decoded value too long" : "out of memory";
}

int query_b64_decode(const char *in, size_t len, sbuf *out, const char **why)
{
    const unsigned char *s = (const unsigned char *)in;
    int rc = -1;

    *why = NULL;
    if (len % 4 != 0) {
        *why = "base64 length is not a multiple of 4";
        goto out;
    }
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        unsigned char b[3];
        uint32_t group;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            v[k] = pad > 0 ? -1 : value(s[i + k]);
            if (v[k] < 0) {
                *why = pad > 0 || s[i + k] == '=' ? "base64 padding inside the value"
                                                  : "character outside the base64 alphabet";
                goto out;
            }
        }
        group = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (group & 0xFF) != 0) || (pad == 2 && (group & 0xFFFF) != 0)) {
            *why = "base64 value has non-zero padding bits";
            goto out;
        }
        b[0] = (unsigned char)(group >> 16);
        b[1] = (unsigned char)(group >> 8);
        b[2] = (unsigned char)group;
        if (sbuf_add(out, b, (size_t)(3 - pad)) != 0) {
            *why = limit_reason(out);
            goto out;
        }
    }
    if (sbuf_add(out, "", 0) != 0) { /* NUL-terminate even when empty */
        *why = limit_reason(out);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

int query_b64_encode(const void *in, size_t len, sbuf *out)
{
    const unsigned char *s = in;
    char q[4];
    int rc = 0;

    for (size_t i = 0; i < len && rc == 0; i += 3) {
        uint32_t group = (uint32_t)s[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;
        if (n > 1)
            group |= (uint32_t)s[i + 1] << 8;
        if (n > 2)
            group |= s[i + 2];
        q[0] = alphabet[(group >> 18) & 63];
        q[1] = alphabet[(group >> 12) & 63];
        q[2] = n > 1 ? alphabet[(group >> 6) & 63] : '=';
        q[3] = n > 2 ? alphabet[group & 63] : '=';
        rc = sbuf_add(out, q, 4);
    }
    if (rc == 0)
        rc = sbuf_add(out, "", 0);
    return rc;
}
