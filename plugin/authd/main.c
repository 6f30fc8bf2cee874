/*
 * main.c - authgate-authd: command line, configuration, startup order,
 * SIGHUP reload, shutdown.  Everything else lives in the modules:
 * listener (socket), privs (user, cores), pidfile, detach (background),
 * storeref (store handle), server (accept loop + workers), verify, proto.
 *
 * Startup, in this order: read the configuration; no core dumps; the
 * service manager's socket (sdnotify: NOTIFY_SOCKET, WATCHDOG_USEC);
 * detach (unless -f); block SIGTERM/SIGINT/SIGHUP into a signalfd; pid file and
 * socket as root; drop to authd_user; open the store as that user; start
 * the workers; tell the starting command (and the service manager:
 * READY=1) we are ready; serve, sending the watchdog keep-alive.
 *
 * Diagnostics: through authdb_logf (syslog facility mail, and standard
 * error with -f or before detaching).  Exit 0 after a clean stop, 1 on a
 * startup error, 2 on a usage error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include "authdb.h"
#include "detach.h"
#include "listener.h"
#include "pidfile.h"
#include "privs.h"
#include "sdnotify.h"
#include "server.h"
#include "storeref.h"

#define AUTHD_QUEUE_PER_THREAD 64  /* complete requests waiting, per worker */
#define AUTHD_MAX_READING      256 /* connections whose request is arriving */
#define AUTHD_FD_SPARE         32  /* descriptors besides connections */

struct app {
    const char *conf_path; /* never NULL */
    int conf_missing_ok;   /* the default path may be missing */
    authdb_conf *conf;
    authdb_log lg;
    storeref *st;
    server *srv;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: authgate-authd [-dftV] [-c config]\n"
               "  -c FILE  configuration file (default " AUTHDB_CONF_DEFAULT ")\n"
               "  -d       log debug messages\n"
               "  -f       stay in the foreground and log to standard error too\n"
               "  -t       check the configuration and exit\n"
               "  -V       print the version and exit\n");
}

/* A string key's value, "" when unset. */
static const char *str(const char *s)
{
    return s != NULL ? s : "";
}

static int str_changed(const char *a, const char *b)
{
    return strcmp(str(a), str(b)) != 0;
}

/* SIGHUP: re-read the configuration; reopen the store; apply the timeout;
 * say which changed keys need a restart. */
static void app_reload(void *arg)
{
    struct app *a = arg;
    authdb_conf *nc = NULL;
    char why[AUTHDB_WHY_MAX * 2];
    int rc;

    why[0] = '\0';
    rc = authdb_conf_load(a->conf_path, a->conf_missing_ok, &nc, why, sizeof(why));
    if (rc != AUTHDB_OK) {
        authdb_logf(&a->lg, LOG_ERR, "SIGHUP: %s: keeping the running configuration",
                    why[0] != '\0' ? why : authdb_strerror(rc));
        goto out;
    }
    struct {
        const char *key;
        int changed;
    } restart[] = {
        {"authd_socket", str_changed(a->conf->authd_socket, nc->authd_socket)},
        {"authd_user", str_changed(a->conf->authd_user, nc->authd_user)},
        {"authd_socket_group", str_changed(a->conf->authd_socket_group, nc->authd_socket_group)},
        {"authd_socket_mode", a->conf->authd_socket_mode != nc->authd_socket_mode},
        {"authd_threads", a->conf->authd_threads != nc->authd_threads},
        {"authd_pidfile", str_changed(a->conf->authd_pidfile, nc->authd_pidfile)},
    };
    for (size_t i = 0; i < sizeof(restart) / sizeof(restart[0]); i++)
        if (restart[i].changed)
            authdb_logf(&a->lg, LOG_WARNING, "SIGHUP: %s changed: takes effect at the next restart",
                        restart[i].key);
    why[0] = '\0';
    rc = storeref_reload(a->st, str(nc->store), why, sizeof(why));
    if (rc == AUTHDB_OK)
        authdb_logf(&a->lg, LOG_INFO, "SIGHUP: store %s reopened", str(nc->store));
    else
        authdb_logf(&a->lg, LOG_ERR, "SIGHUP: %s: answering temporary failures until it opens",
                    why);
    server_set_timeout(a->srv, nc->authd_timeout * 1000);
    authdb_logf(&a->lg, LOG_INFO, "SIGHUP: configuration %s reloaded (timeout %us)", a->conf_path,
                nc->authd_timeout);
    /* Keys needing a restart keep their running values in a->conf. */
    free(a->conf->store);
    a->conf->store = nc->store;
    nc->store = NULL;
    a->conf->authd_timeout = nc->authd_timeout;
out:
    authdb_conf_free(nc);
}

