/*
 * query_main.c - authgate-query: the send-as policy for Postfix's
 * smtpd_sender_login_maps (socketmap) and Exim's ACLs (readsocket).
 *
 * usage: authgate-query [-c config] [-p socket] [-f] [-d] [-t] [-V]
 *
 * Reads authgate.conf(5), writes and locks the pid file, opens the UNIX
 * socket query_socket as root (owner query_user, group query_socket_group,
 * mode query_socket_mode; with the pid file locked, a socket left by an
 * earlier run is replaced even when root may not probe it), drops to
 * query_user and serves (query_server.h).
 * It opens only the policy environment of the store, lazily, like
 * authgate-milter (runtime.h).  SIGHUP re-reads the configuration (store
 * and actions; the socket, user, pid file, timeouts and connection limit
 * need a restart); SIGTERM and SIGINT stop accepting, let requests in
 * flight finish, and exit.  Only this file exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "authdb.h"
#include "daemon.h"
#include "query_listen.h"
#include "query_server.h"
#include "runtime.h"

/* How daemon.h's messages name this daemon and its keys. */
static const daemon_names query_names = {"authgate-query", "query_user", "query_socket_group",
                                         "query_pidfile"};

typedef struct options {
    const char *config;
    int config_given;
    const char *socket;
    int foreground;
    int debug;
    int test;
} options;

/* What the signal callback needs (main's, passed down). */
typedef struct sigctx {
    const options *o;
    const authdb_log *lg;
    runtime *rt;
    const authdb_conf *boot;
} sigctx;

/* The self-pipe the signal handler writes to; set before the handler is
 * installed, read only by the server's loop. */
static int sigpipe_w = -1;

static void on_signal(int sig)
{
    unsigned char c = (unsigned char)sig;
    int saved = errno;

    if (write(sigpipe_w, &c, 1) != 1) {
        /* the pipe is full: a signal of each kind is already queued */
    }
    errno = saved;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: authgate-query [-c config] [-p socket] [-f] [-d] [-t] [-V]\n"
               "  -c config  configuration file (default " AUTHDB_CONF_DEFAULT ")\n"
               "  -p socket  listen on this UNIX socket path instead of query_socket\n"
               "  -f         stay in the foreground and log to standard error\n"
               "  -d         debug logging\n"
               "  -t         check the configuration and the store, then exit\n"
               "  -V         print the version and exit\n");
}

