/*
 * cli.c - authgatectl's command framework (see cli.h).
 *
 * Interface: cli_parse, cli_parse_global, cli_print_help, cli_print_globals,
 * cli_print_exits, cli_opt, cli_opt_uint, cli_fail, cli_fail_db, cli_warn,
 * cli_exit_code, cli_esc, cli_store_dir, cli_open, cli_list_begin,
 * cli_list_end, cli_password, cli_login,
 * cli_kind_name, cli_kinds_text, cli_usable_text, cli_time.
 * Diagnostics go to standard error prefixed "authgatectl: "; the last one is
 * kept in cli.error for the JSON document.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const cli_opt cli_global_opts[] = {
    {"config", "FILE",
     "configuration file (default " AUTHDB_CONF_DEFAULT ", or $" AUTHDB_CONF_ENV ")"},
    {"store", "DIR|URI",
     "store directory, or postgresql://... for the central store (overrides the "
     "configuration's \"store\")"},
    {"force", NULL, "write to a store that authgate-sync manages (stops its sync until a resync)"},
    {"json", NULL, "machine-readable output: one JSON object on standard output"},
    {"help", NULL, "print help and exit"},
    {"version", NULL, "print the version and exit"},
    {NULL, NULL, NULL},
};

/* Split "--name=value" into name length and value. */
static size_t cli_optname(const char *arg, const char **value)
{
    const char *eq = strchr(arg, '=');

    *value = eq != NULL ? eq + 1 : NULL;
    return eq != NULL ? (size_t)(eq - arg) : strlen(arg);
}

static int cli_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

int cli_parse_global(int argc, char **argv, int *i, cli_globals *g, char *why, size_t whylen)
{
    const char *arg = argv[*i], *value, *name;
    const char **slot = NULL;
    size_t len;

    if (strncmp(arg, "--", 2) != 0)
        return 0;
    name = arg + 2;
    len = cli_optname(name, &value);
    if (cli_is(name, len, "json") || cli_is(name, len, "help") || cli_is(name, len, "version") ||
        cli_is(name, len, "force")) {
        if (value != NULL) {
            snprintf(why, whylen, "option --%.*s takes no value", (int)len, name);
            return -1;
        }
        if (cli_is(name, len, "json"))
            g->json = 1;
        else if (cli_is(name, len, "help"))
            g->help = 1;
        else if (cli_is(name, len, "force"))
            g->force = 1;
        else
            g->version = 1;
        return 1;
    }
    if (cli_is(name, len, "config"))
        slot = &g->config;
    else if (cli_is(name, len, "store"))
        slot = &g->store;
    else
        return 0;
    if (value == NULL) {
        if (*i + 1 >= argc) {
            snprintf(why, whylen, "option --%.*s needs a value", (int)len, name);
            return -1;
        }
        value = argv[++*i];
    }
    *slot = value;
    return 1;
}

