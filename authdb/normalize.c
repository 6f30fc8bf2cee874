/*
 * normalize.c - logins, addresses and domains to store keys.
 *
 * Interface: authdb_norm_defaults, authdb_norm_login, authdb_norm_address,
 * authdb_norm_domain (public); norm_split, norm_strip_subaddress (private).
 *
 * The only place in authgate where text becomes a key; every component
 * calls it.  Rules (authdb.h has the summary):
 *  - input: valid UTF-8, no NUL, no C0/C1 controls, at most NORM_INPUT_MAX
 *    octets; local part a dot-atom (RFC 5322 atext plus RFC 6532 UTF-8) or
 *    a quoted string; domain an LDH name, a U-label name (converted to
 *    A-labels with libidn2, UTS#46 non-transitional) or an address literal.
 *  - output: local part unquoted when its content is a dot-atom, else in
 *    minimal quoted form; case-folded unless case-sensitive (UTF-8: NFC +
 *    full case folding, libunistring); domain lowercase A-labels.
 * Diagnostics: AUTHDB_EINVAL with a static sentence in *why, or
 * AUTHDB_ETOOLONG.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "authdb_private.h"

#define NORM_INPUT_MAX 1024

enum norm_mode { NORM_LOGIN, NORM_ADDRESS };

void authdb_norm_defaults(authdb_norm *n)
{
    memset(n, 0, sizeof(*n));
    n->case_sensitive = 0;
    strcpy(n->subaddress_delims, "+");
}

static int set_why(const char **why, const char *text)
{
    if (why != NULL)
        *why = text;
    return AUTHDB_EINVAL;
}

static int is_atext(unsigned char c)
{
    if (c >= 0x80)
        return 1; /* RFC 6532: UTF-8 (validity checked separately) */
    if (isalnum(c))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* A non-empty dot-atom: atext runs separated by single dots. */
static int is_dot_atom(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (!is_atext((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

static int has_non_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 1;
    return 0;
}

/* Valid UTF-8 without NUL and without C0/C1 controls or DEL. */
static int text_ok(const char *s, size_t len, const char **why)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    size_t i;

    for (i = 0; i < len; i++) /* the common case: ASCII */
        if (p[i] < 0x20 || p[i] >= 0x7f)
            break;
    if (i == len)
        return AUTHDB_OK;
    if (u8_check(p, len) != NULL)
        return set_why(why, "not valid UTF-8");
    while (p < end) {
        ucs4_t uc;
        int n = u8_mbtouc(&uc, p, end - p);
        if (uc < 0x20 || uc == 0x7f || (uc >= 0x80 && uc < 0xa0))
            return set_why(why, "contains a control character");
        p += n;
    }
    return AUTHDB_OK;
}

/* Case-fold (unless case_sensitive) and NFC-normalize a local part in
 * place; buf has room for cap octets. */
static int fold_local(const authdb_norm *n, char *buf, size_t *len, size_t cap, const char **why)
{
    uint8_t tmp[4 * AUTHDB_LOCAL_MAX + 16], *r;
    size_t rlen = sizeof(tmp);
    int rc = AUTHDB_OK;

    if (!has_non_ascii(buf, *len)) {
        if (!n->case_sensitive)
            for (size_t i = 0; i < *len; i++)
                buf[i] = (char)tolower((unsigned char)buf[i]);
        return AUTHDB_OK;
    }
    if (n->case_sensitive)
        r = u8_normalize(UNINORM_NFC, (const uint8_t *)buf, *len, tmp, &rlen);
    else
        r = u8_casefold((const uint8_t *)buf, *len, NULL, UNINORM_NFC, tmp, &rlen);
    if (r == NULL)
        return set_why(why, "local part cannot be normalized");
    if (rlen > cap)
        rc = AUTHDB_ETOOLONG;
    else {
        memcpy(buf, r, rlen);
        *len = rlen;
    }
    if (r != tmp)
        free(r);
    return rc;
}

static int ldh_domain_ok(const char *d, size_t len, int *has_alabel)
{
    size_t start = 0;

    *has_alabel = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && d[i] != '.') {
            unsigned char c = (unsigned char)d[i];
            if (!(isalnum(c) || c == '-'))
                return 0;
            continue;
        }
        size_t l = i - start;
        if (l == 0 || l > 63 || d[start] == '-' || d[i - 1] == '-')
            return 0;
        if (l >= 4 && memcmp(d + start, "xn--", 4) == 0)
            *has_alabel = 1;
        start = i + 1;
    }
    return 1;
}

