/*
 * authtiming.c - rl-auth-timing: does an SMTP client see a difference
 * between an unknown login and a wrong password?  The attacker's view of
 * the property authd-timing (plugin/authd/test_timing.c) measures at the
 * daemon: here every attempt is AUTH PLAIN through Postfix, libsasl2 and
 * authgate-authd, timed from the AUTH line sent to the 535 read, one
 * connection per attempt as a password guesser would use.
 *
 * usage: rl-auth-timing -p PORT -l LOGIN -u UNKNOWN_LOGIN [-n ROUNDS]
 *                       [-w WARMUP] [-L LIMIT_PERCENT]
 * Each round times one attempt of each kind (wrong password for LOGIN, any
 * password for UNKNOWN_LOGIN), the order alternating.  The measure, as in
 * authd-timing: the median over rounds of (unknown - wrong) of the same
 * round, relative to the median wrong-password time; pairing within a
 * round cancels what other jobs do to the machine.  Plain medians are
 * printed too.  Every reply must be 535.
 *
 * Output: the figures and "auth-timing: ... paired difference X% (limit
 * L%)".  Exit 0 within the limit (default 5), 1 otherwise or on an
 * unexpected reply, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "rlutil.h"

/* Read one reply (multi-line folded) into buf; its code or -1. */
static int reply(int fd, char *buf, size_t sz)
{
    size_t n = 0;
    int code = -1;

    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0)
            return -1;
        if (c == '\n') {
            buf[n] = '\0';
            if (n >= 4 && buf[3] == '-') {
                n = 0;
                continue;
            }
            if (n >= 3)
                code = atoi(buf);
            return code;
        }
        if (n + 1 < sz)
            buf[n++] = c;
    }
}

static int say(int fd, const char *s)
{
    size_t n = strlen(s);
    return write(fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* One attempt: microseconds from sending AUTH to reading the reply, or
 * -1; *code gets the reply code. */
static double attempt(int port, const char *login, const char *pw, int *code)
{
    struct sockaddr_in sa;
    struct timeval tv = {30, 0};
    char line[1024], raw[512], enc[1024], cmd[1100];
    size_t a = strlen(login), p = strlen(pw);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    double us = -1;
    int64_t t0;

    *code = -1;
    if (fd < 0 || a + p + 2 > sizeof(raw))
        goto out;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        reply(fd, line, sizeof(line)) != 220 || say(fd, "EHLO timing.lab.test\r\n") != 0 ||
        reply(fd, line, sizeof(line)) != 250)
        goto out;
    raw[0] = '\0';
    memcpy(raw + 1, login, a);
    raw[1 + a] = '\0';
    memcpy(raw + 2 + a, pw, p);
    EVP_EncodeBlock((unsigned char *)enc, (unsigned char *)raw, (int)(a + p + 2));
    snprintf(cmd, sizeof(cmd), "AUTH PLAIN %s\r\n", enc);
    t0 = rl_now_us();
    if (say(fd, cmd) != 0)
        goto out;
    *code = reply(fd, line, sizeof(line));
    us = (double)(rl_now_us() - t0);
    say(fd, "QUIT\r\n");
out:
    if (fd >= 0)
        close(fd);
    return us;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    const char *login = NULL, *unknown = NULL;
    int port = 0, rounds = 201, warmup = 5, ch, bad = 0, rc = 2;
    double limit = 5.0, *w = NULL, *u = NULL, *d = NULL;

    while ((ch = getopt(argc, argv, "p:l:u:n:w:L:")) != -1) {
        switch (ch) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'l':
            login = optarg;
            break;
        case 'u':
            unknown = optarg;
            break;
        case 'n':
            rounds = atoi(optarg);
            break;
        case 'w':
            warmup = atoi(optarg);
            break;
        case 'L':
            limit = atof(optarg);
            break;
        default:
            goto usage;
        }
    }
    if (port <= 0 || login == NULL || unknown == NULL || rounds < 5)
        goto usage;
    w = calloc((size_t)rounds, sizeof(*w));
    u = calloc((size_t)rounds, sizeof(*u));
    d = calloc((size_t)rounds, sizeof(*d));
    if (w == NULL || u == NULL || d == NULL)
        goto out;
    for (int r = -warmup; r < rounds; r++) {
        int cw, cu;
        double tw, tu;
        if ((r & 1) == 0) {
            tw = attempt(port, login, "Wrong-timing-pw-1", &cw);
            tu = attempt(port, unknown, "Wrong-timing-pw-1", &cu);
        } else {
            tu = attempt(port, unknown, "Wrong-timing-pw-1", &cu);
            tw = attempt(port, login, "Wrong-timing-pw-1", &cw);
        }
        if (cw != 535 || cu != 535 || tw < 0 || tu < 0) {
            if (bad++ < 5)
                printf("auth-timing: round %d: replies %d and %d, want 535\n", r, cw, cu);
            continue;
        }
        if (r < 0)
            continue;
        w[r] = tw;
        u[r] = tu;
        d[r] = tu - tw;
    }
    {
        double mw = median(w, rounds), mu = median(u, rounds), md = median(d, rounds);
        double pct = 100.0 * md / mw;
        printf("auth-timing: %d rounds over SMTP (AUTH PLAIN via Postfix, libsasl2, authd)\n",
               rounds);
        printf("auth-timing: wrong password median %.3f ms, unknown login median %.3f ms\n",
               mw / 1000, mu / 1000);
        printf("auth-timing: paired difference %+.3f ms = %+.2f%% (limit %.0f%%)\n", md / 1000, pct,
               limit);
        rc = bad == 0 && fabs(pct) <= limit ? 0 : 1;
    }
    goto out;
usage:
    fprintf(stderr, "usage: rl-auth-timing -p PORT -l LOGIN -u UNKNOWN_LOGIN [-n ROUNDS] "
                    "[-w WARMUP] [-L LIMIT_PERCENT]\n");
out:
    free(w);
    free(u);
    free(d);
    return rc;
}
