/*
 * dovecot_pwfile.c - Dovecot passwd-file parser (see dovecot_pwfile.h).
 *
 * Interface: dovecot_pwfile_parse, dovecot_pwfile_parse_line,
 * dovecot_pwfile_secret_get, dovecot_pwfile_scheme_known,
 * dovecot_pwfile_secret_clear.
 *
 * Schemes imported as crypt(3) hashes (authdb_secrets_from_hash validates
 * them again): SHA512-CRYPT ($6$), SHA256-CRYPT ($5$), BLF-CRYPT
 * ($2a$/$2b$/$2y$), MD5-CRYPT and its alias MD5 ($1$, weak), CRYPT and
 * DES-CRYPT when the value is one of those or yescrypt ($y$).  Cleartext:
 * PLAIN, CLEAR, CLEARTEXT, optionally with a .B64/.BASE64/.HEX encoding
 * suffix.  Everything else (SSHA512, PBKDF2, ARGON2*, CRAM-MD5, SCRAM-*,
 * DIGEST-MD5, traditional DES crypt, ...) is refused with a reason: authgate
 * can neither verify it nor derive SASL secrets from it.
 */
#include "dovecot_pwfile.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authdb.h"

#define DOVECOT_PWFILE_STR_(x) #x
#define DOVECOT_PWFILE_STR(x)  DOVECOT_PWFILE_STR_(x)

static int dovecot_pwfile_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Flags from the space-separated extra fields. */
static unsigned dovecot_pwfile_extra(const char *p, const char *end)
{
    unsigned flags = 0;

    while (p < end) {
        const char *tok, *eq;
        size_t klen;
        while (p < end && dovecot_pwfile_space(*p))
            p++;
        tok = p;
        while (p < end && !dovecot_pwfile_space(*p))
            p++;
        if (p == tok)
            break;
        eq = memchr(tok, '=', (size_t)(p - tok));
        klen = eq != NULL ? (size_t)(eq - tok) : (size_t)(p - tok);
        if (klen == 7 && strncasecmp(tok, "nologin", 7) == 0)
            flags |= DOVECOT_PWFILE_NOLOGIN;
        else if (klen == 10 && strncasecmp(tok, "nopassword", 10) == 0)
            flags |= DOVECOT_PWFILE_NOPASSWORD;
        else if ((klen == 10 && strncasecmp(tok, "allow_nets", 10) == 0) ||
                 (klen == 15 && strncasecmp(tok, "allow_real_nets", 15) == 0))
            flags |= DOVECOT_PWFILE_NETS;
    }
    return flags;
}

int dovecot_pwfile_parse_line(const char *line, size_t len, dovecot_pwfile_entry *e,
                              const char **why)
{
    const char *end = line + len, *p = line, *field[8];
    size_t flen[8];
    int nf = 0;

    memset(e, 0, sizeof(*e));
    while (p < end && dovecot_pwfile_space(*p))
        p++;
    if (p == end || *p == '#')
        return 0;
    /* Fields 0..6 end at ':'; field 7 (extra fields) is the rest. */
    p = line;
    while (nf < 8) {
        const char *colon = nf < 7 ? memchr(p, ':', (size_t)(end - p)) : NULL;
        field[nf] = p;
        flen[nf] = colon != NULL ? (size_t)(colon - p) : (size_t)(end - p);
        nf++;
        if (colon == NULL)
            break;
        p = colon + 1;
    }
    if (nf < 2) {
        *why = "no password field (expected user:password:...)";
        return -1;
    }
    e->user = field[0];
    e->userlen = flen[0];
    if (e->userlen == 0) {
        *why = "empty user name";
        return -1;
    }
    for (size_t i = 0; i < e->userlen; i++)
        if ((unsigned char)e->user[i] <= ' ' || e->user[i] == 0x7f) {
            *why = "user name contains white space or a control character";
            return -1;
        }
    e->pass = field[1];
    e->passlen = flen[1];
    if (e->passlen > 0 && e->pass[0] == '{') {
        const char *close = memchr(e->pass, '}', e->passlen);
        if (close != NULL) {
            e->scheme = e->pass + 1;
            e->schemelen = (size_t)(close - e->pass - 1);
            e->passlen -= (size_t)(close + 1 - e->pass);
            e->pass = close + 1;
        }
    }
    if (nf == 8)
        e->flags = dovecot_pwfile_extra(field[7], field[7] + flen[7]);
    return 1;
}

