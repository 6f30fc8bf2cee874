/*
 * query_server.c - connections and threads (see query_server.h).
 *
 * The accept loop polls the listening socket (only while fewer than
 * max_conns connections run), the signal pipe and a wake pipe that
 * finishing connections write to.  Connection threads are detached and
 * block every signal; they poll their socket and a stop pipe that becomes
 * readable, for all of them at once, when the server drains.
 */
#include "query_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "query_session.h"

/* Stack of a connection thread: the deepest path (a header decision) needs
 * a few KiB. */
#define CONN_STACK (512 * 1024)

struct query_server {
    int lfd;
    runtime *rt;
    const authdb_log *lg;
    query_server_opts o;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    unsigned active;
    int wake[2]; /* a connection ended */
    int stop[2]; /* readable once draining */
};

typedef struct conn {
    query_server *srv;
    int fd;
} conn;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(long long deadline)
{
    long long left = deadline - now_ms();

    return left <= 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
}

/* Write all of buf before deadline.  0 or -1. */
static int write_all(int fd, const char *buf, size_t len, long long deadline)
{
    struct pollfd p = {fd, POLLOUT, 0};
    ssize_t n;
    int rc = 0;

    while (len > 0 && rc == 0) {
        n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            rc = -1;
        } else if (errno != EINTR) {
            n = poll(&p, 1, ms_left(deadline));
            if (n == 0 || (n < 0 && errno != EINTR))
                rc = -1;
        }
    }
    return rc;
}

/* Answer what the session holds: the current generation is pinned for
 * exactly one step. */
static enum query_step step(query_server *srv, query_session *s, sbuf *out)
{
    gen *g = runtime_acquire(srv->rt);
    query_env env = {runtime_store(srv->rt, g), g->conf, srv->lg};
    enum query_step st = query_session_step(s, &env, out);

    runtime_release(srv->rt, g);
    return st;
}

static void serve(query_server *srv, int fd)
{
    query_session s;
    sbuf out;
    struct pollfd p[2];
    long long req_deadline = 0, deadline;
    enum query_step st;
    char *at;
    size_t room;
    ssize_t n;
    int r;

    query_session_init(&s);
    sbuf_init(&out, QUERY_SESSION_OUT_MAX);
    for (;;) {
        st = query_session_partial(&s) || s.eof || s.oom ? step(srv, &s, &out) : QUERY_STEP_MORE;
        if (out.len > 0 && write_all(fd, out.p, out.len, now_ms() + 1000LL * srv->o.timeout) != 0) {
            authdb_logf(srv->lg, LOG_WARNING, "client did not take its answer within %u s",
                        srv->o.timeout);
            break;
        }
        sbuf_reset(&out);
        if (st == QUERY_STEP_CLOSE)
            break;
        if (st == QUERY_STEP_REPLY)
            continue;
        if (!query_session_partial(&s))
            req_deadline = 0;
        else if (req_deadline == 0)
            req_deadline = now_ms() + 1000LL * srv->o.timeout;
        deadline = req_deadline != 0 ? req_deadline : now_ms() + 1000LL * srv->o.idle_timeout;
        p[0] = (struct pollfd){fd, POLLIN, 0};
        p[1] = (struct pollfd){srv->stop[0], POLLIN, 0};
        r = poll(p, 2, ms_left(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            if (req_deadline != 0)
                authdb_logf(srv->lg, LOG_WARNING,
                            "client sent no whole request within %u s: disconnected",
                            srv->o.timeout);
            break; /* idle connections just close */
        }
        if (r < 0 || ((p[1].revents & POLLIN) && !query_session_partial(&s)))
            break; /* draining: idle connections close at once */
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        room = query_session_room(&s, &at);
        if (room == 0)
            continue; /* at its bound: the next step answers or closes */
        n = recv(fd, at, room, MSG_DONTWAIT);
        if (n > 0)
            query_session_filled(&s, (size_t)n);
        else if (n == 0)
            query_session_eof(&s);
        else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
    }
    sbuf_free(&out);
    query_session_free(&s);
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    query_server *srv = c->srv;
    char one = 1;

    serve(srv, c->fd);
    close(c->fd);
    free(c);
    /* Once active reaches 0 the server may be freed: touch nothing of it
     * after the unlock. */
    pthread_mutex_lock(&srv->mu);
    if (write(srv->wake[1], &one, 1) != 1) {
        /* the pipe is full: the accept loop is awake anyway */
    }
    srv->active--;
    pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

int query_server_new(int lfd, runtime *rt, const authdb_log *lg, const query_server_opts *o,
                     query_server **out, char *why, size_t whylen)
{
    query_server *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    s->wake[0] = s->wake[1] = s->stop[0] = s->stop[1] = -1;
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
        pipe2(s->stop, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        s->lfd = -1;
        query_server_free(s);
        return -1;
    }
    s->lfd = lfd;
    s->rt = rt;
    s->lg = lg;
    s->o = *o;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    *out = s;
    return 0;
}

void query_server_free(query_server *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        if (s->wake[i] >= 0)
            close(s->wake[i]);
        if (s->stop[i] >= 0)
            close(s->stop[i]);
    }
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->rt != NULL) { /* initialized past the pipes */
        pthread_cond_destroy(&s->idle);
        pthread_mutex_destroy(&s->mu);
    }
    free(s);
}

