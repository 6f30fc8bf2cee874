/*
 * service.h - what authgate-milter and authgate-query share as daemons:
 * the command line, loading the configuration into a runtime, -t,
 * detaching, the pid file, the privilege drop, the signal self-pipe and
 * SIGHUP reloads, readiness, and the end.  Each main keeps what is its own
 * (the socket, serving, draining) between these steps:
 *
 *   service_start      command line, configuration, runtime, -t
 *   daemon_ids         (daemon.h) the users and groups, as root
 *   service_detach     unless -f
 *   service_pidfile    write and lock the pid file
 *   ...                the daemon opens its socket
 *   service_drop       become the daemon's user, warn when still root
 *   service_signals    SIGHUP, SIGTERM and SIGINT to the self-pipe
 *                      s->sigfd; service_on_signal() on each
 *   service_ready      open the store early, tell the waiting parent
 *   service_stop       close the readiness pipe, remove the pid file
 *   service_free       service_stop, release the runtime
 *
 * Functions that can fail return -1 with a sentence in s->why;
 * service_fail() logs it (and prints it with -f).  Nothing here exits.
 * The signal handler's write end of the self-pipe is the one process-wide
 * variable, set before the handlers are installed.
 */
#ifndef AUTHGATE_SERVICE_H
#define AUTHGATE_SERVICE_H

#include <sys/types.h>

#include "authdb.h"
#include "daemon.h"
#include "runtime.h"

/* What makes one daemon: its names, its usage line, its keys that need a
 * restart. */
typedef struct service_def {
    daemon_names names;      /* names.prog: log ident, -V, messages */
    const char *socket_help; /* the -p line of the usage text */
    int check_authserv;      /* -t also names the authserv-id */
    int no_core;             /* no core dumps (daemon_no_core), before
                              * detaching and again after the drop */
    /* SIGHUP: non-zero when next changes a key that needs a restart ... */
    int (*restart_changed)(const authdb_conf *boot, const authdb_conf *next);
    const char *restart_keys; /* ... and those keys, for the warning */
} service_def;

typedef struct service {
    const service_def *def;
    /* the command line */
    const char *config;
    int config_given;
    const char *socket; /* -p, or NULL */
    int foreground, debug, test;
    authdb_log lg;
    runtime *rt;
    gen *boot;               /* the first generation, pinned until service_free */
    const authdb_conf *conf; /* boot's configuration */
    const char *pidfile;     /* service_pidfile's path */
    int ready_fd, pidfd, sigfd;
    char why[AUTHDB_WHY_MAX]; /* what failed */
} service;

/* Returned by service_start when the daemon is to run. */
#define SERVICE_RUN (-1)

/* Parse the command line, load the configuration and build the runtime
 * (its first generation pinned in s->boot); with -t check the store.
 * SERVICE_RUN, or the status main exits with (-V, -h, a usage error, a
 * failure already reported, the result of -t); call service_free() in
 * every case. */
int service_start(service *s, const service_def *def, int argc, char **argv);

/* No core dumps when the daemon wants none; then, unless -f, detach
 * (daemon_detach).  0 in the daemon (or with -f), 1 in the original
 * process (*status: what main exits with; a failed start is said on
 * standard error), -1 on failure. */
int service_detach(service *s, int *status);

/* Write and lock the pid file path (daemon_pidfile); s->pidfd >= 0 while
 * it is held.  0 or -1. */
int service_pidfile(service *s, const char *path);

/* Become user (uid and gid from daemon_ids), no core dumps again when the
 * daemon wants none, warn when still root.  0 or -1. */
int service_drop(service *s, const char *user, uid_t uid, gid_t gid);

/* SIGHUP, SIGTERM and SIGINT write their number to a self-pipe whose read
 * end is s->sigfd (close-on-exec); SIGPIPE is ignored.  0 or -1. */
int service_signals(service *s);

/* One signal read from s->sigfd: SIGHUP reloads the configuration (a key
 * that needs a restart is warned about; a broken file is refused and the
 * running configuration kept); returns non-zero for SIGTERM and SIGINT
 * (stop). */
int service_on_signal(service *s, int sig);

/* Open the store now, to log a problem early (it is retried later); log
 * "<prog> <version> ready on <sock>" unless sock is NULL; tell the waiting
 * parent that startup succeeded. */
void service_ready(service *s, const char *sock);

/* Log s->why (and print it on standard error with -f); returns 1. */
int service_fail(service *s);

/* Tell a waiting parent that startup failed (if it was not told it
 * succeeded) and remove the pid file.  Repeatable. */
void service_stop(service *s);

/* service_stop(), then release the runtime.  Repeatable. */
void service_free(service *s);

#endif
