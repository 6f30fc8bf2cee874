/*
 * authdreq.c - rl-authd-req: one saslauthd-protocol request, as libsasl2's
 * client sends it, with the answer printed exactly: what the reliability
 * tests ask authgate-authd directly (faults, oversized fields, a hung
 * daemon).
 *
 * usage: rl-authd-req [-t MS] [-L N] [-P N] [-S N] [-R N] SOCKET LOGIN
 *                     SERVICE REALM
 * The password is one line of standard input (never argv).  -L/-P/-S/-R
 * pad the login, password, service or realm with 'a' to N octets (up to
 * 65535, the field's 16-bit length), to send oversized fields.  -t: give
 * up after MS milliseconds without an answer (default 30000).
 *
 * Output: one line, "OK [text]", "NO [text]", "EMPTY" (a reply of length
 * 0: how authgate-authd reports a temporary failure; libsasl2 reads it as
 * "bad response from saslauthd", SASL_FAIL), "CLOSED" (the connection
 * ended without a reply, same effect in libsasl2), "TIMEOUT", "REFUSED
 * errno-text" (no daemon), or "BAD reply", then " ms=N" (time to the
 * answer).  Exit 0 when an answer line was
 * printed, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "rlutil.h"

#define FIELD_MAX 65535

/* Append one field (16-bit length, bytes) padded with 'a' to pad. */
static size_t put_field(unsigned char *out, const char *v, size_t pad)
{
    size_t n = strlen(v);
    uint16_t be;

    if (pad > n)
        n = pad;
    if (n > FIELD_MAX)
        n = FIELD_MAX;
    be = htons((uint16_t)n);
    memcpy(out, &be, 2);
    memset(out + 2, 'a', n);
    memcpy(out + 2, v, strlen(v) < n ? strlen(v) : n);
    return n + 2;
}

/* Read exactly n octets before the deadline: n, fewer at EOF, or -1 on
 * timeout/error (errno ETIMEDOUT on timeout). */
static ssize_t read_until(int fd, unsigned char *buf, size_t n, int64_t deadline)
{
    size_t got = 0;

    while (got < n) {
        int64_t left = deadline - rl_now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

int main(int argc, char **argv)
{
    size_t pad[4] = {0, 0, 0, 0}, len = 0;
    long timeout = 30000;
    unsigned char *req = NULL, hdr[2], reply[65536];
    char pw[FIELD_MAX + 2];
    struct sockaddr_un sa;
    int ch, fd = -1, rc = 2;
    int64_t t0, deadline;
    ssize_t n;

    while ((ch = getopt(argc, argv, "t:L:P:S:R:")) != -1) {
        switch (ch) {
        case 't':
            timeout = strtol(optarg, NULL, 10);
            break;
        case 'L':
            pad[0] = strtoul(optarg, NULL, 10);
            break;
        case 'P':
            pad[1] = strtoul(optarg, NULL, 10);
            break;
        case 'S':
            pad[2] = strtoul(optarg, NULL, 10);
            break;
        case 'R':
            pad[3] = strtoul(optarg, NULL, 10);
            break;
        default:
            goto usage;
        }
    }
    if (argc - optind != 4 || strlen(argv[optind]) >= sizeof(sa.sun_path))
        goto usage;
    if (fgets(pw, sizeof(pw), stdin) == NULL)
        pw[0] = '\0';
    pw[strcspn(pw, "\r\n")] = '\0';
    req = malloc(4 * (FIELD_MAX + 2));
    if (req == NULL)
        goto out;
    len += put_field(req + len, argv[optind + 1], pad[0]);
    len += put_field(req + len, pw, pad[1]);
    len += put_field(req + len, argv[optind + 2], pad[2]);
    len += put_field(req + len, argv[optind + 3], pad[3]);
    explicit_bzero(pw, sizeof(pw));
    rc = 0;
    t0 = rl_now_ms();
    deadline = t0 + timeout;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[optind]);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        printf("REFUSED %s", strerror(errno));
        goto done;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, req + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the daemon may refuse early: read what it says */
        off += (size_t)w;
    }
    n = read_until(fd, hdr, 2, deadline);
    if (n < 0 && errno == ETIMEDOUT) {
        printf("TIMEOUT");
    } else if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        printf("CLOSED");
    } else if (n != 2) {
        printf("BAD reply (%zd octets of the length)", n);
    } else {
        size_t want = (size_t)hdr[0] << 8 | hdr[1];
        n = want == 0 ? 0 : read_until(fd, reply, want, deadline);
        if (want == 0)
            printf("EMPTY");
        else if (n != (ssize_t)want || want < 2)
            printf("BAD reply (%zd of %zu octets)", n, want);
        else
            printf("%.*s", (int)want, (const char *)reply);
    }
done:
    printf(" ms=%lld\n", (long long)(rl_now_ms() - t0));
    goto out;
usage:
    fprintf(stderr,
            "usage: rl-authd-req [-t MS] [-L N] [-P N] [-S N] [-R N] SOCKET LOGIN SERVICE REALM\n");
out:
    if (fd >= 0)
        close(fd);
    free(req);
    return rc;
}
