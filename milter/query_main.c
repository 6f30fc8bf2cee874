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
#include <signal.h>
#include <string.h>
#include <syslog.h>

#include "authdb.h"
#include "daemon.h"
#include "query_listen.h"
#include "query_server.h"
#include "runtime.h"
#include "service.h"

static int restart_changed(const authdb_conf *b, const authdb_conf *c)
{
    return strcmp(c->query_socket, b->query_socket) != 0 ||
           strcmp(c->query_user, b->query_user) != 0 ||
           strcmp(c->query_socket_group, b->query_socket_group) != 0 ||
           strcmp(c->query_pidfile, b->query_pidfile) != 0 ||
           c->query_socket_mode != b->query_socket_mode || c->query_timeout != b->query_timeout ||
           c->query_idle_timeout != b->query_idle_timeout ||
           c->query_connections != b->query_connections;
}

static const service_def query_service = {
    {"authgate-query", "query_user", "query_socket_group", "query_pidfile"},
    "listen on this UNIX socket path instead of query_socket",
    0,
    1,
    restart_changed,
    "query_socket, query_user, query_socket_group, query_pidfile, query_socket_mode, "
    "query_timeout, query_idle_timeout and query_connections",
};

/* query_server_run's signal callback: arg is main's service. */
static int signal_cb(void *arg, int sig)
{
    service *s = arg;
    int stop = service_on_signal(s, sig);

    if (stop)
        authdb_logf(&s->lg, LOG_INFO, "stopping: no new connections, finishing requests in flight");
    return stop;
}

int main(int argc, char **argv)
{
    service s;
    const authdb_conf *conf;
    query_listener l = {-1, "", 0, 0};
    query_server *srv = NULL;
    query_server_opts so;
    const char *sock;
    int rc, status;
    unsigned left = 0;
    uid_t uid;
    gid_t gid, sgid;

    if ((rc = service_start(&s, &query_service, argc, argv)) != SERVICE_RUN)
        goto out;
    conf = s.conf;
    sock = s.socket != NULL ? s.socket : conf->query_socket;
    if (daemon_ids(&query_service.names, conf->query_user, conf->query_socket_group, &uid, &gid,
                   &sgid, s.why, sizeof(s.why)) != 0)
        goto fail;
    if ((rc = service_detach(&s, &status)) != 0) {
        rc = rc > 0 ? status : service_fail(&s);
        goto out;
    }
    if (service_signals(&s) != 0 || service_pidfile(&s, conf->query_pidfile) != 0 ||
        query_listen_open(sock, uid, sgid, conf->query_socket_mode, s.pidfd >= 0, &l, s.why,
                          sizeof(s.why)) != 0 ||
        service_drop(&s, conf->query_user, uid, gid) != 0)
        goto fail;
    so.timeout = conf->query_timeout;
    so.idle_timeout = conf->query_idle_timeout;
    so.max_conns = conf->query_connections;
    if (query_server_new(l.fd, s.rt, &s.lg, &so, &srv, s.why, sizeof(s.why)) != 0)
        goto fail;
    l.fd = -1; /* the server closes it */
    service_ready(&s, sock);
    left = query_server_run(srv, s.sigfd, signal_cb, &s);
    if ((status = query_listen_close(&l)) != 0)
        authdb_logf(&s.lg, LOG_INFO, "socket %s left behind: %s (replaced at the next start)", sock,
                    strerror(status));
    if (left > 0) {
        authdb_logf(&s.lg, LOG_WARNING, "%u connections still busy after %u s: exiting anyway",
                    left, conf->query_timeout + 1);
        rc = 1;
        goto out;
    }
    query_server_free(srv);
    srv = NULL;
    authdb_logf(&s.lg, LOG_INFO, "stopped");
    rc = 0;
    goto out;
fail:
    rc = service_fail(&s);
out:
    query_listen_close(&l);
    if (left > 0) {
        service_stop(&s);
        return rc; /* connection threads still run: free nothing under them */
    }
    query_server_free(srv);
    service_free(&s);
    return rc;
}
