/*
 * conn.c - one client connection (conn.h).
 *
 * Reads go straight into the request's field buffers (proto_req_space),
 * so the password lives in one place, wiped by conn_free().  The peer's
 * pid and uid come from SO_PEERCRED for the log.
 *
 * Diagnostics: conn_log() writes the one line per decision through
 * authdb_logf, untrusted text through authdb_log_escape.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

int64_t conn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

conn *conn_new(int fd, int64_t now_ms, unsigned timeout_ms)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    conn *c = malloc(sizeof(*c));

    if (c == NULL) {
        close(fd);
        goto out;
    }
    c->fd = fd;
    c->err = 0;
    c->start_ms = now_ms;
    c->deadline_ms = now_ms + timeout_ms;
    c->peer_pid = -1;
    c->peer_uid = (uid_t)-1;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
        c->peer_pid = cred.pid;
        c->peer_uid = cred.uid;
    }
    proto_req_init(&c->req);
out:
    return c;
}

int conn_read(conn *c)
{
    int st;

    for (;;) {
        void *buf;
        size_t room;
        ssize_t n;

        st = proto_req_space(&c->req, &buf, &room);
        if (st != PROTO_MORE)
            break;
        n = read(c->fd, buf, room);
        if (n > 0) {
            proto_req_advance(&c->req, (size_t)n);
            continue;
        }
        if (n == 0) {
            st = CONN_EOF;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            st = PROTO_MORE;
            break;
        }
        c->err = errno;
        st = CONN_EIO;
        break;
    }
    return st;
}

int conn_reply(conn *c, enum proto_answer a, const char *no_text)
{
    unsigned char out[PROTO_REPLY_BUFSZ];
    size_t n = proto_reply_format(a, no_text, out, sizeof(out));
    ssize_t w;
    int rc = 0;

    do
        w = send(c->fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        rc = errno;
    else if ((size_t)w != n)
        rc = EAGAIN;
    if (rc != 0)
        c->err = rc;
    return rc;
}

const char *conn_result_name(enum proto_answer a)
{
    const char *name = "NONE";

    if (a == PROTO_ANSWER_OK)
        name = "OK";
    else if (a == PROTO_ANSWER_NO)
        name = "NO";
    else if (a == PROTO_ANSWER_TEMP)
        name = "TEMP";
    return name;
}

/* authdb_log_escape, then '"' as \x22 so that a quoted field cannot be
 * closed from inside (log lines are parsed by people and scripts). */
static void quote_field(const char *in, size_t len, char *out, size_t outsz)
{
    char tmp[4 * PROTO_LOGIN_MAX / 2 + 8];
    size_t o = 0;

    authdb_log_escape(in, len, tmp, outsz < sizeof(tmp) ? outsz : sizeof(tmp));
    for (size_t i = 0; tmp[i] != '\0'; i++) {
        if (tmp[i] == '"') {
            if (o + 4 >= outsz)
                break;
            memcpy(out + o, "\\x22", 4);
            o += 4;
        } else {
            if (o + 1 >= outsz)
                break;
            out[o++] = tmp[i];
        }
    }
    out[o] = '\0';
}

void conn_log(const conn *c, const authdb_log *lg, int prio, enum proto_answer a,
              const char *reason)
{
    /* Escaping can quadruple a field; cut long ones (the escape adds "..."). */
    char login[4 * PROTO_LOGIN_MAX / 2 + 8];
    char realm[4 * 64 + 8];
    char service[4 * 32 + 8];
    char why[2 * AUTHDB_WHY_MAX];
    size_t llen, rlen, slen;
    const char *l = proto_req_get(&c->req, PROTO_LOGIN, &llen);
    const char *r = proto_req_get(&c->req, PROTO_REALM, &rlen);
    const char *s = proto_req_get(&c->req, PROTO_SERVICE, &slen);

    /* Fields the parser did not reach are empty, the one it stopped in
     * is partial; the password is never among the logged fields. */
    quote_field(l, llen, login, sizeof(login));
    quote_field(r, rlen, realm, sizeof(realm));
    quote_field(s, slen, service, sizeof(service));
    quote_field(reason, strlen(reason), why, sizeof(why));
    authdb_logf(lg, prio,
                "login=\"%s\" realm=\"%s\" service=\"%s\" result=%s reason=\"%s\" "
                "peer=pid:%ld,uid:%ld ms=%lld",
                login, realm, service, conn_result_name(a), why, (long)c->peer_pid,
                (long)(int)c->peer_uid, (long long)(conn_now_ms() - c->start_ms));
}

void conn_free(conn *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    proto_req_wipe(&c->req);
    explicit_bzero(c, sizeof(*c));
    free(c);
}
