/*
 * server.c - accept loop, request reading, worker dispatch (server.h).
 *
 * The I/O thread polls the signalfd, the listening socket and every
 * connection whose request is incomplete; it never blocks on a client and
 * never hashes.  A complete request goes to the pool; a worker verifies
 * it (storeref + verify), answers, logs one line and frees it.  The poll
 * timeout is the nearest deadline, so slow clients are cut off on time.
 *
 * Watchdog (server_params.notify): the poll timeout is also bounded by
 * the next keep-alive; server_keepalive sends it only while the pool makes
 * progress (pool_stalled_ms below the request timeout).
 *
 * Diagnostics: one line per decision (conn_log); lines for refusals
 * (queue full, too many connections, timeouts), for signals, for a stall
 * that withholds the watchdog keep-alive, and a summary at shutdown.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "conn.h"
#include "pool.h"
#include "server.h"
#include "verify.h"

#define ACCEPT_BATCH    64
#define EMFILE_PAUSE_MS 100
#define STALL_MIN_MS    1000 /* never call a pool stuck sooner than this */

struct server {
    server_params p;
    int lfd; /* -1 once stopping */
    storeref *st;
    const authdb_log *lg;
    pool *pool;
    conn **reading;
    size_t nreading;
    struct pollfd *pfd;
    int stopping;
    int64_t accept_paused_until;
    int64_t next_keepalive; /* 0: no watchdog */
    int stall_logged;
    atomic_ulong n_ok, n_no, n_temp, n_none;
};

/* Log, answer, count, free: the end of every accepted connection that
 * gets an answer.  The decision is logged before the client can act on
 * it. */
static void server_finish(server *s, conn *c, enum proto_answer a, const char *reason)
{
    int prio = a == PROTO_ANSWER_TEMP ? LOG_WARNING : LOG_INFO;
    int rc;

    conn_log(c, s->lg, prio, a, reason);
    if ((rc = conn_reply(c, a, VERIFY_NO_TEXT)) != 0)
        authdb_logf(s->lg, LOG_INFO, "reply to peer pid %ld not delivered: %s", (long)c->peer_pid,
                    strerror(rc));
    if (a == PROTO_ANSWER_OK)
        atomic_fetch_add(&s->n_ok, 1);
    else if (a == PROTO_ANSWER_NO)
        atomic_fetch_add(&s->n_no, 1);
    else
        atomic_fetch_add(&s->n_temp, 1);
    conn_free(c);
}

/* The end of a connection that gets no answer (client gone). */
static void server_drop(server *s, conn *c, const char *reason)
{
    conn_log(c, s->lg, LOG_INFO, 0, reason);
    atomic_fetch_add(&s->n_none, 1);
    conn_free(c);
}

static void server_work(void *item, void *arg)
{
    server *s = arg;
    conn *c = item;
    char why[AUTHDB_WHY_MAX] = "";
    verify_result v;

    if (conn_now_ms() >= c->deadline_ms) {
        v.answer = PROTO_ANSWER_TEMP;
        v.reason = "timed out waiting for a worker: overloaded (see authd_threads)";
    } else {
        authdb *h = storeref_acquire(s->st, why, sizeof(why));
        verify_request(h, why, &c->req, &v);
        storeref_release(s->st);
    }
    server_finish(s, c, v.answer, v.reason);
}

int server_new(const server_params *p, int listen_fd, storeref *st, const authdb_log *lg,
               server **out)
{
    server *s = NULL;
    int rc = ENOMEM;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        goto out;
    s->p = *p;
    s->lfd = -1; /* owned only once everything else succeeded */
    s->st = st;
    s->lg = lg;
    if ((s->reading = calloc(p->max_reading, sizeof(*s->reading))) == NULL ||
        (s->pfd = calloc(p->max_reading + 2, sizeof(*s->pfd))) == NULL)
        goto out;
    if ((rc = pool_new(p->threads, p->queue, server_work, s, &s->pool)) != 0)
        goto out;
    s->lfd = listen_fd;
    *out = s;
    s = NULL;
out:
    server_free(s);
    return rc;
}