void dovecot_pwfile_parse(const char *buf, size_t len, dovecot_pwfile_entry_fn entry_fn,
                          dovecot_pwfile_error_fn error_fn, void *arg)
{
    const char *p = buf, *end = buf + len;
    unsigned lineno = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t llen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        dovecot_pwfile_entry e;
        const char *why = NULL;
        int r;

        lineno++;
        if (llen > 0 && p[llen - 1] == '\r')
            llen--;
        if (llen > DOVECOT_PWFILE_LINE_MAX)
            error_fn(lineno, "line longer than 8192 octets", arg);
        else if (memchr(p, '\0', llen) != NULL)
            error_fn(lineno, "line contains a NUL byte", arg);
        else if ((r = dovecot_pwfile_parse_line(p, llen, &e, &why)) < 0)
            error_fn(lineno, why, arg);
        else if (r > 0) {
            e.line = lineno;
            entry_fn(&e, arg);
        }
        p = nl != NULL ? nl + 1 : end;
    }
}

struct dovecot_pwfile_scheme {
    const char *name;
    enum dovecot_pwfile_kind kind;
    const char *prefixes; /* accepted value prefixes, '|' separated; NULL: any */
    int weak;
    const char *mismatch; /* why a value without such a prefix is refused */
};

#define DOVECOT_PWFILE_ANY_CRYPT "$y$|$6$|$5$|$2a$|$2b$|$2y$|$1$"
#define DOVECOT_PWFILE_NOT_CRYPT                                                                   \
    "not a yescrypt, SHA-crypt, bcrypt or MD5-crypt hash (traditional DES crypt cannot be "        \
    "imported: the user needs a new password)"
#define DOVECOT_PWFILE_MISMATCH "the value does not match its scheme"

static const struct dovecot_pwfile_scheme dovecot_pwfile_schemes[] = {
    {"SHA512-CRYPT", DOVECOT_PWFILE_HASH, "$6$", 0, DOVECOT_PWFILE_MISMATCH},
    {"SHA256-CRYPT", DOVECOT_PWFILE_HASH, "$5$", 0, DOVECOT_PWFILE_MISMATCH},
    {"BLF-CRYPT", DOVECOT_PWFILE_HASH, "$2a$|$2b$|$2y$", 0, DOVECOT_PWFILE_MISMATCH},
    {"MD5-CRYPT", DOVECOT_PWFILE_HASH, "$1$", 1, DOVECOT_PWFILE_MISMATCH},
    {"MD5", DOVECOT_PWFILE_HASH, "$1$", 1, DOVECOT_PWFILE_MISMATCH},
    {"CRYPT", DOVECOT_PWFILE_HASH, DOVECOT_PWFILE_ANY_CRYPT, 0, DOVECOT_PWFILE_NOT_CRYPT},
    {"DES-CRYPT", DOVECOT_PWFILE_HASH, DOVECOT_PWFILE_ANY_CRYPT, 0, DOVECOT_PWFILE_NOT_CRYPT},
    {"PLAIN", DOVECOT_PWFILE_CLEARTEXT, NULL, 0, NULL},
    {"CLEAR", DOVECOT_PWFILE_CLEARTEXT, NULL, 0, NULL},
    {"CLEARTEXT", DOVECOT_PWFILE_CLEARTEXT, NULL, 0, NULL},
};

static int dovecot_pwfile_prefix_ok(const char *prefixes, const char *v, size_t len)
{
    const char *p = prefixes;

    while (*p != '\0') {
        const char *bar = strchr(p, '|');
        size_t plen = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len >= plen && memcmp(v, p, plen) == 0)
            return 1;
        p += plen + (bar != NULL);
    }
    return 0;
}

static int dovecot_pwfile_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int dovecot_pwfile_b64val(char c)
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

/* Longest encoded form of a password of AUTHDB_PASSWORD_MAX octets. */
static size_t dovecot_pwfile_encoded_max(int enc)
{
    if (enc == 'h')
        return 2 * AUTHDB_PASSWORD_MAX;
    if (enc == 'b')
        return 4 * ((AUTHDB_PASSWORD_MAX + 2) / 3);
    return AUTHDB_PASSWORD_MAX;
}

/* Decode in (encoding 'h' hex, 'b' base64, 0 none) into out (len+1 bytes). */
static int dovecot_pwfile_decode(int enc, const char *in, size_t len, char *out, size_t *outlen)
{
    size_t o = 0;

    if (enc == 0) {
        memcpy(out, in, len);
        o = len;
    } else if (enc == 'h') {
        if (len % 2 != 0)
            return -1;
        for (size_t i = 0; i < len; i += 2) {
            int hi = dovecot_pwfile_hexval(in[i]), lo = dovecot_pwfile_hexval(in[i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi << 4 | lo);
        }
    } else {
        unsigned acc = 0, bits = 0;
        size_t i = 0;
        for (; i < len && in[i] != '='; i++) {
            int v = dovecot_pwfile_b64val(in[i]);
            if (v < 0)
                return -1;
            acc = (acc << 6) | (unsigned)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out[o++] = (char)((acc >> bits) & 0xff);
            }
        }
        for (; i < len; i++)
            if (in[i] != '=')
                return -1;
    }
    out[o] = '\0';
    *outlen = o;
    return 0;
}

