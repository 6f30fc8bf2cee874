/*
 * mproto.c - MTA side of the milter protocol (see mproto.h).
 *
 * Packets are a 4-octet big-endian length (command octet included), the
 * command, then the data.
 */
#include "mproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define NR_HDR 0x80UL
#define NOEOH  0x40UL

static int fail(mproto *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(mproto *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(m->err, sizeof(m->err), fmt, ap);
    va_end(ap);
    return -1;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;

    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One packet, one system call (as an MTA's buffered stream sends it). */
static int send_pkt(mproto *m, char cmd, const void *data, size_t len)
{
    char hdr[5];
    uint32_t n = htonl((uint32_t)len + 1);
    struct iovec iov[2] = {{hdr, 5}, {(void *)data, len}};
    ssize_t w;

    memcpy(hdr, &n, 4);
    hdr[4] = cmd;
    do
        w = writev(m->fd, iov, len > 0 ? 2 : 1);
    while (w < 0 && errno == EINTR);
    if (w == (ssize_t)(5 + len))
        return 0;
    if (w < 0)
        return fail(m, "write: %s", strerror(errno));
    /* A short write: send the rest plainly. */
    if ((size_t)w < 5 && write_all(m->fd, hdr + w, 5 - (size_t)w) != 0)
        return fail(m, "write: %s", strerror(errno));
    w = w < 5 ? 0 : w - 5;
    if (len > (size_t)w && write_all(m->fd, (const char *)data + w, len - (size_t)w) != 0)
        return fail(m, "write: %s", strerror(errno));
    return 0;
}

/* Read one packet into buf (NUL-terminated). */
static int recv_pkt(mproto *m, char *cmd, char *buf, size_t bufsz, size_t *len)
{
    uint32_t n;
    size_t want;

    if (read_all(m->fd, &n, 4) != 0)
        return fail(m, "read: connection closed");
    want = ntohl(n);
    if (want < 1 || want > bufsz)
        return fail(m, "read: bad packet length %zu", want);
    if (read_all(m->fd, cmd, 1) != 0 || read_all(m->fd, buf, want - 1) != 0)
        return fail(m, "read: connection closed");
    buf[want - 1] = '\0';
    *len = want - 1;
    return 0;
}

int mproto_connect(mproto *m, const char *spec)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
        struct sockaddr_un sa;
        const char *path = strchr(spec, ':') + 1;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(sa.sun_path))
            return fail(m, "socket path too long");
        strcpy(sa.sun_path, path);
        m->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (m->fd < 0 || connect(m->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            return fail(m, "connect %s: %s", spec, strerror(errno));
        return 0;
    }
    if (strncmp(spec, "inet:", 5) == 0) {
        char port[16], host[256];
        const char *at = strchr(spec, '@');
        struct addrinfo hints, *ai = NULL;
        if (at == NULL || (size_t)(at - spec - 5) >= sizeof(port))
            return fail(m, "bad socket %s", spec);
        memcpy(port, spec + 5, (size_t)(at - spec - 5));
        port[at - spec - 5] = '\0';
        snprintf(host, sizeof(host), "%s", at + 1);
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
            return fail(m, "cannot resolve %s", spec);
        m->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (m->fd < 0 || connect(m->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            freeaddrinfo(ai);
            return fail(m, "connect %s: %s", spec, strerror(errno));
        }
        freeaddrinfo(ai);
        return 0;
    }
    return fail(m, "bad socket %s", spec);
}

int mproto_negotiate(mproto *m, unsigned long actions, unsigned long protocol)
{
    uint32_t v[3] = {htonl(6), htonl((uint32_t)actions), htonl((uint32_t)protocol)};
    char buf[4096], cmd;
    size_t len;

    if (send_pkt(m, 'O', v, sizeof(v)) != 0 || recv_pkt(m, &cmd, buf, sizeof(buf), &len) != 0)
        return -1;
    if (cmd != 'O' || len < 12)
        return fail(m, "negotiation refused (reply '%c')", cmd);
    memcpy(v, buf, sizeof(v));
    m->actions = ntohl(v[1]);
    m->protocol = ntohl(v[2]);
    return 0;
}

int mproto_macros(mproto *m, char stage, const char *const *kv)
{
    char buf[4096];
    size_t n = 0;

    buf[n++] = stage;
    for (size_t i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2) {
        size_t a = strlen(kv[i]) + 1, b = strlen(kv[i + 1]) + 1;
        if (n + a + b > sizeof(buf))
            return fail(m, "macros too long");
        memcpy(buf + n, kv[i], a);
        memcpy(buf + n + a, kv[i + 1], b);
        n += a + b;
    }
    return send_pkt(m, 'D', buf, n);
}

static void copy(char *dst, size_t dstsz, const char *src)
{
    size_t n = strlen(src);

    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Read modifications until the final reply. */
static int read_reply(mproto *m, mproto_reply *r)
{
    char buf[65536], cmd;
    size_t len;

    memset(r, 0, sizeof(*r));
    for (;;) {
        if (recv_pkt(m, &cmd, buf, sizeof(buf), &len) != 0)
            return -1;
        if (cmd != '\0' && strchr("himq+-be2", cmd) != NULL) {
            mproto_mod *mod;
            const char *p = buf;
            if (r->nmods == MPROTO_MODS_MAX)
                return fail(m, "too many modifications");
            mod = &r->mods[r->nmods++];
            mod->cmd = cmd;
            if (cmd == 'i' || cmd == 'm') {
                uint32_t idx;
                memcpy(&idx, buf, 4);
                mod->idx = ntohl(idx);
                p += 4;
            }
            copy(mod->name, sizeof(mod->name), p);
            if (cmd == 'h' || cmd == 'i' || cmd == 'm')
                copy(mod->value, sizeof(mod->value), p + strlen(p) + 1);
            continue;
        }
        if (cmd == 'p')
            continue; /* progress */
        r->cmd = cmd;
        if (cmd == 'y')
            copy(r->text, sizeof(r->text), buf);
        return 0;
    }
}

int mproto_mail(mproto *m, const char *sender, mproto_reply *r)
{
    if (send_pkt(m, 'M', sender, strlen(sender) + 1) != 0)
        return -1;
    return read_reply(m, r);
}

int mproto_header(mproto *m, const char *name, const char *value, mproto_reply *r)
{
    char buf[65536];
    size_t a = strlen(name) + 1, b = strlen(value) + 1;

    if (a + b > sizeof(buf))
        return fail(m, "header too long");
    memcpy(buf, name, a);
    memcpy(buf + a, value, b);
    if (send_pkt(m, 'L', buf, a + b) != 0)
        return -1;
    if (m->protocol & NR_HDR) {
        if (r != NULL) {
            memset(r, 0, sizeof(*r));
            r->cmd = 'c';
        }
        return 0;
    }
    if (r == NULL) {
        mproto_reply tmp;
        return read_reply(m, &tmp);
    }
    return read_reply(m, r);
}

int mproto_eoh(mproto *m, mproto_reply *r)
{
    if (m->protocol & NOEOH) {
        memset(r, 0, sizeof(*r));
        r->cmd = 'c';
        return 0;
    }
    if (send_pkt(m, 'N', NULL, 0) != 0)
        return -1;
    return read_reply(m, r);
}

int mproto_eom(mproto *m, mproto_reply *r)
{
    if (send_pkt(m, 'E', NULL, 0) != 0)
        return -1;
    return read_reply(m, r);
}

int mproto_abort(mproto *m)
{
    return send_pkt(m, 'A', NULL, 0);
}

void mproto_close(mproto *m)
{
    if (m->fd >= 0) {
        send_pkt(m, 'Q', NULL, 0);
        close(m->fd);
    }
    m->fd = -1;
}
