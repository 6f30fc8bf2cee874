/*
 * dovecot_pwfile.h - parser for Dovecot passwd-file files:
 *
 *     user:{SCHEME}password:uid:gid:gecos:home:shell:extra fields
 *
 * Only the user, the password and the extra fields matter to authgate.
 * Pure functions over a buffer: no I/O, no store, fuzzed
 * (tests/fuzz/corpus/dovecot_pwfile/).  Lines are bounded by
 * DOVECOT_PWFILE_LINE_MAX; every problem is reported with its line number
 * and the parser goes on with the next line.
 */
#ifndef AUTHGATECTL_DOVECOT_PWFILE_H
#define AUTHGATECTL_DOVECOT_PWFILE_H

#include <stddef.h>

#define DOVECOT_PWFILE_LINE_MAX 8192

/* Extra fields authgate acts on. */
enum dovecot_pwfile_flags {
    DOVECOT_PWFILE_NOLOGIN = 1 << 0,    /* "nologin": imported disabled */
    DOVECOT_PWFILE_NOPASSWORD = 1 << 1, /* "nopassword": any password; refused */
    DOVECOT_PWFILE_NETS = 1 << 2,       /* "allow_nets"/"allow_real_nets": refused */
};

typedef struct dovecot_pwfile_entry {
    unsigned line;
    const char *user;
    size_t userlen;
    const char *scheme; /* between the braces, NULL when the field has none */
    size_t schemelen;
    const char *pass; /* after the scheme */
    size_t passlen;
    unsigned flags; /* DOVECOT_PWFILE_* */
} dovecot_pwfile_entry;

/* Parse one line (without its newline).  1: *e filled (pointers into
 * line); 0: blank or comment line; -1: malformed, *why says why. */
int dovecot_pwfile_parse_line(const char *line, size_t len, dovecot_pwfile_entry *e,
                              const char **why);

typedef void (*dovecot_pwfile_entry_fn)(const dovecot_pwfile_entry *e, void *arg);
typedef void (*dovecot_pwfile_error_fn)(unsigned line, const char *why, void *arg);

/* Parse a whole file: entry_fn for every entry, error_fn for every bad
 * line (NUL bytes, over-long lines, malformed lines). */
void dovecot_pwfile_parse(const char *buf, size_t len, dovecot_pwfile_entry_fn entry_fn,
                          dovecot_pwfile_error_fn error_fn, void *arg);

/* What the password field holds, once its scheme is known. */
enum dovecot_pwfile_kind {
    DOVECOT_PWFILE_HASH = 1,      /* a crypt(3) string authdb accepts */
    DOVECOT_PWFILE_CLEARTEXT = 2, /* the password itself */
};

typedef struct dovecot_pwfile_secret {
    enum dovecot_pwfile_kind kind;
    const char *scheme; /* canonical scheme name (static) */
    int weak;           /* MD5-CRYPT: imported, but worth a warning */
    char *value;        /* malloc'ed, NUL-terminated; dovecot_pwfile_secret_clear() */
    size_t len;
} dovecot_pwfile_secret;

/* Resolve the scheme of e (default_scheme when the field has none) and
 * decode the value.  0 on success; -1 with *why for schemes authgate cannot
 * import honestly, malformed values and failed allocations. */
int dovecot_pwfile_secret_get(const dovecot_pwfile_entry *e, const char *default_scheme,
                              dovecot_pwfile_secret *out, const char **why);
/* 1 if scheme (as written in braces, any case, with an optional encoding
 * suffix) is one authgate imports, else 0. */
int dovecot_pwfile_scheme_known(const char *scheme);
/* Wipe and free the value; safe on a zeroed or cleared struct. */
void dovecot_pwfile_secret_clear(dovecot_pwfile_secret *s);

#endif