/* Does cmd read a password (has --password-stdin)? */
static int cli_takes_password(const cli_cmd *cmd)
{
    for (const cli_opt *o = cmd->opts; o != NULL && o->name != NULL; o++)
        if (strcmp(o->name, "password-stdin") == 0)
            return 1;
    return 0;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a, cli_globals *g, char *why,
              size_t whylen)
{
    int only_pos = 0;

    memset(a, 0, sizeof(*a));
    a->cmd = cmd;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *value;
        size_t len;
        int k, r;

        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (a->npos >= cmd->max_pos || a->npos >= CLI_MAX_POS) {
                /* A command that reads a password: the extra argument may
                 * be one typed in the wrong place; do not echo it. */
                if (cli_takes_password(cmd))
                    snprintf(why, whylen,
                             "%s: unexpected argument (not shown: passwords are read from the "
                             "terminal or with --password-stdin, never from the command line)",
                             cmd->name);
                else
                    snprintf(why, whylen, "%s: unexpected argument \"%.*s\"", cmd->name,
                             CLI_ECHO_MAX, arg);
                return CLI_USAGE;
            }
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if ((r = cli_parse_global(argc, argv, &i, g, why, whylen)) < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (arg[1] != '-') {
            snprintf(why, whylen, "%s: unknown option \"%s\" (options are spelled --name)",
                     cmd->name, arg);
            return CLI_USAGE;
        }
        len = cli_optname(arg + 2, &value);
        for (k = 0; cmd->opts != NULL && cmd->opts[k].name != NULL; k++)
            if (cli_is(arg + 2, len, cmd->opts[k].name))
                break;
        if (cmd->opts == NULL || cmd->opts[k].name == NULL || k >= CLI_MAX_OPTS) {
            snprintf(why, whylen, "%s: unknown option \"%.*s\"", cmd->name, (int)len + 2, arg);
            return CLI_USAGE;
        }
        if (cmd->opts[k].argname == NULL) {
            if (value != NULL) {
                snprintf(why, whylen, "%s: option --%s takes no value", cmd->name,
                         cmd->opts[k].name);
                return CLI_USAGE;
            }
            value = "";
        } else if (value == NULL) {
            if (i + 1 >= argc) {
                snprintf(why, whylen, "%s: option --%s needs %s", cmd->name, cmd->opts[k].name,
                         cmd->opts[k].argname);
                return CLI_USAGE;
            }
            value = argv[++i];
        }
        if (a->val[k] != NULL) {
            snprintf(why, whylen, "%s: option --%s given twice", cmd->name, cmd->opts[k].name);
            return CLI_USAGE;
        }
        a->val[k] = value;
    }
    if (!g->help && a->npos < cmd->min_pos) {
        snprintf(why, whylen, "%s: missing argument (usage: authgatectl %s %s)", cmd->name,
                 cmd->name, cmd->synopsis);
        return CLI_USAGE;
    }
    return 0;
}

static void cli_print_opts(FILE *f, const cli_opt *opts)
{
    for (int k = 0; opts != NULL && opts[k].name != NULL; k++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", opts[k].name, opts[k].argname ? " " : "",
                 opts[k].argname ? opts[k].argname : "");
        fprintf(f, "  %-24s %s\n", left, opts[k].help);
    }
}

void cli_print_globals(FILE *f)
{
    fprintf(f, "global options (before or after the command):\n");
    cli_print_opts(f, cli_global_opts);
}

void cli_print_exits(FILE *f)
{
    fprintf(f, "exit status:\n"
               "  0 success            1 no (mismatch, denied, problems found)\n"
               "  2 usage error        3 not found          4 already exists\n"
               "  5 invalid data       6 store error or temporary failure\n"
               "  7 permission denied  130 interrupted\n");
}

void cli_print_help(FILE *f, const cli_cmd *cmd)
{
    fprintf(f, "usage: authgatectl [global options] %s%s%s\n\n", cmd->name,
            cmd->synopsis[0] ? " " : "", cmd->synopsis);
    fprintf(f, "%s\n\n", cmd->description);
    if (cmd->opts != NULL && cmd->opts[0].name != NULL) {
        fprintf(f, "options:\n");
        cli_print_opts(f, cmd->opts);
        fputc('\n', f);
    }
    cli_print_globals(f);
    fprintf(f, "\nexit status:\n%s", cmd->exits);
}

const char *cli_arg(const cli_args *a, const char *name)
{
    for (int k = 0; a->cmd->opts != NULL && a->cmd->opts[k].name != NULL; k++)
        if (strcmp(a->cmd->opts[k].name, name) == 0)
            return a->val[k];
    return NULL;
}

int cli_opt_uint(cli *c, const cli_args *a, const char *name, unsigned long min, unsigned long max,
                 unsigned long dflt, unsigned long *out)
{
    const char *v = cli_arg(a, name);
    char *end;
    unsigned long n;

    *out = dflt;
    if (v == NULL)
        return 0;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n < min || n > max)
        return cli_fail(c, CLI_USAGE, "--%s: \"%s\" is not a number from %lu to %lu", name, v, min,
                        max);
    *out = n;
    return 0;
}

static void cli_vreport(cli *c, const char *prefix, const char *fmt, va_list ap, int keep)
{
    char msg[sizeof(c->error)];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(c->err, "authgatectl: %s%s\n", prefix, msg);
    if (keep)
        memcpy(c->error, msg, sizeof(msg));
}