/* Find a scheme by name (namelen octets) and its encoding ('b', 'h', 0).
 * NULL with *why when unknown. */
static const struct dovecot_pwfile_scheme *dovecot_pwfile_lookup(const char *name, size_t namelen,
                                                                 int *encp, const char **why)
{
    const struct dovecot_pwfile_scheme *sc = NULL;
    const char *dot;
    size_t baselen;
    int enc = 0;

    dot = memchr(name, '.', namelen);
    baselen = dot != NULL ? (size_t)(dot - name) : namelen;
    if (dot != NULL) {
        const char *sfx = dot + 1;
        size_t slen = namelen - baselen - 1;
        if ((slen == 3 && strncasecmp(sfx, "B64", 3) == 0) ||
            (slen == 6 && strncasecmp(sfx, "BASE64", 6) == 0))
            enc = 'b';
        else if (slen == 3 && strncasecmp(sfx, "HEX", 3) == 0)
            enc = 'h';
        else {
            *why = "unknown scheme encoding (known: .B64, .BASE64, .HEX)";
            return NULL;
        }
    }
    for (size_t i = 0; i < sizeof(dovecot_pwfile_schemes) / sizeof(dovecot_pwfile_schemes[0]); i++)
        if (strlen(dovecot_pwfile_schemes[i].name) == baselen &&
            strncasecmp(dovecot_pwfile_schemes[i].name, name, baselen) == 0)
            sc = &dovecot_pwfile_schemes[i];
    if (sc == NULL) {
        *why = "this scheme cannot be imported: authgate keeps crypt(3) hashes "
               "(SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, MD5-CRYPT, CRYPT) or derives its "
               "secrets from cleartext (PLAIN); the user needs a new password "
               "(authgatectl user add)";
        return NULL;
    }
    if (enc != 0 && sc->kind != DOVECOT_PWFILE_CLEARTEXT) {
        *why = "an encoding suffix is only meaningful for PLAIN";
        return NULL;
    }
    *encp = enc;
    return sc;
}

int dovecot_pwfile_scheme_known(const char *scheme)
{
    const char *why;
    int enc;

    return dovecot_pwfile_lookup(scheme, strlen(scheme), &enc, &why) != NULL;
}

int dovecot_pwfile_secret_get(const dovecot_pwfile_entry *e, const char *default_scheme,
                              dovecot_pwfile_secret *out, const char **why)
{
    const struct dovecot_pwfile_scheme *sc;
    const char *name = e->scheme;
    size_t namelen = e->schemelen;
    int enc = 0;

    memset(out, 0, sizeof(*out));
    if (name == NULL) {
        name = default_scheme;
        namelen = strlen(default_scheme);
    }
    if ((sc = dovecot_pwfile_lookup(name, namelen, &enc, why)) == NULL)
        return -1;
    if (e->passlen == 0) {
        *why = "empty password";
        return -1;
    }
    if (sc->kind == DOVECOT_PWFILE_HASH) {
        if (e->passlen > AUTHDB_HASH_MAX) {
            *why = "hash longer than 255 octets";
            return -1;
        }
        if (!dovecot_pwfile_prefix_ok(sc->prefixes, e->pass, e->passlen)) {
            *why = sc->mismatch;
            return -1;
        }
    } else if (e->passlen > dovecot_pwfile_encoded_max(enc)) {
        *why = "password longer than " DOVECOT_PWFILE_STR(AUTHDB_PASSWORD_MAX) " octets";
        return -1;
    }
    if ((out->value = malloc(e->passlen + 1)) == NULL) {
        *why = "out of memory";
        return -1;
    }
    if (dovecot_pwfile_decode(enc, e->pass, e->passlen, out->value, &out->len) != 0) {
        dovecot_pwfile_secret_clear(out);
        *why = enc == 'h' ? "invalid hex encoding" : "invalid base64 encoding";
        return -1;
    }
    if (out->len == 0 || out->len > AUTHDB_PASSWORD_MAX ||
        memchr(out->value, '\0', out->len) != NULL) {
        dovecot_pwfile_secret_clear(out);
        *why = "decoded password is empty, longer than " DOVECOT_PWFILE_STR(
            AUTHDB_PASSWORD_MAX) " octets or holds a NUL byte";
        return -1;
    }
    out->kind = sc->kind;
    out->scheme = sc->name;
    out->weak = sc->weak || (sc->kind == DOVECOT_PWFILE_HASH && e->passlen >= 3 &&
                             memcmp(e->pass, "$1$", 3) == 0);
    return 0;
}

void dovecot_pwfile_secret_clear(dovecot_pwfile_secret *s)
{
    if (s->value != NULL) {
        explicit_bzero(s->value, s->len + 1);
        free(s->value);
    }
    memset(s, 0, sizeof(*s));
}