/* Start a thread for a new connection; on failure the client is dropped. */
static void start_conn(query_server *s, int fd)
{
    pthread_attr_t attr;
    pthread_t th;
    sigset_t all, old;
    conn *c = malloc(sizeof(*c));
    int rc = -1;

    if (c == NULL)
        goto out;
    c->srv = s;
    c->fd = fd;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, CONN_STACK);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* the thread inherits: all blocked */
    pthread_mutex_lock(&s->mu);
    s->active++;
    pthread_mutex_unlock(&s->mu);
    rc = pthread_create(&th, &attr, conn_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&s->mu);
        s->active--;
        pthread_mutex_unlock(&s->mu);
    }
out:
    if (rc != 0) {
        authdb_logf(s->lg, LOG_ERR, "cannot start a connection thread: %s",
                    c == NULL ? "out of memory" : strerror(rc));
        free(c);
        close(fd);
    }
}

static unsigned active(query_server *s)
{
    unsigned n;

    pthread_mutex_lock(&s->mu);
    n = s->active;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void drain_pipe(int fd)
{
    char buf[64];

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

/* Wait up to seconds for every connection to end; returns those left. */
static unsigned drain(query_server *s, unsigned seconds)
{
    struct timespec until;
    unsigned left;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&s->mu);
    while (s->active > 0 && pthread_cond_timedwait(&s->idle, &s->mu, &until) != ETIMEDOUT)
        ;
    left = s->active;
    pthread_mutex_unlock(&s->mu);
    return left;
}

unsigned query_server_run(query_server *s, int sigfd, query_server_signal_fn on_signal, void *arg)
{
    struct pollfd p[3];
    unsigned char sig;
    char one = 1;
    int stop = 0, full_logged = 0, fd, n;

    while (!stop) {
        int full = active(s) >= s->o.max_conns;
        if (full && !full_logged)
            authdb_logf(s->lg, LOG_WARNING,
                        "%u connections open (query_connections): new clients wait",
                        s->o.max_conns);
        full_logged = full;
        p[0] = (struct pollfd){sigfd, POLLIN, 0};
        p[1] = (struct pollfd){s->wake[0], POLLIN, 0};
        p[2] = (struct pollfd){full ? -1 : s->lfd, POLLIN, 0};
        n = poll(p, 3, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            authdb_logf(s->lg, LOG_ERR, "poll: %s", strerror(errno));
            break;
        }
        if (p[0].revents & POLLIN) {
            ssize_t r = read(sigfd, &sig, 1);
            if (r == 1 && on_signal(arg, sig) != 0)
                stop = 1;
        }
        if (p[1].revents & POLLIN)
            drain_pipe(s->wake[0]);
        if (!stop && (p[2].revents & POLLIN)) {
            fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                start_conn(s, fd);
            } else if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
                authdb_logf(s->lg, LOG_ERR, "accept: %s", strerror(errno));
                poll(NULL, 0, 100); /* out of descriptors: do not spin */
            }
        }
    }
    close(s->lfd);
    s->lfd = -1;
    if (write(s->stop[1], &one, 1) != 1)
        authdb_logf(s->lg, LOG_ERR, "cannot tell the connections to stop");
    return drain(s, s->o.timeout + 1);
}
