/*
 * cli.h - authgatectl's command framework: the run context, exit codes,
 * option parsing, error reporting, store opening and password input shared
 * by every subcommand module.
 *
 * A subcommand is a cli_cmd: its name ("user add"), synopsis, help text,
 * option table, number of arguments, documented exit codes and run
 * function.  Modules export a table of them (terminated by a NULL name);
 * authgatectl.c dispatches over the tables.  --help output is generated
 * from the same tables the parser uses, so it cannot drift from what the
 * command accepts.
 *
 * Output: text on standard output, diagnostics on standard error
 * ("authgatectl: ...").  With --json every command writes one JSON object
 * to standard output; the command adds its keys, main adds "ok" (exit
 * status 0), "exit" and, on failure, "error".
 */
#ifndef AUTHGATECTL_CLI_H
#define AUTHGATECTL_CLI_H

#include <stdio.h>

#include "authdb.h"
#include "json.h"
#include "pwinput.h"

/* Exit codes (documented in authgatectl(8) and every --help). */
enum cli_exit {
    CLI_OK = 0,
    CLI_NO = 1,       /* verify mismatch, sender test denied, check found errors */
    CLI_USAGE = 2,    /* bad command line */
    CLI_NOTFOUND = 3, /* login, rule, domain, setting, group or input file not found */
    CLI_EXISTS = 4,   /* login or store already exists */
    CLI_DATAERR = 5,  /* invalid login, pattern, value or password; rejected input records */
    CLI_STORE = 6,    /* the store cannot be used, or a temporary failure */
    CLI_PERM = 7,     /* permission denied */
    CLI_INTERRUPTED = 130,
};

/* Exit code lines every store command shares, for cli_cmd.exits. */
#define CLI_EXITS_COMMON                                                                           \
    "  2 usage error\n"                                                                            \
    "  6 store error or temporary failure\n"                                                       \
    "  7 permission denied\n"

#define CLI_MAX_OPTS 16
#define CLI_MAX_POS  4

typedef struct cli_opt {
    const char *name;    /* long option without "--" */
    const char *argname; /* NULL: a flag without value */
    const char *help;    /* one line */
} cli_opt;

struct cli;
struct cli_args;
typedef int (*cli_run_fn)(struct cli *c, const struct cli_args *a);

typedef struct cli_cmd {
    const char *name;        /* "user add": one or two words */
    const char *synopsis;    /* arguments after the name: "LOGIN" */
    const char *summary;     /* one line for the command list */
    const char *description; /* what it does, for --help */
    const cli_opt *opts;     /* terminated by a NULL name; may be NULL */
    int min_pos, max_pos;    /* positional arguments */
    const char *exits;       /* exit codes specific to it, "N meaning" lines */
    cli_run_fn run;
} cli_cmd;

typedef struct cli_args {
    const cli_cmd *cmd;
    const char *val[CLI_MAX_OPTS]; /* per cmd->opts index: value, "" for a flag, NULL absent */
    const char *pos[CLI_MAX_POS];
    int npos;
} cli_args;

/* Global options, accepted before or after the command words. */
typedef struct cli_globals {
    const char *config; /* --config (NULL: AUTHGATE_CONFIG or the default) */
    const char *store;  /* --store */
    int json;           /* --json */
    int help;           /* --help */
    int version;        /* --version */
    int force;          /* --force */
} cli_globals;

typedef struct cli {
    FILE *out, *err;
    int json;
    const char *store_override;
    int force; /* --force: AUTHDB_FORCE on writable opens */
    authdb_conf *conf;
    json j;
    char error[512]; /* the last error, for the JSON "error" key */
    authdb_log lg;   /* what the store does on its own (cli_open) */
} cli;

/* ---- command tables (one per module) ---- */
extern const cli_cmd settings_cmds[];
extern const cli_cmd user_cmds[];
extern const cli_cmd sender_cmds[];
extern const cli_cmd domain_cmds[];
extern const cli_cmd import_sasldb_cmds[];
extern const cli_cmd import_dovecot_cmds[];
extern const cli_cmd import_maps_cmds[];
extern const cli_cmd export_cmds[];
extern const cli_cmd maint_cmds[];
extern const cli_cmd sync_cmds[];

