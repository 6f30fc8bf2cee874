/*
 * import.h - what the import commands share: reading input files, the
 * problem report, and the user import engine.
 *
 * The engine takes user records (login + cleartext password or crypt(3)
 * hash), then:
 *   1. rejects duplicates and, in one read transaction, logins that exist
 *      (unless --replace / --skip-existing);
 *   2. builds every record's secrets before any write: authdb_secrets_derive
 *      for cleartext (slow; on --jobs threads, default all CPUs),
 *      authdb_secrets_from_hash for hashes;
 *   3. stores every good record in ONE authdb_write() transaction.  A record
 *      the store refuses aborts the transaction, is marked bad and the
 *      transaction runs again without it, so no record is ever half
 *      written.  --all-or-nothing commits nothing if any record is bad.
 * Every problem names the file, the line and the login.
 */
#ifndef AUTHGATECTL_IMPORT_H
#define AUTHGATECTL_IMPORT_H

#include "cli.h"

#define IMPORT_FILE_MAX ((size_t)1 << 30) /* input files up to 1 GiB */

enum import_severity { IMPORT_ERROR = 1, IMPORT_WARNING = 2 };

typedef struct import_problem {
    unsigned line;
    enum import_severity sev;
    char *login; /* may be NULL */
    char *msg;
} import_problem;

typedef struct import_report {
    const char *file;
    import_problem *p;
    size_t n, cap;
    size_t errors, warnings;
    int oom; /* a problem could not be recorded */
} import_report;

void import_report_init(import_report *r, const char *file);
void import_report_free(import_report *r);
void import_report_add(import_report *r, unsigned line, enum import_severity sev, const char *login,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Problems in line order: "FILE:LINE: error: LOGIN: text" on standard
 * error, or a "problems" array in the JSON document. */
void import_report_print(cli *c, import_report *r);

/* Read a whole file ("-": standard input) of at most IMPORT_FILE_MAX octets
 * into *buf (malloc'ed, NUL-terminated).  Reports failures; returns the
 * exit code. */
int import_read_file(cli *c, const char *path, char **buf, size_t *len);

enum import_kind { IMPORT_CLEARTEXT = 1, IMPORT_HASH = 2 };
enum import_state { IMPORT_PENDING = 0, IMPORT_BAD, IMPORT_SKIPPED, IMPORT_DONE };

typedef struct import_user {
    unsigned line;
    char login[AUTHDB_NAME_BUFSZ]; /* normalized */
    enum import_kind kind;
    char *secret; /* cleartext or hash, owned, wiped and freed once used */
    size_t secretlen;
    const char *scheme; /* where the secret came from ("SHA512-CRYPT", "sasldb") */
    unsigned flags;     /* AUTHDB_USER_* to set */
    unsigned mechs;     /* mechanisms to derive (0: the store's) */
    authdb_secrets *secrets;
    int rc; /* derivation / store status */
    enum import_state state;
} import_user;

typedef struct import_users {
    import_report rep;
    import_user *u;
    size_t n, cap;
    authdb_norm norm;
    /* options */
    enum authdb_put_mode mode; /* CREATE, or UPSERT with --replace */
    int skip_existing, all_or_nothing, dry_run;
    unsigned jobs;
} import_users;

/* Options every user import takes, for cli_opt tables. */
#define IMPORT_USER_OPTS                                                                           \
    {"all-or-nothing", NULL, "commit nothing if any record is rejected"},                          \
        {"replace", NULL, "replace the secrets of logins that exist"},                             \
        {"skip-existing", NULL, "skip logins that exist, silently"},                               \
        {"dry-run", NULL, "check the input, write nothing"},                                       \
    {                                                                                              \
        "jobs", "N", "threads deriving secrets (default: all CPUs)"                                \
    }

#define IMPORT_EXITS                                                                               \
    "  0 every record imported\n"                                                                  \
    "  3 FILE not found\n"                                                                         \
    "  5 some records rejected (the others committed, or none with --all-or-nothing)\n"            \
    "  6 store error: nothing committed\n"                                                         \
    "  2 usage error\n"                                                                            \
    "  7 permission denied\n"

/* Set up s from the IMPORT_USER_OPTS options and the store's normalization
 * rules.  Returns the exit code. */
int import_users_init(cli *c, const cli_args *a, authdb *h, const char *file, import_users *s);
/* Add a record; the login is normalized here (a problem is recorded when it
 * cannot be).  The secret is copied.  0, or -1 out of memory. */
int import_users_add(import_users *s, unsigned line, const char *login, size_t loginlen,
                     enum import_kind kind, const char *secret, size_t secretlen,
                     const char *scheme, unsigned flags);
/* Check, derive, commit and report (steps 1-3 above).  Returns the exit
 * code. */
int import_users_run(cli *c, authdb *h, import_users *s);
void import_users_free(import_users *s);

#endif
