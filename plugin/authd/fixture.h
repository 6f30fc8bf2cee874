/*
 * fixture.h - test and benchmark scaffolding for authgate-authd (not
 * part of the daemon): a real store in a scratch directory, a
 * configuration file, the real daemon started and stopped as a child
 * process, and a saslauthd client.
 *
 * As root the daemon runs as "nobody" (the store's secrets are group
 * "nogroup", nobody's primary group), so the privilege drop is exercised;
 * otherwise it runs as the caller.
 */
#ifndef AUTHD_FIXTURE_H
#define AUTHD_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

#include "proto.h"

/* Logins every fixture store holds. */
#define FX_PASSWORD       "correct horse battery"
#define FX_LOGIN          "alice"
#define FX_ADDR_LOGIN     "bob@example.org" /* password FX_PASSWORD */
#define FX_DISABLED_LOGIN "carol"           /* disabled, password FX_PASSWORD */

typedef struct fixture {
    char dir[64];      /* scratch directory (removed by fixture_free) */
    char store[128];   /* dir/store */
    char conf[128];    /* dir/authgate.conf */
    char sock[128];    /* dir/run/authd/mux */
    char log[128];     /* dir/authd.log: the daemon's standard error */
    char pidfile[128]; /* dir/authd.pid */
    const char *bin;   /* the daemon (env AUTHD_BIN) */
    pid_t pid;         /* running daemon, or 0 */
    int starts;        /* "ready" lines seen in the log so far */
    int as_root;
    char self[64]; /* the caller's user name */
    int unit_caps; /* as root: start with the systemd unit's capabilities only */
} fixture;

/* Scratch directory; the store with the logins above (unless no_store);
 * a configuration file with threads and timeout (seconds).  Returns 0, or
 * -1 with a message on stderr.  77 when AUTHD_BIN is unset (skip). */
int fixture_init(fixture *f, int no_store, unsigned threads, unsigned timeout);

/* Create the store at f->store now (for "store appears later"). */
int fixture_make_store(fixture *f, const char *login, const char *password);

/* Rewrite the configuration file with these values (store NULL: f->store). */
int fixture_write_conf(fixture *f, const char *store, unsigned threads, unsigned timeout);

/* Start the daemon in the foreground (-f) and wait until its socket
 * accepts (5 s at most).  With f->unit_caps, the daemon runs with the
 * capability bounding set of the packaged systemd unit (CAP_CHOWN,
 * CAP_SETUID, CAP_SETGID) and no_new_privs, as root would under it.
 * Returns 0 or -1. */
int fixture_start(fixture *f);

/* Send sig and wait for the daemon to exit (timeout_ms; then SIGKILL).
 * Returns its exit status, or -1 (killed, or not running). */
int fixture_stop(fixture *f, int sig, unsigned timeout_ms);

/* Stop the daemon if running and remove the scratch directory. */
void fixture_free(fixture *f);

/* Count lines of the daemon's log containing every one of the NULL-
 * terminated needles. */
int fixture_log_count(const fixture *f, const char *const *needles);
/* 1 when the log contains s anywhere. */
int fixture_log_has(const fixture *f, const char *s);

/* Client.  fixture_connect: a connected socket or -1. */
int fixture_connect(const char *sock);
/* Write all of buf.  0 or -1. */
int fixture_write_all(int fd, const void *buf, size_t len);
/* Read one reply within timeout_ms: 0 with the payload (NUL-terminated,
 * *plen octets) or -1 (timeout, EOF before a reply, error). */
int fixture_read_reply(int fd, char *payload, size_t psz, size_t *plen, unsigned timeout_ms);

/* One complete request on a fresh connection.  Returns the answer as
 * proto_reply_classify() sees it, or -1 when no reply came; payload as
 * above (may be NULL). */
int fixture_ask(const char *sock, const char *login, const char *password, const char *service,
                const char *realm, char *payload, size_t psz);
/* The same with raw field lengths (over-long fields, NULs). */
int fixture_ask_raw(const char *sock, const char *const field[PROTO_NFIELDS],
                    const size_t flen[PROTO_NFIELDS], char *payload, size_t psz);

/* Monotonic milliseconds (double, for timing). */
double fixture_now_ms(void);

#endif /* AUTHD_FIXTURE_H */
