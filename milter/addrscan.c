/*
 * addrscan.c - address-looking tokens in free text (see addrscan.h).
 */
#include "addrscan.h"

#include <stdint.h>
#include <string.h>

#include "sbuf.h"
#include "utf8.h"

/* What a code point becomes when folded: 0 = keep, -1 = drop, else the
 * ASCII replacement. */
static int fold_cp(uint32_t cp, unsigned *flags)
{
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
        *flags |= ADDRSCAN_BIDI;
        return -1;
    }
    if (cp == 0x00AD || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2060 && cp <= 0x2064) ||
        cp == 0xFEFF || cp == 0x061C || cp == 0x034F || cp == 0x180E ||
        (cp >= 0xFE00 && cp <= 0xFE0F))
        return -1;
    if (cp == 0xFE6B)
        return '@';
    if (cp == 0x3002 || cp == 0xFF61 || cp == 0xFE52 || cp == 0x2024)
        return '.';
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        return (int)(cp - 0xFEE0);
    if (cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
        cp == 0x205F || cp == 0x3000)
        return ' ';
    return 0;
}

static int is_local_char(unsigned char c)
{
    return c >= 0x80 || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

static int is_domain_char(unsigned char c)
{
    return c >= 0x80 || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* The token around the "@" at f[at], or 0 when there is none. */
static int token_at(const char *f, size_t len, size_t at, size_t *start, size_t *end)
{
    const unsigned char *u = (const unsigned char *)f;
    size_t l = at, r = at + 1;
    int dot = 0, high = 0, literal = 0;

    while (l > 0 && is_local_char(u[l - 1]))
        l--;
    while (l < at && (u[l] == '.' || u[l] == '\'' || u[l] == '`'))
        l++;
    if (r < len && u[r] == '[') {
        while (r < len && u[r] != ']' && u[r] != '[' && u[r] > ' ')
            r++;
        if (r >= len || u[r] != ']')
            return 0;
        r++;
        literal = 1;
    } else {
        while (r < len && is_domain_char(u[r])) {
            high |= u[r] >= 0x80;
            r++;
        }
        while (r > at + 1 && u[r - 1] == '.')
            r--;
        dot = memchr(f + at + 1, '.', r - at - 1) != NULL;
    }
    if (l == at || r == at + 1 || !(dot || high || literal))
        return 0;
    *start = l;
    *end = r;
    return 1;
}

int addrscan_run(const char *text, size_t len, addrscan_cb cb, void *arg, unsigned *flags)
{
    const unsigned char *u = (const unsigned char *)text;
    sbuf f;
    size_t i = 0, n, start, end;
    uint32_t cp;
    int rc = 0;

    sbuf_init(&f, len);
    /* Plain ASCII without "@": nothing to fold, nothing to find. */
    for (i = 0; i < len && (unsigned char)text[i] < 0x80 && text[i] != '@'; i++)
        ;
    if (i == len)
        goto out;
    i = 0;
    while (i < len) {
        int m;
        n = utf8_decode(u + i, len - i, &cp);
        if (n == 0) {
            n = 1; /* cannot happen for valid input; copy through */
            m = 0;
        } else {
            m = fold_cp(cp, flags);
        }
        if (m > 0)
            sbuf_addc(&f, (char)m);
        else if (m == 0)
            sbuf_add(&f, text + i, n);
        i += n;
    }
    if (sbuf_error(&f) != 0) {
        rc = -1;
        goto out;
    }
    if (f.len > 0 && memchr(f.p, '@', f.len) != NULL)
        *flags |= ADDRSCAN_AT;
    for (i = 0; i < f.len && rc == 0; i++) {
        if (f.p[i] == '@' && token_at(f.p, f.len, i, &start, &end))
            rc = cb(arg, f.p + start, end - start);
    }
out:
    sbuf_free(&f);
    return rc;
}