/* The watchdog's keep-alive, if the workers are not stuck. */
static void server_keepalive(server *s, int64_t now)
{
    int64_t limit = s->p.timeout_ms > STALL_MIN_MS ? s->p.timeout_ms : STALL_MIN_MS;
    int64_t stalled = pool_stalled_ms(s->pool, now);
    int rc;

    if (stalled < limit) {
        if (s->stall_logged)
            authdb_logf(s->lg, LOG_NOTICE, "workers progress again: watchdog keep-alive resumed");
        s->stall_logged = 0;
        if ((rc = sdnotify_send(s->p.notify, "WATCHDOG=1")) != 0)
            authdb_logf(s->lg, LOG_WARNING, "watchdog keep-alive not sent: %s", strerror(rc));
    } else if (!s->stall_logged) {
        authdb_logf(s->lg, LOG_ERR,
                    "no request finished for %lld ms while %zu waited for %u stuck workers: "
                    "withholding the watchdog keep-alive so that the service manager restarts "
                    "authgate-authd",
                    (long long)stalled, pool_waiting(s->pool), s->p.threads);
        s->stall_logged = 1;
    }
    s->next_keepalive = now + sdnotify_interval_ms(s->p.notify);
}

void server_set_timeout(server *s, unsigned timeout_ms)
{
    s->p.timeout_ms = timeout_ms;
}

/* Read what a connection has sent; hand it on when complete. */
static void server_step(server *s, size_t i)
{
    char why[160];
    conn *c = s->reading[i];
    int st = conn_read(c);
    int rc;

    if (st == PROTO_MORE)
        goto out;
    s->reading[i] = NULL; /* leaves the reading set whatever happens next */
    switch (st) {
    case PROTO_DONE:
        rc = pool_submit(s->pool, c);
        if (rc == EAGAIN) {
            snprintf(why, sizeof(why),
                     "queue full: %zu requests waiting for %u workers (see authd_threads)",
                     pool_capacity(s->pool), s->p.threads);
            server_finish(s, c, PROTO_ANSWER_TEMP, why);
        } else if (rc != 0) {
            server_finish(s, c, PROTO_ANSWER_TEMP, "shutting down");
        }
        break;
    case PROTO_ETOOLONG:
    case PROTO_ENUL:
        snprintf(why, sizeof(why), "malformed request: %s: %s",
                 proto_field_name(proto_req_field(&c->req)), proto_strerror(st));
        server_finish(s, c, PROTO_ANSWER_NO, why);
        break;
    case CONN_EOF:
        server_drop(s, c, "client closed the connection before a complete request");
        break;
    default:
        snprintf(why, sizeof(why), "read error: %s", strerror(c->err));
        server_drop(s, c, why);
        break;
    }
out:
    return;
}

static void server_expire(server *s, int64_t now)
{
    char why[160];

    for (size_t i = 0; i < s->nreading; i++) {
        conn *c = s->reading[i];
        if (c == NULL || now < c->deadline_ms)
            continue;
        snprintf(why, sizeof(why), "timed out after %lld ms reading the request (in field %s)",
                 (long long)(now - c->start_ms), proto_field_name(proto_req_field(&c->req)));
        s->reading[i] = NULL;
        server_finish(s, c, PROTO_ANSWER_TEMP, why);
    }
}

static void server_compact(server *s)
{
    size_t j = 0;

    for (size_t i = 0; i < s->nreading; i++)
        if (s->reading[i] != NULL)
            s->reading[j++] = s->reading[i];
    s->nreading = j;
}

static void server_accept(server *s, int64_t now)
{
    char why[160];

    for (int k = 0; k < ACCEPT_BATCH && s->lfd >= 0; k++) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                authdb_logf(s->lg, LOG_ERR,
                            "accept: %s: pausing accepts for %d ms (%zu requests being read)",
                            strerror(errno), EMFILE_PAUSE_MS, s->nreading);
                s->accept_paused_until = now + EMFILE_PAUSE_MS;
            }
            break; /* EAGAIN, or ECONNABORTED and the like: next round */
        }
        conn *c = conn_new(fd, now, s->p.timeout_ms);
        if (c == NULL) {
            authdb_logf(s->lg, LOG_ERR, "out of memory for a connection: closed it");
            continue;
        }
        if (s->nreading >= s->p.max_reading) {
            snprintf(why, sizeof(why), "too many connections sending requests (%zu): refused",
                     s->p.max_reading);
            server_finish(s, c, PROTO_ANSWER_TEMP, why);
            continue;
        }
        s->reading[s->nreading++] = c;
    }
}

