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
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "authdb.h"
#include "daemon.h"
#include "filter.h"
#include "runtime.h"
#include "service.h"

static int restart_changed(const authdb_conf *boot, const authdb_conf *c)
{
    return strcmp(c->milter_socket, boot->milter_socket) != 0 ||
           strcmp(c->milter_user, boot->milter_user) != 0 ||
           strcmp(c->milter_pidfile, boot->milter_pidfile) != 0 ||
           c->milter_socket_mode != boot->milter_socket_mode ||
           c->milter_timeout != boot->milter_timeout;
}

static const service_def milter_service = {
    {"authgate-milter", "milter_user", NULL, "pid file"},
    "listen here instead of milter_socket (unix:/path, inet:port@host)",
    1,
    1,
    restart_changed,
    "milter_socket, milter_user, milter_pidfile, milter_socket_mode and milter_timeout",
};

static void *milter_thread(void *arg)
{
    int *rc = arg;

    *rc = smfi_main() == MI_SUCCESS ? 0 : 1;
    return NULL;
}

/* Serve until SIGTERM/SIGINT or until libmilter gives up. */
static int serve(service *s, const char *sock)
{
    const authdb_log *lg = &s->lg;
    const authdb_conf *boot = s->conf;
    pthread_t th;
    sigset_t set, old;
    int mrc = 0, rc = 0, stop = 0;
    unsigned left;
    int urc;

    /* The milter thread (and every thread it starts) inherits these
     * blocked; main unblocks them once the thread exists. */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (service_signals(s) != 0) {
        authdb_logf(lg, LOG_ERR, "%s", s->why);
        return 1;
    }
    if (pthread_create(&th, NULL, milter_thread, &mrc) != 0) {
        authdb_logf(lg, LOG_ERR, "cannot start the milter thread");
        return 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    authdb_logf(lg, LOG_INFO, "authgate-milter %s ready on %s", AUTHGATE_VERSION, sock);
    while (!stop) {
        unsigned char sig;
        ssize_t n = read(s->sigfd, &sig, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1)
            break;
        stop = service_on_signal(s, sig);
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
    left = runtime_drain(s->rt, boot->milter_timeout);
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
    service s;
    const authdb_conf *conf;
    filter_ctx fc;
    struct smfiDesc desc = filter_desc();
    const char *sock;
    int rc, status;
    uid_t uid;
    gid_t gid;

    if ((rc = service_start(&s, &milter_service, argc, argv)) != SERVICE_RUN)
        goto out;
    conf = s.conf;
    sock = s.socket != NULL ? s.socket : conf->milter_socket;
    if (daemon_ids(&milter_service.names, conf->milter_user, NULL, &uid, &gid, NULL, s.why,
                   sizeof(s.why)) != 0)
        goto fail;
    if ((rc = service_detach(&s, &status)) != 0) {
        rc = rc > 0 ? status : service_fail(&s);
        goto out;
    }
    fc.rt = s.rt;
    fc.lg = &s.lg;
    filter_set(&fc);
    if (smfi_register(desc) != MI_SUCCESS || smfi_setconn((char *)sock) != MI_SUCCESS ||
        smfi_settimeout((int)conf->milter_timeout) != MI_SUCCESS) {
        snprintf(s.why, sizeof(s.why), "libmilter refused the registration or socket %s", sock);
        goto fail;
    }
    if (service_pidfile(&s, conf->milter_pidfile) != 0 ||
        daemon_socket_clear(sock, s.pidfd >= 0, s.why, sizeof(s.why)) != 0)
        goto fail;
    umask(0077); /* the socket starts private; its mode is set below */
    if (smfi_opensocket(0) != MI_SUCCESS) {
        snprintf(s.why, sizeof(s.why), "cannot open the milter socket %s", sock);
        goto fail;
    }
    if (daemon_socket_perms(sock, conf->milter_socket_mode, uid, gid, s.why, sizeof(s.why)) != 0)
        goto fail;
    umask(0022);
    if (service_drop(&s, conf->milter_user, uid, gid) != 0)
        goto fail;
    service_ready(&s, NULL); /* serve() says "ready on" once libmilter's thread runs */
    rc = serve(&s, sock);
    daemon_socket_remove(sock); /* serve() did, and said so if it could not */
    service_stop(&s);
    authdb_logf(&s.lg, LOG_INFO, "stopped");
    goto out;
fail:
    rc = service_fail(&s);
out:
    service_free(&s);
    return rc;
}