/* ---- parsing and help ---- */

/* Parse the arguments that follow the command words.  Global options are
 * accepted anywhere and stored in g.  Returns 0, or CLI_USAGE with a
 * message in why. */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a, cli_globals *g, char *why,
              size_t whylen);
/* Parse one global option at argv[*i] (advancing *i past a value):
 * 1 consumed, 0 not a global option, -1 missing value (why set). */
int cli_parse_global(int argc, char **argv, int *i, cli_globals *g, char *why, size_t whylen);
void cli_print_help(FILE *f, const cli_cmd *cmd);
void cli_print_globals(FILE *f);
void cli_print_exits(FILE *f);

/* Value of an option by name: its argument, "" for a set flag, or NULL. */
const char *cli_arg(const cli_args *a, const char *name);
/* Parse an unsigned option in [min, max]; absent: *out = dflt.  Returns 0
 * or CLI_USAGE (reported). */
int cli_opt_uint(cli *c, const cli_args *a, const char *name, unsigned long min, unsigned long max,
                 unsigned long dflt, unsigned long *out);

/* ---- diagnostics ---- */

/* Report an error ("authgatectl: " + message) and return code. */
int cli_fail(cli *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Report "message: authdb_strerror(rc)" and return cli_exit_code(rc). */
int cli_fail_db(cli *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cli_warn(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The exit code for an authdb, LMDB or errno status. */
int cli_exit_code(int rc);
/* Printable form of untrusted text (authdb_log_escape), in buf, at most
 * CLI_ECHO_MAX octets ("..." at the end when cut): an error message that
 * quotes an oversized argument must still have room for the reason. */
#define CLI_ECHO_MAX 160
const char *cli_esc(const char *s, size_t len, char *buf, size_t bufsz);

/* ---- store and passwords ---- */

/* The store directory (or URI): --store, else the configuration's. */
const char *cli_store_dir(const cli *c);
/* Non-zero when the store is a postgresql:// URI (the central store). */
int cli_store_is_uri(const cli *c);
/* Open the store; on failure report it and return the exit code. */
int cli_open(cli *c, unsigned flags, authdb **h);
/* Read a password: one line of standard input with --password-stdin
 * (option name "password-stdin" in a), else from the terminal (asked twice
 * when confirm).  On failure reports and returns the exit code. */
int cli_password(cli *c, const cli_args *a, int confirm, pwbuf **out);
/* Normalize a login from the command line with the store's rules, reporting
 * errors.  out has AUTHDB_NAME_BUFSZ octets. */
int cli_login(cli *c, authdb *h, const char *login, char *out);

/* ---- lists ---- */

/* Start a list: with --json, the array "key": [ (a plain listing has no
 * header). */
void cli_list_begin(cli *c, const char *key);
/* End it: rc is the authdb_*_foreach result; anything but AUTHDB_OK is
 * reported as "cannot list WHAT" and its exit code returned, else the JSON
 * array is closed and CLI_OK returned. */
int cli_list_end(cli *c, int rc, const char *what);

/* ---- shared by modules ---- */

/* One user's metadata as JSON members (inside an open object); user.c. */
void user_json(json *j, const authdb_user *u);

/* ---- formatting ---- */

/* "hash", "scram-sha-256", ... for an authdb_secret_kind; "?" if unknown. */
const char *cli_kind_name(int kind);
/* Space-separated names of the kinds in a (1 << kind) mask, into buf. */
const char *cli_kinds_text(unsigned kinds, char *buf, size_t bufsz);
/* What the secrets in a kinds mask let a login use, into buf. */
const char *cli_usable_text(unsigned kinds, char *buf, size_t bufsz);
/* Unix time as "2024-05-01T12:00:00Z" ("-" for 0), into buf (>= 32). */
const char *cli_time(int64_t t, char *buf, size_t bufsz);

#endif
