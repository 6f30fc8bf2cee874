/*
 * query_client.c - a client of authgate-query for its integration tests.
 *
 * usage:
 *   query-client sm SOCKET KEY...      one connection, one socketmap lookup
 *                                      "senders KEY" per KEY (a KEY starting
 *                                      with "=" is sent as the whole
 *                                      payload); prints each reply payload
 *                                      on a line
 *   query-client mail SOCKET LOGIN ENVFROM
 *   query-client data SOCKET LOGIN ENVFROM HEADERFILE
 *                                      one line-protocol request built from
 *                                      the values (base64); prints the
 *                                      response line as received
 *   query-client raw SOCKET            sends standard input, shuts down its
 *                                      sending side, prints what comes back
 *   query-client slow SOCKET TEXT1 SECS TEXT2
 *                                      sends TEXT1, waits SECS, sends TEXT2,
 *                                      shuts down its sending side and
 *                                      prints what comes back
 *   query-client hold SOCKET TEXT SECS sends TEXT (no shutdown) and waits
 *                                      up to SECS for the server to close;
 *                                      prints "closed after N.N s" or
 *                                      "still open after N s", and what the
 *                                      server sent before closing, if any
 * Exit status 0 when the exchange worked (whatever the answers say), 1 on
 * connection or protocol errors, 2 on usage errors.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "query_b64.h"
#include "query_netstring.h"
#include "sbuf.h"

static int dial(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "query-client: bad socket %s\n", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "query-client: connect %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read until end of file into out. */
static int read_all(int fd, sbuf *out)
{
    char buf[65536];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (sbuf_add(out, buf, (size_t)n) != 0)
            return -1;
    }
    return 0;
}

static int do_sm(const char *path, int nkeys, char **keys)
{
    sbuf req, in;
    char buf[4096];
    int fd = dial(path), rc = 0;

    if (fd < 0)
        return 1;
    sbuf_init(&req, 1 << 20);
    sbuf_init(&in, 1 << 20);
    for (int i = 0; i < nkeys && rc == 0; i++) {
        const char *payload;
        size_t plen, used;
        const char *why = NULL;
        int st = QUERY_NETSTRING_MORE;
        sbuf_reset(&req);
        sbuf_reset(&in);
        if (keys[i][0] == '=') {
            query_netstring_append(&req, keys[i] + 1, strlen(keys[i] + 1));
        } else {
            sbuf pl;
            sbuf_init(&pl, 1 << 20);
            sbuf_adds(&pl, "senders ");
            sbuf_adds(&pl, keys[i]);
            query_netstring_append(&req, pl.p, pl.len);
            sbuf_free(&pl);
        }
        if (send_all(fd, req.p, req.len) != 0) {
            fprintf(stderr, "query-client: write: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        while (st == QUERY_NETSTRING_MORE) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0) {
                fprintf(stderr, "query-client: connection closed before the reply\n");
                rc = 1;
                break;
            }
            sbuf_add(&in, buf, (size_t)n);
            st = query_netstring_parse(in.p, in.len, 200000, &payload, &plen, &used, &why);
        }
        if (rc == 0 && st != QUERY_NETSTRING_OK) {
            fprintf(stderr, "query-client: bad reply: %s\n", why);
            rc = 1;
        }
        if (rc == 0)
            printf("%.*s\n", (int)plen, payload);
    }
    close(fd);
    sbuf_free(&req);
    sbuf_free(&in);
    return rc;
}

static int slurp(const char *file, sbuf *out)
{
    FILE *f = fopen(file, "rb");
    char buf[65536];
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "query-client: %s: %s\n", file, strerror(errno));
        return -1;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sbuf_add(out, buf, n);
    fclose(f);
    return 0;
}