static int parse_args(int argc, char **argv, options *o)
{
    int ch;

    memset(o, 0, sizeof(*o));
    o->config = AUTHDB_CONF_DEFAULT;
    while ((ch = getopt(argc, argv, "c:p:fdtVh")) != -1) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            o->config_given = 1;
            break;
        case 'p':
            o->socket = optarg;
            break;
        case 'f':
            o->foreground = 1;
            break;
        case 'd':
            o->debug = 1;
            break;
        case 't':
            o->test = 1;
            o->foreground = 1;
            break;
        case 'V':
            printf("authgate-query %s\n", AUTHGATE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

static void reload(const sigctx *sc)
{
    const authdb_conf *b = sc->boot;
    authdb_conf *c = NULL;
    char why[AUTHDB_WHY_MAX];

    if (authdb_conf_load(sc->o->config, !sc->o->config_given, &c, why, sizeof(why)) != AUTHDB_OK) {
        authdb_logf(sc->lg, LOG_ERR, "SIGHUP: %s; keeping the running configuration", why);
        goto out;
    }
    if (strcmp(c->query_socket, b->query_socket) != 0 ||
        strcmp(c->query_user, b->query_user) != 0 ||
        strcmp(c->query_socket_group, b->query_socket_group) != 0 ||
        strcmp(c->query_pidfile, b->query_pidfile) != 0 ||
        c->query_socket_mode != b->query_socket_mode || c->query_timeout != b->query_timeout ||
        c->query_idle_timeout != b->query_idle_timeout ||
        c->query_connections != b->query_connections)
        authdb_logf(sc->lg, LOG_WARNING,
                    "SIGHUP: query_socket, query_user, query_socket_group, query_pidfile, "
                    "query_socket_mode, query_timeout, query_idle_timeout and query_connections "
                    "change only on restart");
    if (runtime_reload(sc->rt, c, why, sizeof(why)) != 0) {
        authdb_logf(sc->lg, LOG_ERR, "SIGHUP: %s; keeping the running configuration", why);
        authdb_conf_free(c);
        goto out;
    }
    authdb_logf(sc->lg, LOG_INFO, "SIGHUP: configuration %s reloaded", sc->o->config);
out:
    return;
}

static int signal_cb(void *arg, int sig)
{
    const sigctx *sc = arg;

    if (sig == SIGHUP)
        reload(sc);
    else
        authdb_logf(sc->lg, LOG_INFO, "stopping: no new connections, finishing requests in flight");
    return sig != SIGHUP;
}

/* -t: can the store be opened the way the server opens it? */
static int check_only(const authdb_log *lg, runtime *rt)
{
    gen *g = runtime_acquire(rt);
    authdb *h = runtime_store(rt, g);
    int rc = h != NULL ? 0 : 1;

    if (h != NULL)
        authdb_logf(lg, LOG_INFO, "configuration and store %s are usable", g->conf->store);
    runtime_release(rt, g);
    return rc;
}

/* Signal handlers writing to a self-pipe; *rfd is its read end. */
static int signals_setup(int *rfd, char *why, size_t whylen)
{
    struct sigaction sa;
    int p[2], rc = -1;

    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        goto out;
    }
    sigpipe_w = p[1];
    *rfd = p[0];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    rc = 0;
out:
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    authdb_log lg;
    authdb_conf *conf = NULL;
    runtime *rt = NULL;
    gen *boot = NULL;
    query_listener l = {-1, "", 0, 0};
    query_server *srv = NULL;
    query_server_opts so;
    sigctx sc;
    char why[AUTHDB_WHY_MAX];
    const char *sock;
    int rc = 1, ready_fd = -1, status, pidfd = -1, sigfd = -1;
    unsigned left = 0;
    uid_t uid;
    gid_t gid, sgid;

    if ((status = parse_args(argc, argv, &o)) >= 0)
        return status;
    authdb_log_init(&lg, "authgate-query", o.foreground, !o.foreground, o.debug);
    if (authdb_conf_load(o.config, !o.config_given, &conf, why, sizeof(why)) != AUTHDB_OK) {
        authdb_logf(&lg, LOG_ERR, "%s", why);
        fprintf(stderr, "authgate-query: %s\n", why);
        return 1;
    }
    sock = o.socket != NULL ? o.socket : conf->query_socket;
    if (runtime_new(conf, &lg, &rt, why, sizeof(why)) != 0) {
        authdb_logf(&lg, LOG_ERR, "%s", why);
        fprintf(stderr, "authgate-query: %s\n", why);
        authdb_conf_free(conf);
        return 1;
    }
    /* conf now belongs to the runtime's first generation; main pins that
     * generation so the boot values stay readable across reloads. */
    boot = runtime_acquire(rt);
    if (o.test) {
        rc = check_only(&lg, rt);
        goto out;
    }
    if (daemon_ids(&query_names, conf->query_user, conf->query_socket_group, &uid, &gid, &sgid, why,
                   sizeof(why)) != 0)
        goto fail;
    if (!o.foreground) {
        int d = daemon_detach(&ready_fd, &status, why, sizeof(why));
        if (d < 0)
            goto fail;
        if (d > 0) {
            rc = status;
            if (status != 0)
                fprintf(stderr, "authgate-query: startup failed (see the mail log)\n");
            goto out;
        }
    }
    if (signals_setup(&sigfd, why, sizeof(why)) != 0 ||
        daemon_pidfile(&query_names, conf->query_pidfile, &pidfd, why, sizeof(why)) != 0 ||
        query_listen_open(sock, uid, sgid, conf->query_socket_mode, pidfd >= 0, &l, why,
                          sizeof(why)) != 0 ||
        daemon_drop(&query_names, conf->query_user, uid, gid, why, sizeof(why)) != 0)
        goto fail;
    if (getuid() == 0)
        authdb_logf(&lg, LOG_WARNING, "running as root: set query_user");
    so.timeout = conf->query_timeout;
    so.idle_timeout = conf->query_idle_timeout;
    so.max_conns = conf->query_connections;
    if (query_server_new(l.fd, rt, &lg, &so, &srv, why, sizeof(why)) != 0)
        goto fail;
    l.fd = -1; /* the server closes it */
    {
        gen *g = runtime_acquire(rt);
        runtime_store(rt, g); /* open now to log a problem early; retried later */
        runtime_release(rt, g);
    }
    authdb_logf(&lg, LOG_INFO, "authgate-query %s ready on %s", AUTHGATE_VERSION, sock);
    daemon_ready(ready_fd);
    ready_fd = -1;
    sc = (sigctx){&o, &lg, rt, conf};
    left = query_server_run(srv, sigfd, signal_cb, &sc);
    if ((status = query_listen_close(&l)) != 0)
        authdb_logf(&lg, LOG_INFO, "socket %s left behind: %s (replaced at the next start)", sock,
                    strerror(status));
    if (left > 0) {
        authdb_logf(&lg, LOG_WARNING, "%u connections still busy after %u s: exiting anyway", left,
                    conf->query_timeout + 1);
        rc = 1;
        goto out;
    }
    query_server_free(srv);
    srv = NULL;
    authdb_logf(&lg, LOG_INFO, "stopped");
    rc = 0;
    goto out;
fail:
    authdb_logf(&lg, LOG_ERR, "%s", why);
    if (o.foreground)
        fprintf(stderr, "authgate-query: %s\n", why);
    rc = 1;
out:
    if (ready_fd >= 0)
        close(ready_fd); /* the waiting parent sees failure */
    query_listen_close(&l);
    if (pidfd >= 0)
        daemon_pidfile_remove(conf->query_pidfile, pidfd);
    if (left > 0)
        return rc; /* connection threads still run: free nothing under them */
    query_server_free(srv);
    if (rt != NULL)
        runtime_release(rt, boot);
    runtime_free(rt);
    return rc;
}
