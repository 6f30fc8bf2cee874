/*
 * authres.c - Authentication-Results bodies (see authres.h).
 */
#include "authres.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 2045 token characters. */
static int is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7F && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static int is_atext(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int all(const char *s, size_t len, int (*ok)(unsigned char), int dots)
{
    int good = len > 0;

    for (size_t i = 0; i < len && good; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' && dots)
            good = i > 0 && i + 1 < len && s[i + 1] != '.';
        else
            good = ok(c);
    }
    return good;
}

static int is_domain_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int authres_valid_id(const char *id)
{
    return id != NULL && all(id, strlen(id), is_token_char, 0) && strlen(id) < 256;
}

/* The login as a pvalue; -1 when it does not fit (never truncated). */
static int put_login(const char *login, char *out, size_t outsz)
{
    size_t len = strlen(login), o = 0;
    const char *at = strrchr(login, '@');
    int rc = -1;

    if (all(login, len, is_token_char, 0) ||
        (at != NULL && all(login, (size_t)(at - login), is_atext, 1) &&
         all(at + 1, strlen(at + 1), is_domain_char, 1))) {
        if (len < outsz) {
            memcpy(out, login, len + 1);
            rc = 0;
        }
        goto out;
    }
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)login[i];
        if (o + 4 > outsz)
            goto out;
        if (c == '"' || c == '\\')
            out[o++] = '\\';
        out[o++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
    }
    out[o++] = '"';
    out[o] = '\0';
    rc = 0;
out:
    if (rc != 0 && outsz > 0)
        out[0] = '\0';
    return rc;
}

int authres_build(const char *authserv_id, const char *login, const char *mech, char *out,
                  size_t outsz)
{
    char pv[AUTHRES_MAX / 2];
    int n;

    if (login == NULL || login[0] == '\0') {
        n = snprintf(out, outsz, "%s; auth=none", authserv_id);
    } else if (put_login(login, pv, sizeof(pv)) != 0) {
        n = -1;
    } else {
        if (mech != NULL && all(mech, strlen(mech), is_token_char, 0) && strlen(mech) <= 32)
            n = snprintf(out, outsz, "%s; auth=pass (%s) smtp.auth=%s", authserv_id, mech, pv);
        else
            n = snprintf(out, outsz, "%s; auth=pass smtp.auth=%s", authserv_id, pv);
    }
    if (n < 0 || (size_t)n >= outsz) {
        if (outsz > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

/* Skip CFWS from i; returns the new index (len if a comment never ends). */
static size_t skip_cfws(const char *v, size_t len, size_t i)
{
    unsigned depth = 0;

    while (i < len) {
        char c = v[i];
        if (depth > 0) {
            if (c == '\\')
                i++;
            else if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
            i++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            i++;
        } else if (c == '(') {
            depth = 1;
            i++;
        } else {
            break;
        }
    }
    return i;
}

int authres_is_ours(const char *v, size_t len, const char *authserv_id)
{
    size_t idlen = strlen(authserv_id), i = skip_cfws(v, len, 0), start;
    char buf[256];
    size_t b = 0;

    if (i >= len)
        return 0;
    if (v[i] == '"') {
        for (i++; i < len && v[i] != '"'; i++) {
            if (v[i] == '\\' && i + 1 < len)
                i++;
            if (b + 1 >= sizeof(buf))
                return 0;
            buf[b++] = v[i];
        }
        if (i >= len)
            return 0;
    } else {
        start = i;
        while (i < len && is_token_char((unsigned char)v[i]))
            i++;
        b = i - start;
        if (b >= sizeof(buf))
            return 0;
        memcpy(buf, v + start, b);
    }
    return b == idlen && strncasecmp(buf, authserv_id, idlen) == 0;
}