static int norm_literal(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
                        const char **why)
{
    char tmp[64], addr[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    int n;

    if (len < 3 || in[len - 1] != ']' || len - 2 >= sizeof(tmp))
        return set_why(why, "malformed address literal");
    memcpy(tmp, in + 1, len - 2);
    tmp[len - 2] = '\0';
    if (strncasecmp(tmp, "IPv6:", 5) == 0) {
        if (inet_pton(AF_INET6, tmp + 5, bin) != 1 || !inet_ntop(AF_INET6, bin, addr, sizeof(addr)))
            return set_why(why, "malformed IPv6 address literal");
        n = snprintf(out, outsz, "[IPv6:%s]", addr);
    } else {
        if (inet_pton(AF_INET, tmp, bin) != 1 || !inet_ntop(AF_INET, bin, addr, sizeof(addr)))
            return set_why(why, "malformed IPv4 address literal");
        n = snprintf(out, outsz, "[%s]", addr);
    }
    if (n < 0 || (size_t)n >= outsz)
        return AUTHDB_ETOOLONG;
    *outlen = (size_t)n;
    return AUTHDB_OK;
}

int authdb_norm_domain(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
                       const char **why)
{
    char tmp[NORM_INPUT_MAX + 1];
    char *res = NULL;
    size_t rlen;
    int alabel = 0, rc;

    if (len == (size_t)-1)
        len = strlen(in);
    if (len == 0)
        return set_why(why, "empty domain");
    if (len > NORM_INPUT_MAX)
        return AUTHDB_ETOOLONG;
    rc = text_ok(in, len, why);
    if (rc != AUTHDB_OK)
        return rc;
    if (in[0] == '[')
        return norm_literal(in, len, out, outsz, outlen, why);
    if (in[len - 1] == '.')
        len--; /* one trailing dot: the root */
    if (len == 0)
        return set_why(why, "empty domain");
    memcpy(tmp, in, len);
    tmp[len] = '\0';
    if (!has_non_ascii(tmp, len)) {
        for (size_t i = 0; i < len; i++)
            tmp[i] = (char)tolower((unsigned char)tmp[i]);
        if (!ldh_domain_ok(tmp, len, &alabel))
            return set_why(why, "domain is not a valid host name");
        if (!alabel) {
            rlen = len;
            goto copy;
        }
    }
    /* U-labels, or A-labels to validate: libidn2, UTS#46 non-transitional. */
    rc = idn2_lookup_u8((const uint8_t *)tmp, (uint8_t **)&res,
                        IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK)
        return set_why(why, idn2_strerror(rc));
    rlen = strlen(res);
    if (rlen > NORM_INPUT_MAX) {
        idn2_free(res);
        return AUTHDB_ETOOLONG;
    }
    for (size_t i = 0; i < rlen; i++)
        tmp[i] = (char)tolower((unsigned char)res[i]);
    tmp[rlen] = '\0';
    idn2_free(res);
    if (!ldh_domain_ok(tmp, rlen, &alabel))
        return set_why(why, "domain is not a valid host name");
copy:
    if (rlen > AUTHDB_DOMAIN_MAX || rlen + 1 > outsz)
        return AUTHDB_ETOOLONG;
    memcpy(out, tmp, rlen);
    out[rlen] = '\0';
    *outlen = rlen;
    return AUTHDB_OK;
}

/* Parse the local part starting at in[0]: unquoted content into lp.  *end
 * is the index just after the local part. */
static int parse_local(const char *in, size_t len, char *lp, size_t lpcap, size_t *lplen,
                       size_t *end, const char **why)
{
    size_t i = 0, o = 0;

    if (in[0] == '"') {
        for (i = 1; i < len && in[i] != '"'; i++) {
            if (in[i] == '\\') {
                if (++i >= len)
                    return set_why(why, "quoted local part ends inside an escape");
            }
            if (o >= lpcap)
                return AUTHDB_ETOOLONG;
            lp[o++] = in[i];
        }
        if (i >= len)
            return set_why(why, "unterminated quoted local part");
        *end = i + 1;
    } else {
        for (i = 0; i < len && in[i] != '@'; i++) {
            if (o >= lpcap)
                return AUTHDB_ETOOLONG;
            lp[o++] = in[i];
        }
        if (!is_dot_atom(lp, o))
            return set_why(why, o == 0 ? "empty local part" : "local part is not a valid dot-atom");
        *end = i;
    }
    *lplen = o;
    return AUTHDB_OK;
}

/* Write the local part, quoted only when it must be. */
static int emit_local(const char *lp, size_t len, char *out, size_t outsz, size_t *o)
{
    size_t k = 0;

    if (is_dot_atom(lp, len)) {
        if (len + 1 > outsz)
            return AUTHDB_ETOOLONG;
        memcpy(out, lp, len);
        *o = len;
        return AUTHDB_OK;
    }
    if (outsz < 3)
        return AUTHDB_ETOOLONG;
    out[k++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (k + 3 >= outsz)
            return AUTHDB_ETOOLONG;
        if (lp[i] == '"' || lp[i] == '\\')
            out[k++] = '\\';
        out[k++] = lp[i];
    }
    out[k++] = '"';
    *o = k;
    return AUTHDB_OK;
}

static int norm_any(const authdb_norm *n, enum norm_mode mode, const char *in, size_t inlen,
                    int strip, char *out, size_t outsz, size_t *outlen, const char **why)
{
    char lp[4 * AUTHDB_LOCAL_MAX + 16], dom[AUTHDB_DOMAIN_MAX + 1];
    size_t lplen, end, o, dlen = 0;
    int rc;

    if (why != NULL)
        *why = NULL;
    if (inlen == (size_t)-1)
        inlen = strlen(in);
    if (inlen == 0)
        return set_why(why, "empty");
    if (inlen > NORM_INPUT_MAX)
        return AUTHDB_ETOOLONG;
    rc = text_ok(in, inlen, why);
    if (rc != AUTHDB_OK)
        return rc;
    rc = parse_local(in, inlen, lp, sizeof(lp), &lplen, &end, why);
    if (rc != AUTHDB_OK)
        return rc;
    if (end < inlen) {
        if (in[end] != '@')
            return set_why(why, "text after the quoted local part");
        rc = authdb_norm_domain(in + end + 1, inlen - end - 1, dom, sizeof(dom), &dlen, why);
        if (rc != AUTHDB_OK)
            return rc;
    } else if (mode == NORM_ADDRESS) {
        return set_why(why, "address has no domain");
    }
    if (lplen == 0)
        return set_why(why, "empty local part");
    rc = fold_local(n, lp, &lplen, sizeof(lp), why);
    if (rc != AUTHDB_OK)
        return rc;
    rc = emit_local(lp, lplen, out, outsz, &o);
    if (rc != AUTHDB_OK)
        return rc;
    if (o > AUTHDB_LOCAL_MAX)
        return AUTHDB_ETOOLONG;
    if (dlen > 0) {
        if (o + 1 + dlen + 1 > outsz || o + 1 + dlen > AUTHDB_LOGIN_MAX)
            return AUTHDB_ETOOLONG;
        out[o++] = '@';
        memcpy(out + o, dom, dlen);
        o += dlen;
    }
    out[o] = '\0';
    if (strip)
        norm_strip_subaddress(n, out, &o);
    *outlen = o;
    return AUTHDB_OK;
}

int authdb_norm_login(const authdb_norm *n, const char *in, size_t inlen, char *out, size_t outsz,
                      size_t *outlen, const char **why)
{
    return norm_any(n, NORM_LOGIN, in, inlen, 0, out, outsz, outlen, why);
}

int authdb_norm_address(const authdb_norm *n, const char *in, size_t inlen, int strip_subaddress,
                        char *out, size_t outsz, size_t *outlen, const char **why)
{
    return norm_any(n, NORM_ADDRESS, in, inlen, strip_subaddress, out, outsz, outlen, why);
}

/* Position of the '@' before the domain of a normalized key: the last '@'
 * that comes after any quoted local part (domains hold neither '@' nor
 * '"'). */
int norm_split(const char *key, size_t len, size_t *at)
{
    for (size_t i = len; i > 0; i--) {
        if (key[i - 1] == '@') {
            *at = i - 1;
            return AUTHDB_OK;
        }
        if (key[i - 1] == '"')
            break;
    }
    return AUTHDB_NOTFOUND;
}

/* Remove "+tag" from an unquoted local part of a normalized key in place. */
int norm_strip_subaddress(const authdb_norm *n, char *addr, size_t *len)
{
    size_t at, cut;

    if (n->subaddress_delims[0] == '\0' || addr[0] == '"')
        return AUTHDB_OK;
    if (norm_split(addr, *len, &at) != AUTHDB_OK)
        at = *len;
    for (cut = 1; cut < at; cut++)
        if (strchr(n->subaddress_delims, addr[cut]) != NULL)
            break;
    if (cut >= at || addr[cut - 1] == '.')
        return AUTHDB_OK; /* "a.+tag" would leave "a.", not a dot-atom */
    memmove(addr + cut, addr + at, *len - at + 1);
    *len -= at - cut;
    return AUTHDB_OK;
}