static int do_line(const char *cmd, const char *path, const char *login, const char *envfrom,
                   const char *hfile)
{
    sbuf req, hdr, in;
    int fd, rc = 1;

    sbuf_init(&req, 1 << 22);
    sbuf_init(&hdr, 1 << 22);
    sbuf_init(&in, 1 << 20);
    if (hfile != NULL && slurp(hfile, &hdr) != 0)
        goto out;
    sbuf_adds(&req, cmd);
    sbuf_adds(&req, " login=");
    query_b64_encode(login, strlen(login), &req);
    sbuf_adds(&req, " envfrom=");
    query_b64_encode(envfrom, strlen(envfrom), &req);
    if (hfile != NULL) {
        sbuf_adds(&req, " headers=");
        query_b64_encode(hdr.p != NULL ? hdr.p : "", hdr.len, &req);
    }
    sbuf_adds(&req, "\n");
    fd = dial(path);
    if (fd < 0)
        goto out;
    if (send_all(fd, req.p, req.len) == 0 && shutdown(fd, SHUT_WR) == 0 && read_all(fd, &in) == 0) {
        fwrite(sbuf_str(&in), 1, in.len, stdout);
        rc = 0;
    } else {
        fprintf(stderr, "query-client: exchange failed: %s\n", strerror(errno));
    }
    close(fd);
out:
    sbuf_free(&req);
    sbuf_free(&hdr);
    sbuf_free(&in);
    return rc;
}

static int do_raw(const char *path)
{
    sbuf req, in;
    char buf[65536];
    size_t n;
    int fd, rc = 1;

    sbuf_init(&req, 1 << 22);
    sbuf_init(&in, 1 << 22);
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
        sbuf_add(&req, buf, n);
    fd = dial(path);
    if (fd >= 0) {
        /* The server may close before taking everything (an overlong
         * request): what it answered is still worth reading. */
        send_all(fd, req.p != NULL ? req.p : "", req.len);
        shutdown(fd, SHUT_WR);
        if (read_all(fd, &in) == 0 || in.len > 0) {
            fwrite(sbuf_str(&in), 1, in.len, stdout);
            rc = 0;
        }
        close(fd);
    }
    sbuf_free(&req);
    sbuf_free(&in);
    return rc;
}

static int do_slow(const char *path, const char *t1, double secs, const char *t2)
{
    sbuf in;
    int fd = dial(path), rc = 1;

    if (fd < 0)
        return 1;
    sbuf_init(&in, 1 << 20);
    if (send_all(fd, t1, strlen(t1)) == 0) {
        usleep((useconds_t)(secs * 1e6));
        if (send_all(fd, t2, strlen(t2)) == 0 && shutdown(fd, SHUT_WR) == 0 &&
            read_all(fd, &in) == 0) {
            printf("%s\n", sbuf_str(&in));
            rc = 0;
        }
    }
    close(fd);
    sbuf_free(&in);
    return rc;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int do_hold(const char *path, const char *text, double secs)
{
    sbuf in;
    char buf[4096];
    double t0 = now(), left;
    int fd = dial(path), closed = 0;

    if (fd < 0)
        return 1;
    sbuf_init(&in, 1 << 20);
    send_all(fd, text, strlen(text));
    while ((left = secs - (now() - t0)) > 0) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            closed = 1;
            break;
        }
        sbuf_add(&in, buf, (size_t)n);
    }
    if (closed)
        printf("closed after %.1f s\n", now() - t0);
    else
        printf("still open after %.0f s\n", secs);
    if (in.len > 0)
        printf("%s", sbuf_str(&in));
    close(fd);
    sbuf_free(&in);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "sm") == 0)
        return do_sm(argv[2], argc - 3, argv + 3);
    if (argc == 5 && strcmp(argv[1], "mail") == 0)
        return do_line("mail", argv[2], argv[3], argv[4], NULL);
    if (argc == 6 && strcmp(argv[1], "data") == 0)
        return do_line("data", argv[2], argv[3], argv[4], argv[5]);
    if (argc == 3 && strcmp(argv[1], "raw") == 0)
        return do_raw(argv[2]);
    if (argc == 6 && strcmp(argv[1], "slow") == 0)
        return do_slow(argv[2], argv[3], atof(argv[4]), argv[5]);
    if (argc == 5 && strcmp(argv[1], "hold") == 0)
        return do_hold(argv[2], argv[3], atof(argv[4]));
    fprintf(stderr, "usage: query-client sm SOCKET KEY... | mail SOCKET LOGIN ENVFROM |\n"
                    "       data SOCKET LOGIN ENVFROM HEADERFILE | raw SOCKET |\n"
                    "       slow SOCKET TEXT1 SECONDS TEXT2 | hold SOCKET TEXT SECONDS\n");
    return 2;
}
