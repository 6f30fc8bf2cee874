/*
 * main.c - authgate-milter: send-as enforcement for Postfix and Sendmail.
 *
 * usage: authgate-milter [-c config] [-p socket] [-f] [-d] [-t] [-V]
 *
 * Reads authgate.conf(5), writes and locks the pid file, opens the milter
 * socket as root (mode milter_socket_mode, owned by milter_user), drops to
 * milter_user, and serves libmilter on a thread of its own.  What sits at
 * a UNIX socket's path is examined first (daemon_socket_clear): a live
 * milter's socket is never taken over (a second start used to replace it
 * with a dead one); with the pid file locked, a socket left by an earlier
 * run is replaced even when root may not probe it.  The pid file comes
 * first so that a second instance stops there, before the socket.  The main
 * thread keeps SIGHUP, SIGTERM and SIGINT unblocked, so Linux delivers
 * those process signals to it rather than to libmilter's signal thread
 * (which would stop the milter on SIGHUP): SIGHUP re-reads the
 * configuration (store, actions, authserv_id; the socket, user, pid file
 * and timeout need a restart), SIGTERM and SIGINT remove a UNIX socket's
 * name (no new connections), let the messages in flight finish (up to
 * milter_timeout seconds; new messages on open connections are
 * tempfailed), then stop libmilter and exit.  Core dumps are off (it
 * holds message headers and the store's policy).  Only this file exits.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "authdb.h"
#include "daemon.h"
#include "filter.h"
#include "runtime.h"

/* How daemon.h's messages name this daemon and its keys. */
static const daemon_names milter_names = {"authgate-milter", "milter_user", NULL, "pid file"};

typedef struct options {
    const char *config;
    int config_given;
    const char *socket;
    int foreground;
    int debug;
    int test;
} options;

