/*
 * rfc2047.c - liberal RFC 2047 decoding (see rfc2047.h).
 *
 * Control characters are C0 except TAB, DEL and C1, looked for in the
 * decoded output of encoded-words only (the raw text was checked by the
 * lexer).
 */
#include "rfc2047.h"

#include <string.h>
#include <strings.h>

#include "charset.h"
#include "utf8.h"

/* The parts of one encoded-word. */
typedef struct ew {
    const char *charset;
    size_t charset_len;
    char enc; /* 'Q' or 'B' */
    const char *text;
    size_t text_len;
    size_t total; /* octets from "=?" through "?=" */
} ew;

static int is_charset_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'+-^_`{}~*.:", c) != NULL;
}

/* Parse an encoded-word at s; 1 with *w filled, or 0. */
static int ew_parse(const char *s, size_t len, ew *w)
{
    size_t i = 2, start;

    if (len < 8 || s[0] != '=' || s[1] != '?')
        return 0;
    start = i;
    while (i < len && s[i] != '?' && is_charset_char((unsigned char)s[i]))
        i++;
    if (i == start || i >= len || s[i] != '?')
        return 0;
    w->charset = s + start;
    w->charset_len = i - start;
    i++;
    if (i + 1 >= len || s[i + 1] != '?')
        return 0;
    if (s[i] == 'Q' || s[i] == 'q')
        w->enc = 'Q';
    else if (s[i] == 'B' || s[i] == 'b')
        w->enc = 'B';
    else
        return 0;
    i += 2;
    start = i;
    while (i < len && s[i] != '?') {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7F)
            return 0;
        i++;
    }
    if (i + 1 >= len || s[i + 1] != '=')
        return 0;
    w->text = s + start;
    w->text_len = i - start;
    w->total = i + 2;
    return 1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int b64val(unsigned char c)
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

/* Append the octets the encoded text stands for to raw. */
static void ew_octets(const ew *w, sbuf *raw)
{
    const unsigned char *t = (const unsigned char *)w->text;
    size_t n = w->text_len;

    if (w->enc == 'Q') {
        for (size_t i = 0; i < n; i++) {
            int hi, lo;
            if (t[i] == '_') {
                sbuf_addc(raw, ' ');
            } else if (t[i] == '=' && i + 2 < n && (hi = hexval(t[i + 1])) >= 0 &&
                       (lo = hexval(t[i + 2])) >= 0) {
                sbuf_addc(raw, (char)(hi << 4 | lo));
                i += 2;
            } else {
                sbuf_addc(raw, (char)t[i]);
            }
        }
    } else {
        unsigned acc = 0, bits = 0;
        for (size_t i = 0; i < n; i++) {
            int v = b64val(t[i]);
            if (v < 0)
                continue; /* padding and stray octets: skip, as readers do */
            acc = (acc << 6) | (unsigned)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                sbuf_addc(raw, (char)((acc >> bits) & 0xFF));
            }
        }
    }
}

static int has_ctrl(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n;
    uint32_t cp;
    int found = 0;

    while (i < len && !found) {
        n = utf8_decode(u + i, len - i, &cp);
        if (n == 0)
            n = 1;
        found = (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp < 0xA0);
        i += n;
    }
    return found;
}

/* Convert the octets gathered for one run of same-charset words. */
static void flush_run(const char *charset, size_t charset_len, sbuf *raw, sbuf *out,
                      unsigned *flags)
{
    unsigned cf = 0;
    size_t start = out->len;

    if (raw->len == 0 && charset == NULL)
        return;
    charset_to_utf8(charset, charset_len, (const unsigned char *)sbuf_str(raw), raw->len, out, &cf);
    if (cf & CHARSET_LOSSY)
        *flags |= RFC2047_LOSSY;
    if (cf & CHARSET_UNKNOWN)
        *flags |= RFC2047_UNKNOWN;
    if (sbuf_error(out) == 0 && has_ctrl(out->p + start, out->len - start))
        *flags |= RFC2047_CTRL;
    sbuf_reset(raw);
}

int rfc2047_decode(const char *in, size_t len, sbuf *out, unsigned *flags)
{
    sbuf raw;
    const char *run_cs = NULL; /* charset of the pending run, if any */
    size_t run_cs_len = 0;
    size_t i = 0, ws_start = 0, ws_len = 0;
    int after_ew = 0;
    ew w;

    sbuf_init(&raw, len);
    while (i < len && sbuf_error(out) == 0) {
        if (in[i] == '=' && i + 1 < len && in[i + 1] == '?' && ew_parse(in + i, len - i, &w)) {
            int same = run_cs != NULL && after_ew && w.charset_len == run_cs_len &&
                       strncasecmp(w.charset, run_cs, run_cs_len) == 0;
            if (!same) {
                if (run_cs != NULL)
                    flush_run(run_cs, run_cs_len, &raw, out, flags);
                if (!after_ew)
                    sbuf_add(out, in + ws_start, ws_len);
                run_cs = w.charset;
                run_cs_len = w.charset_len;
            }
            ew_octets(&w, &raw);
            *flags |= RFC2047_DECODED;
            i += w.total;
            after_ew = 1;
            ws_len = 0;
            continue;
        }
        if (in[i] == ' ' || in[i] == '\t') {
            if (ws_len == 0)
                ws_start = i;
            ws_len++;
            i++;
            continue;
        }
        /* Ordinary text: close a pending run, emit held whitespace. */
        if (run_cs != NULL) {
            flush_run(run_cs, run_cs_len, &raw, out, flags);
            run_cs = NULL;
        }
        sbuf_add(out, in + ws_start, ws_len);
        ws_len = 0;
        after_ew = 0;
        sbuf_addc(out, in[i]);
        i++;
    }
    if (run_cs != NULL)
        flush_run(run_cs, run_cs_len, &raw, out, flags);
    sbuf_add(out, in + ws_start, ws_len);
    if (sbuf_error(&raw) != 0 && sbuf_error(out) == 0)
        out->err = sbuf_error(&raw);
    sbuf_free(&raw);
    return sbuf_error(out) == 0 ? 0 : -1;
}