static void server_signals(server *s, int sigfd, server_reload_fn reload, void *arg)
{
    struct signalfd_siginfo si;

    while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            if (s->stopping)
                break;
            authdb_logf(s->lg, LOG_INFO,
                        "SIG%s: stopping: no new connections; finishing %zu requests being read "
                        "and %zu queued",
                        sigabbrev_np((int)si.ssi_signo), s->nreading, pool_waiting(s->pool));
            sdnotify_send(s->p.notify, "STOPPING=1");
            s->stopping = 1;
            close(s->lfd);
            s->lfd = -1;
            break;
        case SIGHUP:
            if (!s->stopping && reload != NULL)
                reload(arg);
            break;
        default:
            break;
        }
    }
}

int server_run(server *s, int sigfd, server_reload_fn reload, void *arg)
{
    int rc = 0;

    if (sdnotify_interval_ms(s->p.notify) > 0)
        s->next_keepalive = conn_now_ms();
    while (!(s->stopping && s->nreading == 0)) {
        int64_t now = conn_now_ms();
        int timeout = -1;

        if (s->next_keepalive > 0 && now >= s->next_keepalive)
            server_keepalive(s, now);
        if (s->next_keepalive > 0)
            timeout = (int)(s->next_keepalive - now);

        s->pfd[0] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        s->pfd[1] =
            (struct pollfd){.fd = now >= s->accept_paused_until ? s->lfd : -1, .events = POLLIN};
        if (s->lfd >= 0 && now < s->accept_paused_until &&
            (timeout < 0 || s->accept_paused_until - now < timeout))
            timeout = (int)(s->accept_paused_until - now);
        for (size_t i = 0; i < s->nreading; i++) {
            int64_t left = s->reading[i]->deadline_ms - now;
            s->pfd[2 + i] = (struct pollfd){.fd = s->reading[i]->fd, .events = POLLIN};
            if (left < 0)
                left = 0;
            if (timeout < 0 || left < timeout)
                timeout = (int)left;
        }
        if (poll(s->pfd, 2 + s->nreading, timeout) < 0) {
            if (errno == EINTR)
                continue;
            rc = errno;
            authdb_logf(s->lg, LOG_ERR, "poll: %s: stopping", strerror(rc));
            break;
        }
        now = conn_now_ms();
        size_t n = s->nreading;
        for (size_t i = 0; i < n; i++)
            if (s->pfd[2 + i].revents != 0)
                server_step(s, i);
        server_expire(s, now);
        server_compact(s);
        if (s->pfd[0].revents != 0)
            server_signals(s, sigfd, reload, arg);
        if (s->lfd >= 0 && s->pfd[1].fd >= 0 && s->pfd[1].revents != 0)
            server_accept(s, now);
    }
    /* Whatever is still being read (poll failure only) gets TEMP. */
    for (size_t i = 0; i < s->nreading; i++)
        server_finish(s, s->reading[i], PROTO_ANSWER_TEMP, "daemon stopping");
    s->nreading = 0;
    pool_drain_free(s->pool); /* answers every queued request */
    s->pool = NULL;
    authdb_logf(s->lg, LOG_INFO,
                "stopped: answered OK %lu, NO %lu, TEMP %lu; %lu closed unanswered",
                atomic_load(&s->n_ok), atomic_load(&s->n_no), atomic_load(&s->n_temp),
                atomic_load(&s->n_none));
    return rc;
}

void server_free(server *s)
{
    if (s == NULL)
        return;
    if (s->lfd >= 0)
        close(s->lfd);
    pool_drain_free(s->pool);
    for (size_t i = 0; i < s->nreading; i++)
        conn_free(s->reading[i]);
    free(s->reading);
    free(s->pfd);
    free(s);
}