/* The self-pipe the signal handler writes to; set before the handler is
 * installed, read only by main's loop. */
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
    fprintf(f, "usage: authgate-milter [-c config] [-p socket] [-f] [-d] [-t] [-V]\n"
               "  -c config  configuration file (default " AUTHDB_CONF_DEFAULT ")\n"
               "  -p socket  listen here instead of milter_socket (unix:/path, inet:port@host)\n"
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
            printf("authgate-milter %s\n", AUTHGATE_VERSION);
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

/* -t: the configuration loaded; can the store be opened the way the milter
 * opens it? */
static int check_only(const authdb_log *lg, runtime *rt)
{
    gen *g = runtime_acquire(rt);
    authdb *h = runtime_store(rt, g);
    int rc = h != NULL ? 0 : 1;

    if (h != NULL)
        authdb_logf(lg, LOG_INFO, "configuration and store %s are usable (authserv-id %s)",
                    g->conf->store, g->authserv_id);
    runtime_release(rt, g);
    return rc;
}

static void *milter_thread(void *arg)
{
    int *rc = arg;

    *rc = smfi_main() == MI_SUCCESS ? 0 : 1;
    return NULL;
}

static void reload(const options *o, const authdb_log *lg, runtime *rt, const authdb_conf *boot)
{
    authdb_conf *c = NULL;
    char why[AUTHDB_WHY_MAX];

    if (authdb_conf_load(o->config, !o->config_given, &c, why, sizeof(why)) != AUTHDB_OK) {
        authdb_logf(lg, LOG_ERR, "SIGHUP: %s; keeping the running configuration", why);
        return;
    }
    if (strcmp(c->milter_socket, boot->milter_socket) != 0 ||
        strcmp(c->milter_user, boot->milter_user) != 0 ||
        strcmp(c->milter_pidfile, boot->milter_pidfile) != 0 ||
        c->milter_socket_mode != boot->milter_socket_mode ||
        c->milter_timeout != boot->milter_timeout)
        authdb_logf(lg, LOG_WARNING,
                    "SIGHUP: milter_socket, milter_user, milter_pidfile, "
                    "milter_socket_mode and milter_timeout change only on restart");
    if (runtime_reload(rt, c, why, sizeof(why)) != 0) {
        authdb_logf(lg, LOG_ERR, "SIGHUP: %s; keeping the running configuration", why);
        authdb_conf_free(c);
        return;
    }
    authdb_logf(lg, LOG_INFO, "SIGHUP: configuration %s reloaded", o->config);
}

/* Serve until SIGTERM/SIGINT or until libmilter gives up. */
static int serve(const options *o, const char *sock, const authdb_log *lg, runtime *rt,
                 const authdb_conf *boot)
{
    pthread_t th;
    sigset_t set, old;
    struct sigaction sa;
    int pfd[2], mrc = 0, rc = 0, stop = 0;
    unsigned left;
    int urc;

    if (pipe(pfd) != 0) {
        authdb_logf(lg, LOG_ERR, "pipe: %s", strerror(errno));
        return 1;
    }
    sigpipe_w = pfd[1];
    /* The milter thread (and every thread it starts) inherits these
     * blocked; main unblocks them once the thread exists. */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (pthread_create(&th, NULL, milter_thread, &mrc) != 0) {
        authdb_logf(lg, LOG_ERR, "cannot start the milter thread");
        return 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    authdb_logf(lg, LOG_INFO, "authgate-milter %s ready on %s", AUTHGATE_VERSION, sock);
    while (!stop) {
        unsigned char sig;
        ssize_t n = read(pfd[0], &sig, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1)
            break;
        if (sig == SIGHUP)
            reload(o, lg, rt, boot);
        else
            stop = 1;
    }
    /* Drain before smfi_stop: libmilter drops its sessions once stopped.
     * Removing a UNIX socket's name refuses new connections meanwhile; new
     * messages on open connections are tempfailed. */
    authdb_logf(lg, LOG_INFO, "stopping: no new connections, draining messages in flight");
    if ((urc = daemon_socket_remove(sock)) != 0)
        authdb_logf(lg, LOG_INFO,
                    "cannot remove the socket %s: %s (messages arriving while it drains are "
                    "tempfailed; the next start replaces it)",
                    sock, strerror(urc));
    left = runtime_drain(rt, boot->milter_timeout);
    smfi_stop();
    pthread_join(th, NULL);
    if (left > 0) {
        authdb_logf(lg, LOG_WARNING, "%u messages still in flight after %u s", left,
                    boot->milter_timeout);
        rc = 1;
    }
    if (mrc != 0) {
        authdb_logf(lg, LOG_ERR, "libmilter stopped with an error");
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    authdb_log lg;
    authdb_conf *conf = NULL;
    runtime *rt = NULL;
    gen *boot = NULL;
    filter_ctx fc;
    struct smfiDesc desc = filter_desc();
    char why[AUTHDB_WHY_MAX];
    const char *sock;
    int rc = 1, ready_fd = -1, status, pidfd = -1;
    uid_t uid;
    gid_t gid;

    if ((status = parse_args(argc, argv, &o)) >= 0)
        return status;
    authdb_log_init(&lg, "authgate-milter", o.foreground, !o.foreground, o.debug);
    if (authdb_conf_load(o.config, !o.config_given, &conf, why, sizeof(why)) != AUTHDB_OK) {
        authdb_logf(&lg, LOG_ERR, "%s", why);
        fprintf(stderr, "authgate-milter: %s\n", why);
        return 1;
    }
    sock = o.socket != NULL ? o.socket : conf->milter_socket;
    if (runtime_new(conf, &lg, &rt, why, sizeof(why)) != 0) {
        authdb_logf(&lg, LOG_ERR, "%s", why);
        fprintf(stderr, "authgate-milter: %s\n", why);
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
    if (daemon_ids(&milter_names, conf->milter_user, NULL, &uid, &gid, NULL, why, sizeof(why)) !=
            0 ||
        daemon_no_core(why, sizeof(why)) != 0)
        goto fail;
    if (!o.foreground) {
        int d = daemon_detach(&ready_fd, &status, why, sizeof(why));
        if (d < 0)
            goto fail;
        if (d > 0) {
            rc = status;
            if (status != 0)
                fprintf(stderr, "authgate-milter: startup failed (see the mail log)\n");
            goto out;
        }
    }
    fc.rt = rt;
    fc.lg = &lg;
    filter_set(&fc);
    if (smfi_register(desc) != MI_SUCCESS || smfi_setconn((char *)sock) != MI_SUCCESS ||
        smfi_settimeout((int)conf->milter_timeout) != MI_SUCCESS) {
        snprintf(why, sizeof(why), "libmilter refused the registration or socket %s", sock);
        goto fail;
    }
    if (daemon_pidfile(&milter_names, conf->milter_pidfile, &pidfd, why, sizeof(why)) != 0 ||
        daemon_socket_clear(sock, pidfd >= 0, why, sizeof(why)) != 0)
        goto fail;
    umask(0077); /* the socket starts private; its mode is set below */
    if (smfi_opensocket(0) != MI_SUCCESS) {
        snprintf(why, sizeof(why), "cannot open the milter socket %s", sock);
        goto fail;
    }
    if (daemon_socket_perms(sock, conf->milter_socket_mode, uid, gid, why, sizeof(why)) != 0)
        goto fail;
    umask(0022);
    if (daemon_drop(&milter_names, conf->milter_user, uid, gid, why, sizeof(why)) != 0 ||
        daemon_no_core(why, sizeof(why)) != 0)
        goto fail;
    if (getuid() == 0)
        authdb_logf(&lg, LOG_WARNING, "running as root: set milter_user");
    {
        gen *g = runtime_acquire(rt);
        runtime_store(rt, g); /* open now to log a problem early; retried later */
        runtime_release(rt, g);
    }
    daemon_ready(ready_fd);
    ready_fd = -1;
    rc = serve(&o, sock, &lg, rt, conf);
    daemon_socket_remove(sock); /* serve() did, and said so if it could not */
    daemon_pidfile_remove(conf->milter_pidfile, pidfd);
    pidfd = -1;
    authdb_logf(&lg, LOG_INFO, "stopped");
    goto out;
fail:
    authdb_logf(&lg, LOG_ERR, "%s", why);
    if (o.foreground)
        fprintf(stderr, "authgate-milter: %s\n", why);
    rc = 1;
out:
    if (ready_fd >= 0)
        close(ready_fd); /* the waiting parent sees failure */
    if (pidfd >= 0)
        daemon_pidfile_remove(conf->milter_pidfile, pidfd);
    if (rt != NULL)
        runtime_release(rt, boot);
    runtime_free(rt);
    return rc;
}