int cli_fail(cli *c, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cli_vreport(c, "", fmt, ap, 1);
    va_end(ap);
    return code;
}

int cli_fail_db(cli *c, int rc, const char *fmt, ...)
{
    char msg[sizeof(c->error)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cli_fail(c, cli_exit_code(rc), "%s: %s", msg, authdb_strerror(rc));
}

void cli_warn(cli *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cli_vreport(c, "warning: ", fmt, ap, 0);
    va_end(ap);
}

int cli_exit_code(int rc)
{
    switch (rc) {
    case AUTHDB_OK:
        return CLI_OK;
    case AUTHDB_NOTFOUND:
        return CLI_NOTFOUND;
    case AUTHDB_EEXIST:
    case EEXIST:
    case ENOTEMPTY:
        return CLI_EXISTS;
    case AUTHDB_EINVAL:
    case AUTHDB_ETOOLONG:
    case AUTHDB_ELIMIT:
        return CLI_DATAERR;
    case AUTHDB_EMISMATCH:
    case AUTHDB_EDISABLED:
        return CLI_NO;
    case AUTHDB_EPERM:
    case AUTHDB_ERDONLY:
    case AUTHDB_EMANAGED:
    case EACCES:
    case EPERM:
    case EROFS:
        return CLI_PERM;
    default:
        return CLI_STORE;
    }
}

const char *cli_esc(const char *s, size_t len, char *buf, size_t bufsz)
{
    return authdb_log_escape(s, len, buf, bufsz < CLI_ECHO_MAX ? bufsz : CLI_ECHO_MAX);
}

const char *cli_store_dir(const cli *c)
{
    return c->store_override != NULL ? c->store_override : c->conf->store;
}

int cli_store_is_uri(const cli *c)
{
    const char *s = cli_store_dir(c);
    return strncmp(s, "postgresql:", 11) == 0 || strncmp(s, "postgres:", 9) == 0;
}

int cli_open(cli *c, unsigned flags, authdb **h)
{
    char why[512];
    int rc;

    if ((flags & AUTHDB_WRITE) && c->force)
        flags |= AUTHDB_FORCE;
    /* A write open completes a change a crash interrupted between the
     * store's two environments and says so (stderr and syslog). */
    authdb_log_init(&c->lg, "authgatectl", !c->json, 1, 0);
    rc = authdb_open_log(cli_store_dir(c), flags, &c->lg, h, why, sizeof(why));
    if (rc != AUTHDB_OK)
        return cli_fail(c, cli_exit_code(rc), "%s", why);
    return CLI_OK;
}

void cli_list_begin(cli *c, const char *key)
{
    if (c->json) {
        json_key(&c->j, key);
        json_array_begin(&c->j);
    }
}

int cli_list_end(cli *c, int rc, const char *what)
{
    if (rc != AUTHDB_OK)
        return cli_fail_db(c, rc, "cannot list %s", what);
    if (c->json)
        json_array_end(&c->j);
    return CLI_OK;
}

int cli_password(cli *c, const cli_args *a, int confirm, pwbuf **out)
{
    pwbuf *b;
    int rc;

    *out = NULL;
    if ((b = pwbuf_new(AUTHDB_PASSWORD_MAX)) == NULL)
        return cli_fail(c, CLI_STORE, "cannot allocate a password buffer");
    if (cli_arg(a, "password-stdin") != NULL)
        rc = pwinput_read_fd(STDIN_FILENO, b);
    else
        rc = pwinput_read_tty("Password: ", confirm, b);
    if (rc != PWINPUT_OK) {
        pwbuf_free(b);
        if (rc == PWINPUT_INTERRUPTED)
            return cli_fail(c, CLI_INTERRUPTED, "interrupted");
        if (rc == PWINPUT_NOTTY)
            return cli_fail(c, CLI_USAGE, "%s", pwinput_strerror(rc));
        if (rc == PWINPUT_EIO)
            return cli_fail(c, CLI_DATAERR, "%s: %s", pwinput_strerror(rc), strerror(errno));
        if (rc == PWINPUT_TOOLONG)
            return cli_fail(c, CLI_DATAERR, "%s (limit %d octets)", pwinput_strerror(rc),
                            AUTHDB_PASSWORD_MAX);
        return cli_fail(c, CLI_DATAERR, "%s", pwinput_strerror(rc));
    }
    *out = b;
    return CLI_OK;
}

int cli_login(cli *c, authdb *h, const char *login, char *out)
{
    authdb_norm n;
    const char *why = NULL;
    char esc[AUTHDB_NAME_BUFSZ * 2];
    size_t len;
    int rc;

    if ((rc = authdb_norm_get(h, NULL, &n)) != AUTHDB_OK)
        return cli_fail_db(c, rc, "cannot read the store's normalization settings");
    rc = authdb_norm_login(&n, login, strlen(login), out, AUTHDB_NAME_BUFSZ, &len, &why);
    if (rc != AUTHDB_OK)
        return cli_fail(c, cli_exit_code(rc), "invalid login \"%s\": %s",
                        cli_esc(login, strlen(login), esc, sizeof(esc)),
                        why != NULL ? why : authdb_strerror(rc));
    return CLI_OK;
}

static const char *const cli_kind_names[AUTHDB_SECRET_KIND_END_] = {
    [AUTHDB_SECRET_HASH] = "hash",
    [AUTHDB_SECRET_SCRAM_SHA256] = "scram-sha-256",
    [AUTHDB_SECRET_SCRAM_SHA1] = "scram-sha-1",
    [AUTHDB_SECRET_CRAM_MD5] = "cram-md5",
    [AUTHDB_SECRET_DIGEST_MD5] = "digest-md5",
    [AUTHDB_SECRET_PLAIN] = "plain",
    [AUTHDB_SECRET_CLEARTEXT] = "cleartext",
};

const char *cli_kind_name(int kind)
{
    if (kind <= 0 || kind >= AUTHDB_SECRET_KIND_END_ || cli_kind_names[kind] == NULL)
        return "?";
    return cli_kind_names[kind];
}

/* Append word to buf (space-separated). */
static void cli_append(char *buf, size_t bufsz, const char *word)
{
    size_t len = strlen(buf);

    snprintf(buf + len, bufsz - len, "%s%s", len > 0 ? " " : "", word);
}

const char *cli_kinds_text(unsigned kinds, char *buf, size_t bufsz)
{
    buf[0] = '\0';
    for (int k = 1; k < AUTHDB_SECRET_KIND_END_; k++)
        if (kinds & (1u << k))
            cli_append(buf, bufsz, cli_kind_name(k));
    return buf;
}

const char *cli_usable_text(unsigned kinds, char *buf, size_t bufsz)
{
    buf[0] = '\0';
    if (kinds & (1u << AUTHDB_SECRET_CLEARTEXT)) {
        cli_append(buf, bufsz, "every mechanism (cleartext stored)");
        return buf;
    }
    if (kinds & (1u << AUTHDB_SECRET_SCRAM_SHA256))
        cli_append(buf, bufsz, "SCRAM-SHA-256");
    if (kinds & (1u << AUTHDB_SECRET_SCRAM_SHA1))
        cli_append(buf, bufsz, "SCRAM-SHA-1");
    if (kinds & (1u << AUTHDB_SECRET_CRAM_MD5))
        cli_append(buf, bufsz, "CRAM-MD5");
    if (kinds & (1u << AUTHDB_SECRET_DIGEST_MD5))
        cli_append(buf, bufsz, "DIGEST-MD5");
    if (kinds & (1u << AUTHDB_SECRET_PLAIN))
        cli_append(buf, bufsz, "PLAIN/LOGIN(auxprop)");
    if (kinds & (1u << AUTHDB_SECRET_HASH))
        cli_append(buf, bufsz, "PLAIN/LOGIN(authgate-authd)");
    if (buf[0] == '\0')
        cli_append(buf, bufsz, "none");
    return buf;
}

const char *cli_time(int64_t t, char *buf, size_t bufsz)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, bufsz, "-");
    return buf;
}
