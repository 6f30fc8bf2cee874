/*
 * charset.c - MIME charset to UTF-8 (see charset.h).
 *
 * Native decoders for the common cases keep the hot path free of iconv;
 * iconv descriptors are opened per call (glibc caches its modules), so the
 * module holds no state and is safe on any thread.
 */
#include "charset.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

/* Windows-1252 0x80..0x9F (0 = undefined). */
static const unsigned short cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

static int charset_is(const char *name, size_t len, const char *const *names)
{
    int found = 0;

    for (size_t i = 0; names[i] != NULL && !found; i++)
        found = strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0;
    return found;
}

static void put_cp(sbuf *out, uint32_t cp)
{
    char u[4];
    size_t n = utf8_encode(cp, u);

    sbuf_add(out, u, n);
}

static void decode_cp1252(const unsigned char *in, size_t len, sbuf *out, unsigned *flags)
{
    for (size_t i = 0; i < len; i++) {
        uint32_t cp = in[i];
        if (cp >= 0x80 && cp < 0xA0) {
            cp = cp1252_high[cp - 0x80];
            if (cp == 0) {
                cp = UTF8_REPLACEMENT;
                *flags |= CHARSET_LOSSY;
            }
        }
        put_cp(out, cp);
    }
}

static void decode_utf8(const unsigned char *in, size_t len, sbuf *out, unsigned *flags)
{
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        n = utf8_decode(in + i, len - i, &cp);
        if (n == 0) {
            cp = UTF8_REPLACEMENT;
            n = 1;
            *flags |= CHARSET_LOSSY;
        }
        put_cp(out, cp);
        i += n;
    }
}

static void decode_unknown(const unsigned char *in, size_t len, sbuf *out, unsigned *flags)
{
    for (size_t i = 0; i < len; i++) {
        if (in[i] < 0x80) {
            sbuf_addc(out, (char)in[i]);
        } else {
            put_cp(out, UTF8_REPLACEMENT);
            *flags |= CHARSET_LOSSY;
        }
    }
}

/* Returns 0 when iconv handled it, -1 when the charset is unknown or iconv
 * produced something that is not UTF-8 (out is then left as it was). */
static int decode_iconv(const char *name, const unsigned char *in, size_t len, sbuf *out,
                        unsigned *flags)
{
    iconv_t cd = iconv_open("UTF-8", name);
    size_t start = out->len;
    char *ip = (char *)in;
    size_t ileft = len;
    unsigned lossy = 0;
    int rc = -1;

    if (cd == (iconv_t)-1)
        return -1;
    for (;;) {
        char chunk[256];
        char *op = chunk;
        size_t oleft = sizeof(chunk);
        size_t r =
            ileft > 0 ? iconv(cd, &ip, &ileft, &op, &oleft) : iconv(cd, NULL, NULL, &op, &oleft);
        int e = errno;

        sbuf_add(out, chunk, sizeof(chunk) - oleft);
        if (sbuf_error(out) != 0)
            goto out;
        if (r != (size_t)-1) {
            if (ileft == 0 && oleft == sizeof(chunk))
                break;
            continue;
        }
        if (e == E2BIG)
            continue;
        /* EILSEQ or EINVAL: replace one octet and go on. */
        put_cp(out, UTF8_REPLACEMENT);
        lossy = 1;
        if (ileft == 0)
            break;
        ip++;
        ileft--;
    }
    if (!utf8_valid(out->p + start, out->len - start)) {
        sbuf_truncate(out, start);
        goto out;
    }
    if (lossy)
        *flags |= CHARSET_LOSSY;
    rc = 0;
out:
    iconv_close(cd);
    return rc;
}

int charset_to_utf8(const char *name, size_t namelen, const unsigned char *in, size_t len,
                    sbuf *out, unsigned *flags)
{
    static const char *const utf8_names[] = {"utf-8", "utf8", NULL};
    static const char *const latin_names[] = {"us-ascii",     "ascii",   "iso-8859-1", "iso8859-1",
                                              "iso_8859-1",   "latin1",  "l1",         "cp819",
                                              "windows-1252", "cp1252",  "x-cp1252",   "iso-ir-100",
                                              "ibm819",       "csascii", "us",         NULL};
    char cname[CHARSET_NAME_MAX + 1];
    const char *star = memchr(name, '*', namelen);
    int known = 1;

    if (star != NULL)
        namelen = (size_t)(star - name);
    if (charset_is(name, namelen, utf8_names)) {
        decode_utf8(in, len, out, flags);
    } else if (charset_is(name, namelen, latin_names)) {
        decode_cp1252(in, len, out, flags);
    } else {
        /* Only plain names reach iconv: no "//" suffixes, no paths. */
        known = namelen > 0 && namelen <= CHARSET_NAME_MAX;
        for (size_t i = 0; known && i < namelen; i++) {
            unsigned char c = (unsigned char)name[i];
            known = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
        }
        if (known) {
            memcpy(cname, name, namelen);
            cname[namelen] = '\0';
            known = decode_iconv(cname, in, len, out, flags) == 0;
        }
        if (!known && sbuf_error(out) == 0) {
            *flags |= CHARSET_UNKNOWN;
            decode_unknown(in, len, out, flags);
        }
    }
    return sbuf_error(out) == 0 ? 0 : -1;
}
