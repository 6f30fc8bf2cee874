/*
 * import_dovecot.c - "import dovecot FILE": logins from a Dovecot
 * passwd-file.
 *
 * Crypt(3) hashes ({SHA512-CRYPT}, {BLF-CRYPT}, {SHA256-CRYPT},
 * {MD5-CRYPT}, {CRYPT}) are stored as they are (authdb_secrets_from_hash):
 * those logins can use PLAIN/LOGIN through authgate-authd only until their
 * next password change, and the summary lists them.  Cleartext ({PLAIN},
 * {CLEARTEXT}, .B64/.HEX) gets the store's configured secrets.  Extra
 * field "nologin" imports the login disabled; "nopassword" and
 * "allow_nets" are refused (authgate cannot honour them).  Parsing lives
 * in dovecot_pwfile.c.
 */
#include <stdlib.h>
#include <string.h>

#include "dovecot_pwfile.h"
#include "import.h"

struct import_dovecot {
    import_users *s;
    const char *domain; /* appended to bare user names, or NULL */
    const char *default_scheme;
    int oom;
};

static void import_dovecot_error(unsigned line, const char *why, void *arg)
{
    struct import_dovecot *x = arg;

    import_report_add(&x->s->rep, line, IMPORT_ERROR, NULL, "%s", why);
}

static void import_dovecot_entry(const dovecot_pwfile_entry *e, void *arg)
{
    struct import_dovecot *x = arg;
    char login[AUTHDB_LOGIN_MAX * 2 + 2], esc[AUTHDB_NAME_BUFSZ * 2];
    dovecot_pwfile_secret sec;
    const char *why = NULL;
    size_t len = e->userlen;

    if (len >= sizeof(login) / 2) {
        import_report_add(&x->s->rep, e->line, IMPORT_ERROR, NULL, "user name too long");
        return;
    }
    memcpy(login, e->user, len);
    login[len] = '\0';
    if (x->domain != NULL && memchr(login, '@', len) == NULL) {
        snprintf(login + len, sizeof(login) - len, "@%s", x->domain);
        len = strlen(login);
    }
    authdb_log_escape(login, len, esc, sizeof(esc));
    if (e->flags & DOVECOT_PWFILE_NOPASSWORD) {
        import_report_add(&x->s->rep, e->line, IMPORT_ERROR, esc,
                          "\"nopassword\" (any password accepted) cannot be imported");
        return;
    }
    if (e->flags & DOVECOT_PWFILE_NETS) {
        import_report_add(&x->s->rep, e->line, IMPORT_ERROR, esc,
                          "\"allow_nets\" restricts where the user may log in from; authgate "
                          "cannot, so the login is not imported (drop the field to import it)");
        return;
    }
    if (dovecot_pwfile_secret_get(e, x->default_scheme, &sec, &why) != 0) {
        const char *scheme = e->scheme != NULL ? e->scheme : x->default_scheme;
        size_t slen = e->scheme != NULL ? e->schemelen : strlen(scheme);
        import_report_add(&x->s->rep, e->line, IMPORT_ERROR, esc, "{%.*s}: %s",
                          (int)(slen > 32 ? 32 : slen), scheme, why);
        return;
    }
    if (sec.weak)
        import_report_add(&x->s->rep, e->line, IMPORT_WARNING, esc,
                          "MD5-crypt is a weak hash: set a new password soon");
    if (e->flags & DOVECOT_PWFILE_NOLOGIN)
        import_report_add(&x->s->rep, e->line, IMPORT_WARNING, esc,
                          "\"nologin\": imported disabled");
    if (import_users_add(x->s, e->line, login, len,
                         sec.kind == DOVECOT_PWFILE_HASH ? IMPORT_HASH : IMPORT_CLEARTEXT,
                         sec.value, sec.len, sec.scheme,
                         (e->flags & DOVECOT_PWFILE_NOLOGIN) ? AUTHDB_USER_DISABLED : 0) != 0)
        x->oom = 1;
    dovecot_pwfile_secret_clear(&sec);
}

static int import_dovecot_run(cli *c, const cli_args *a)
{
    struct import_dovecot x;
    import_users s;
    authdb *h = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(&s, 0, sizeof(s));
    memset(&x, 0, sizeof(x));
    x.s = &s;
    x.domain = cli_arg(a, "domain");
    x.default_scheme = cli_arg(a, "default-scheme") ? cli_arg(a, "default-scheme") : "CRYPT";
    if (!dovecot_pwfile_scheme_known(x.default_scheme)) {
        rc = cli_fail(c, CLI_USAGE, "--default-scheme %s: not a scheme authgate imports",
                      x.default_scheme);
        goto out;
    }
    if ((rc = cli_open(c, AUTHDB_BOTH | AUTHDB_WRITE, &h)) != CLI_OK)
        goto out;
    if ((rc = import_users_init(c, a, h, a->pos[0], &s)) != CLI_OK)
        goto out;
    if ((rc = import_read_file(c, a->pos[0], &buf, &len)) != CLI_OK)
        goto out;
    dovecot_pwfile_parse(buf, len, import_dovecot_entry, import_dovecot_error, &x);
    explicit_bzero(buf, len);
    if (x.oom) {
        rc = cli_fail(c, CLI_STORE, "%s: out of memory", a->pos[0]);
        goto out;
    }
    rc = import_users_run(c, h, &s);
out:
    free(buf);
    import_users_free(&s);
    authdb_close(h);
    return rc;
}

static const cli_opt import_dovecot_opts[] = {
    IMPORT_USER_OPTS,
    {"domain", "DOMAIN", "append @DOMAIN to user names without a domain"},
    {"default-scheme", "SCHEME", "scheme of passwords without {SCHEME} (default CRYPT)"},
    {NULL, NULL, NULL},
};

const cli_cmd import_dovecot_cmds[] = {
    {"import dovecot", "FILE", "import users from a Dovecot passwd-file",
     "Read a Dovecot passwd-file (user:{SCHEME}password:uid:gid:gecos:home:shell:extra;\n"
     "\"-\" reads standard input).  {SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT},\n"
     "{MD5-CRYPT} and {CRYPT} hashes are kept as they are: those logins can use PLAIN\n"
     "and LOGIN (through authgate-authd) only until their next password change, and\n"
     "the summary lists them.  {PLAIN}/{CLEARTEXT} (also .B64, .HEX) passwords get the\n"
     "store's configured secrets.  Other schemes are refused with a reason.  Extra\n"
     "field nologin imports the login disabled; nopassword and allow_nets are refused.",
     import_dovecot_opts, 1, 1, IMPORT_EXITS, import_dovecot_run},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