/* Make room for every connection the server may hold; shrink the bounds
 * when the hard limit is too low. */
static void fit_fd_limit(struct app *a, server_params *p)
{
    struct rlimit rl;
    rlim_t need = p->max_reading + p->queue + p->threads + AUTHD_FD_SPARE;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < need) {
        rlim_t room = rl.rlim_cur > AUTHD_FD_SPARE + p->threads + 2
                          ? rl.rlim_cur - AUTHD_FD_SPARE - p->threads
                          : 2;
        p->max_reading = room / 2;
        p->queue = room - p->max_reading;
        authdb_logf(&a->lg, LOG_WARNING,
                    "descriptor limit %lu: at most %zu connections reading and %zu queued",
                    (unsigned long)rl.rlim_cur, p->max_reading, p->queue);
    }
}

int main(int argc, char **argv)
{
    struct app a = {0};
    int foreground = 0, debug = 0, check_only = 0;
    int ready_fd = -1, sigfd = -1, lfd = -1, socket_made = 0;
    int status = 1;
    int opt;
    char why[AUTHDB_WHY_MAX * 2] = "";
    pidfile pf = {.fd = -1};
    listener_id lid = {0};
    privs_user user = {0};
    sdnotify sd = {.fd = -1};
    gid_t sock_gid = (gid_t)-1;
    uid_t sock_uid = (uid_t)-1;
    enum privs_plan plan;
    sigset_t sigs;

    while ((opt = getopt(argc, argv, "c:dfthV")) != -1) {
        switch (opt) {
        case 'c':
            a.conf_path = optarg;
            break;
        case 'd':
            debug = 1;
            break;
        case 'f':
            foreground = 1;
            break;
        case 't':
            check_only = 1;
            break;
        case 'V':
            printf("authgate-authd %s\n", AUTHGATE_VERSION);
            status = 0;
            goto out;
        case 'h':
            usage(stdout);
            status = 0;
            goto out;
        default:
            usage(stderr);
            status = 2;
            goto out;
        }
    }
    if (optind != argc) {
        usage(stderr);
        status = 2;
        goto out;
    }
    authdb_log_init(&a.lg, "authgate-authd", 1, !check_only, debug);
    if (a.conf_path == NULL) {
        a.conf_path = AUTHDB_CONF_DEFAULT;
        a.conf_missing_ok = 1;
    }
    if (authdb_conf_load(a.conf_path, a.conf_missing_ok, &a.conf, why, sizeof(why)) != AUTHDB_OK) {
        authdb_logf(&a.lg, LOG_ERR, "%s", why);
        goto out;
    }
    if (str(a.conf->authd_socket)[0] == '\0' || str(a.conf->store)[0] == '\0') {
        authdb_logf(&a.lg, LOG_ERR, "authd_socket and store must be set");
        goto out;
    }
    plan = privs_plan(geteuid(), a.conf->authd_user);
    if (plan == PRIVS_REFUSE) {
        authdb_logf(&a.lg, LOG_ERR,
                    "running as root needs authd_user: set it to an unprivileged user (or to "
                    "\"root\" to run as root on purpose)");
        goto out;
    }
    if (plan == PRIVS_DROP) {
        if (privs_user_lookup(a.conf->authd_user, &user, why, sizeof(why)) != 0) {
            authdb_logf(&a.lg, LOG_ERR, "authd_user: %s", why);
            goto out;
        }
        if (user.uid == 0) {
            authdb_logf(&a.lg, LOG_ERR, "authd_user %s has uid 0: write \"root\" to mean it",
                        a.conf->authd_user);
            goto out;
        }
        sock_uid = user.uid;
        sock_gid = user.gid;
    }
    if (str(a.conf->authd_socket_group)[0] != '\0' &&
        privs_group_lookup(a.conf->authd_socket_group, &sock_gid, why, sizeof(why)) != 0) {
        authdb_logf(&a.lg, LOG_ERR, "authd_socket_group: %s", why);
        goto out;
    }
    if (check_only) {
        printf("%s: configuration OK\n", a.conf_path);
        status = 0;
        goto out;
    }
    if (privs_no_core(why, sizeof(why)) != 0) {
        authdb_logf(&a.lg, LOG_ERR, "%s", why);
        goto out;
    }
    /* Before detaching: WATCHDOG_PID names the process the service
     * manager started.  Under Type=forking the daemon's pid then changes,
     * and the manager takes the keep-alives from the pid in PIDFile=. */
    why[0] = '\0';
    if (sdnotify_init(&sd, why, sizeof(why)) != 0)
        authdb_logf(&a.lg, LOG_WARNING, "service manager notification off: %s", why);
    if (!foreground && detach_start(&ready_fd, why, sizeof(why)) != 0) {
        authdb_logf(&a.lg, LOG_ERR, "cannot go into the background: %s", why);
        goto out;
    }
    /* Signals arrive through a descriptor; every thread inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &sigs, NULL) != 0 ||
        (sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        authdb_logf(&a.lg, LOG_ERR, "signalfd: %s", strerror(errno));
        goto out;
    }
    if (pidfile_open(&pf, a.conf->authd_pidfile, why, sizeof(why)) != 0) {
        authdb_logf(&a.lg, LOG_ERR, "%s", why);
        goto out;
    }
    /* With the pid file locked no other instance runs: a socket left by
     * an earlier run is ours to replace even when root may not probe it. */
    listener_opts lo = {.path = a.conf->authd_socket,
                        .mode = a.conf->authd_socket_mode,
                        .uid = sock_uid,
                        .gid = sock_gid,
                        .owned = pf.fd >= 0};
    if (listener_open(&lo, &lfd, &lid, why, sizeof(why)) != 0) {
        authdb_logf(&a.lg, LOG_ERR, "%s", why);
        goto out;
    }
    socket_made = 1;
    if (plan == PRIVS_DROP) {
        if (privs_drop(&user, why, sizeof(why)) != 0 || privs_no_core(why, sizeof(why)) != 0) {
            authdb_logf(&a.lg, LOG_ERR, "%s", why);
            goto out;
        }
    } else if (plan == PRIVS_KEEP_ROOT) {
        authdb_logf(&a.lg, LOG_WARNING, "authd_user is root: running as root");
    } else if (str(a.conf->authd_user)[0] != '\0' &&
               privs_user_lookup(a.conf->authd_user, &user, why, sizeof(why)) == 0 &&
               user.uid != geteuid()) {
        authdb_logf(&a.lg, LOG_INFO, "not started as root: running as uid %ld, not as %s",
                    (long)geteuid(), a.conf->authd_user);
    }
    why[0] = '\0';
    if (storeref_new(a.conf->store, &a.st, why, sizeof(why)) != 0) {
        authdb_logf(&a.lg, LOG_ERR, "out of memory");
        goto out;
    }
    if (why[0] != '\0')
        authdb_logf(&a.lg, LOG_ERR, "%s: answering temporary failures until it opens", why);

    server_params sp = {.threads = a.conf->authd_threads,
                        .timeout_ms = a.conf->authd_timeout * 1000,
                        .queue = (size_t)a.conf->authd_threads * AUTHD_QUEUE_PER_THREAD,
                        .max_reading = AUTHD_MAX_READING,
                        .notify = &sd};
    fit_fd_limit(&a, &sp);
    int rc = server_new(&sp, lfd, a.st, &a.lg, &a.srv);
    if (rc != 0) {
        authdb_logf(&a.lg, LOG_ERR, "cannot start %u workers: %s", sp.threads, strerror(rc));
        goto out;
    }
    lfd = -1; /* the server's now */
    authdb_logf(&a.lg, LOG_INFO,
                "ready: socket %s (mode %04o, uid %ld, gid %ld), store %s, %u workers, queue "
                "%zu, timeout %us, running as uid %ld",
                a.conf->authd_socket, a.conf->authd_socket_mode, (long)(int)sock_uid,
                (long)(int)sock_gid, a.conf->store, sp.threads, sp.queue, a.conf->authd_timeout,
                (long)geteuid());
    if (sdnotify_interval_ms(&sd) > 0)
        authdb_logf(&a.lg, LOG_INFO,
                    "watchdog: keep-alive every %lld ms while the workers make progress",
                    (long long)sdnotify_interval_ms(&sd));
    detach_ready(ready_fd);
    ready_fd = -1;
    sdnotify_send(&sd, "READY=1");
    if (!foreground)
        a.lg.to_stderr = 0;
    status = server_run(a.srv, sigfd, app_reload, &a) == 0 ? 0 : 1;
out:
    server_free(a.srv);
    if (lfd >= 0)
        close(lfd);
    if (socket_made && a.conf != NULL) {
        int urc = listener_unlink(a.conf->authd_socket, &lid);
        if (urc != 0 && urc != ESTALE)
            authdb_logf(&a.lg, LOG_INFO, "socket %s left behind: %s (replaced at the next start)",
                        a.conf->authd_socket, strerror(urc));
    }
    storeref_free(a.st);
    sdnotify_close(&sd);
    pidfile_close(&pf);
    if (sigfd >= 0)
        close(sigfd);
    authdb_conf_free(a.conf);
    return status;
}
