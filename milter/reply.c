/*
 * reply.c - SMTP reply text helpers (see reply.h).
 */
#include "reply.h"

#include <stdio.h>
#include <string.h>

/* Append piece (plen octets) if it fits with room for "..." and NUL. */
static int put(char *out, size_t outsz, size_t *o, const char *piece, size_t plen)
{
    if (*o + plen + 4 > outsz) {
        memcpy(out + *o, "...", 3);
        *o += 3;
        return -1;
    }
    memcpy(out + *o, piece, plen);
    *o += plen;
    return 0;
}

char *reply_sanitize(const char *in, size_t len, char *out, size_t outsz)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        char hex[5];
        int rc;
        if (c >= 0x20 && c < 0x7F) {
            rc = put(out, outsz, &o, (const char *)&in[i], 1);
        } else {
            snprintf(hex, sizeof(hex), "\\x%02X", c);
            rc = put(out, outsz, &o, hex, 4);
        }
        if (rc != 0)
            break;
    }
    out[o] = '\0';
    return out;
}

char *reply_escape(const char *in, char *out, size_t outsz)
{
    size_t o = 0;

    for (size_t i = 0; in[i] != '\0'; i++) {
        int rc = 0;
        if (in[i] == '\r' || in[i] == '\n')
            continue;
        if (in[i] == '%')
            rc = put(out, outsz, &o, "%%", 2);
        else
            rc = put(out, outsz, &o, &in[i], 1);
        if (rc != 0)
            break;
    }
    out[o] = '\0';
    return out;
}
