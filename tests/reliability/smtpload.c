/*
 * smtpload.c - rl-smtp-load: many messages over concurrent authenticated
 * SMTP sessions (smtp-source has no AUTH), a mix of legitimate and spoofed
 * senders, every message's outcome written down for the accounting.
 *
 * usage: rl-smtp-load -p PORT -u USERFILE [-c SESSIONS] [-m MESSAGES]
 *                     [-s SECONDS] [-S STOPFILE] [-x SPOOF_PERCENT]
 *                     [-T TIMEOUT] [-l LEDGER] [-t] [-b BODY_LINES]
 *                     [-r PER_CONNECTION] [-i ID_PREFIX]
 *
 * USERFILE lines: LOGIN PASSWORD MECH (PLAIN or CRAM-MD5); session i uses
 * line i modulo their number.  SESSIONS threads (default 20) each keep one
 * connection: EHLO, AUTH, then message after message (MAIL, RCPT, DATA) on
 * the same connection until MESSAGES in total were tried (default 1000),
 * SECONDS passed or STOPFILE exists.  Each message is one of
 *   legit       MAIL FROM and From: the login itself   -> 250 at end of data
 *   spoof-env   MAIL FROM:<ceo@example.com>            -> 553 at MAIL
 *   spoof-hdr   own MAIL FROM, From: ceo@example.com   -> 550 at end of data
 * (SPOOF_PERCENT of them spoofed, default 20, half of each kind), with a
 * header "X-Load-Id: <id>" so the delivered copy can be found (ids start
 * with ID_PREFIX, default "L": runs sharing a sink need their own).  Replies are
 * read with a TIMEOUT (seconds, default 60).
 *
 * Outcomes: accepted (250 at end of data), rejected (the 5xx the kind
 * expects), temp (a 4xx anywhere, or the AUTH refused temporarily: the
 * message was not queued), unknown (the connection broke or timed out
 * after the final dot: queued or not, only the sink can tell), and
 * unexpected (anything else: a spoof accepted, a 5xx for a legitimate
 * message, a wrong code).  Without -t a temp or unknown outcome is also an
 * error.  After a broken connection, a timeout, a 421 or any temporary
 * failure the session reconnects and authenticates again, as a client
 * retrying later would (Postfix tempfails the rest of a session whose
 * milter failed); with -r it also does so every PER_CONNECTION messages
 * (many AUTH commands: what the authd tests need).
 *
 * LEDGER gets one line per message: "ID KIND OUTCOME CODE".
 * Output: "smtp-load: messages N accepted A rejected R temp T unknown U
 * unexpected X sessions S connects C auth-temp AT seconds SEC rate RATE/s"
 * and up to 10 lines about unexpected replies.  Exit 0 when X is 0 (and,
 * without -t, T and U too), 1 otherwise, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rlutil.h"

#define LINE_MAX_ 1024
#define USERS_MAX 64

enum kind { K_LEGIT, K_SPOOF_ENV, K_SPOOF_HDR };
static const char *const kind_names[] = {"legit", "spoof-env", "spoof-hdr"};
enum outcome { O_ACCEPTED, O_REJECTED, O_TEMP, O_UNKNOWN, O_UNEXPECTED, O_COUNT };
static const char *const out_names[] = {"accepted", "rejected", "temp", "unknown", "unexpected"};

struct conf {
    int port, sessions, timeout, tolerant, spoof_pct, body_lines, per_conn;
    unsigned long messages;
    int64_t deadline_ms;
    const char *stopfile, *idprefix;
    rl_cases users;
    FILE *ledger;
    pthread_mutex_t mu; /* ledger and the "unexpected" lines */
    atomic_ulong next, counts[O_COUNT], connects, auth_temp, shown;
};

struct sess {
    struct conf *c;
    int id, fd;
    char buf[8192];
    size_t len, off;
    unsigned long seq;
    uint64_t rnd;
};

static void report(struct conf *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct conf *c, const char *fmt, ...)
{
    va_list ap;

    if (atomic_fetch_add(&c->shown, 1) >= 10)
        return;
    pthread_mutex_lock(&c->mu);
    va_start(ap, fmt);
    printf("smtp-load: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    pthread_mutex_unlock(&c->mu);
}

static void sess_close(struct sess *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->len = s->off = 0;
}

static int sess_send(struct sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sess_send(struct sess *s, const char *fmt, ...)
{
    char line[LINE_MAX_ * 4];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return -1;
    for (int off = 0; off < n;) {
        ssize_t w = send(s->fd, line + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (int)w;
    }
    return 0;
}

/* Read one (multi-line) reply; its code, and its last line in last.
 * -1 on EOF/error, -2 on timeout. */
static int sess_reply(struct sess *s, char *last, size_t lastsz)
{
    char line[LINE_MAX_];
    size_t ll = 0;

    for (;;) {
        if (s->off == s->len) {
            ssize_t r = recv(s->fd, s->buf, sizeof(s->buf), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return -2;
            if (r <= 0)
                return -1;
            s->len = (size_t)r;
            s->off = 0;
        }
        char ch = s->buf[s->off++];
        if (ch == '\n') {
            line[ll] = '\0';
            if (ll > 0 && line[ll - 1] == '\r')
                line[--ll] = '\0';
            if (ll >= 4 && line[3] == '-') {
                ll = 0;
                continue;
            }
            if (ll < 3)
                return -1;
            snprintf(last, lastsz, "%s", line);
            return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        }
        if (ll + 1 < sizeof(line))
            line[ll++] = ch;
    }
}

static int b64(const unsigned char *in, size_t n, char *out, size_t outsz)
{
    if (outsz < 4 * ((n + 2) / 3) + 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return 0;
}

/* AUTH with the session's user: the reply code (235 on success). */
static int sess_auth(struct sess *s, const rl_case *u, char *last, size_t lastsz)
{
    char enc[2048], raw[1024], dec[1024];
    int code;

    if (strcmp(u->f[2], "CRAM-MD5") == 0) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned maclen = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        int n;

        if (sess_send(s, "AUTH CRAM-MD5\r\n") != 0)
            return -1;
        code = sess_reply(s, last, lastsz);
        if (code != 334)
            return code;
        n = EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)last + 4,
                            (int)strlen(last + 4));
        if (n < 0)
            return -1;
        while (n > 0 && dec[n - 1] == '\0')
            n--;
        HMAC(EVP_md5(), u->f[1], (int)strlen(u->f[1]), (unsigned char *)dec, (size_t)n, mac,
             &maclen);
        for (unsigned i = 0; i < maclen; i++)
            snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        snprintf(raw, sizeof(raw), "%s %s", u->f[0], hex);
        if (b64((unsigned char *)raw, strlen(raw), enc, sizeof(enc)) != 0 ||
            sess_send(s, "%s\r\n", enc) != 0)
            return -1;
    } else {
        size_t a = strlen(u->f[0]), p = strlen(u->f[1]);
        if (a + p + 2 > sizeof(raw))
            return -1;
        raw[0] = '\0';
        memcpy(raw + 1, u->f[0], a);
        raw[1 + a] = '\0';
        memcpy(raw + 2 + a, u->f[1], p);
        if (b64((unsigned char *)raw, a + p + 2, enc, sizeof(enc)) != 0 ||
            sess_send(s, "AUTH PLAIN %s\r\n", enc) != 0)
            return -1;
    }
    return sess_reply(s, last, lastsz);
}

static int sess_connect(struct sess *s, const rl_case *u)
{
    struct sockaddr_in sa;
    struct timeval tv = {s->c->timeout, 0};
    char last[LINE_MAX_];
    int code;

    sess_close(s);
    atomic_fetch_add(&s->c->connects, 1);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return -1;
    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->c->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto fail;
    if (sess_reply(s, last, sizeof(last)) != 220 ||
        sess_send(s, "EHLO load%d.lab.test\r\n", s->id) != 0 ||
        sess_reply(s, last, sizeof(last)) != 250)
        goto fail;
    code = sess_auth(s, u, last, sizeof(last));
    if (code == 235)
        return 0;
    if (code >= 400 && code < 500) {
        atomic_fetch_add(&s->c->auth_temp, 1);
    } else {
        report(s->c, "session %d: AUTH as %s: %s", s->id, u->f[0],
               code < 0 ? "connection lost" : last);
        if (code >= 500)
            atomic_fetch_add(&s->c->counts[O_UNEXPECTED], 1);
    }
fail:
    sess_close(s);
    return -1;
}

static void ledger(struct conf *c, const char *id, enum kind k, enum outcome o, int code)
{
    atomic_fetch_add(&c->counts[o], 1);
    if (c->ledger == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    fprintf(c->ledger, "%s %s %s %d\n", id, kind_names[k], out_names[o], code);
    pthread_mutex_unlock(&c->mu);
}

/* Classify a reply at a stage.  want: the code that ends this kind here
 * (0: none, the message goes on).  Returns 1 when the message ended. */
static int judge(struct sess *s, const char *id, enum kind k, int code, int want, int ok_code,
                 const char *stage, const char *last)
{
    if (code == ok_code && want == 0)
        return 0;
    if (code == -1 || code == -2) {
        ledger(s->c, id, k, strcmp(stage, "end of data") == 0 ? O_UNKNOWN : O_TEMP, code);
        sess_close(s);
        return 1;
    }
    if (code >= 400 && code < 500) {
        ledger(s->c, id, k, O_TEMP, code);
        sess_close(s);
        return 1;
    }
    if (want != 0 && code == want) {
        ledger(s->c, id, k, want == 250 ? O_ACCEPTED : O_REJECTED, code);
        return 1;
    }
    ledger(s->c, id, k, O_UNEXPECTED, code);
    report(s->c, "%s (%s) at %s: %s", id, kind_names[k], stage, last);
    return 1;
}

static void one_message(struct sess *s, const rl_case *u, unsigned long n)
{
    struct conf *c = s->c;
    char id[64], last[LINE_MAX_] = "";
    enum kind k = K_LEGIT;
    unsigned r = (unsigned)(rl_rand(&s->rnd) % 1000);
    const char *from = u->f[0];
    int code;

    if (r < (unsigned)c->spoof_pct * 5)
        k = K_SPOOF_ENV;
    else if (r < (unsigned)c->spoof_pct * 10)
        k = K_SPOOF_HDR;
    snprintf(id, sizeof(id), "%.20s%d-%lu-%lu", c->idprefix, s->id, s->seq++, n);
    if (sess_send(s, "MAIL FROM:<%s>\r\n", k == K_SPOOF_ENV ? "ceo@example.com" : from) != 0) {
        judge(s, id, k, -1, 0, 250, "MAIL", "send failed");
        return;
    }
    code = sess_reply(s, last, sizeof(last));
    if (judge(s, id, k, code, k == K_SPOOF_ENV ? 553 : 0, 250, "MAIL", last))
        goto reset;
    if (sess_send(s, "RCPT TO:<rcpt@example.test>\r\n") != 0) {
        judge(s, id, k, -1, 0, 250, "RCPT", "send failed");
        return;
    }
    code = sess_reply(s, last, sizeof(last));
    if (judge(s, id, k, code, 0, 250, "RCPT", last))
        goto reset;
    if (sess_send(s, "DATA\r\n") != 0) {
        judge(s, id, k, -1, 0, 354, "DATA", "send failed");
        return;
    }
    code = sess_reply(s, last, sizeof(last));
    if (judge(s, id, k, code, 0, 354, "DATA", last))
        goto reset;
    if (sess_send(s,
                  "From: Load %d <%s>\r\nTo: rcpt@example.test\r\nSubject: load %s\r\n"
                  "Message-ID: <%s@load.lab.test>\r\nX-Load-Id: %s\r\n\r\n",
                  s->id, k == K_SPOOF_HDR ? "ceo@example.com" : from, id, id, id) != 0)
        goto lost;
    for (int i = 0; i < c->body_lines; i++)
        if (sess_send(s, "Line %d of the body of message %s, some text to carry.\r\n", i, id) != 0)
            goto lost;
    if (sess_send(s, ".\r\n") != 0)
        goto lost;
    code = sess_reply(s, last, sizeof(last));
    judge(s, id, k, code, k == K_SPOOF_HDR ? 550 : 250, -999, "end of data", last);
    return;
lost:
    judge(s, id, k, -1, 0, 250, "end of data", "send failed");
    return;
reset:
    if (s->fd >= 0 && (sess_send(s, "RSET\r\n") != 0 || sess_reply(s, last, sizeof(last)) != 250))
        sess_close(s);
}

static void *session(void *arg)
{
    struct sess *s = arg;
    struct conf *c = s->c;
    const rl_case *u = &c->users.v[(size_t)s->id % c->users.n];

    for (;;) {
        if (rl_should_stop(c->deadline_ms, 0, 0, c->stopfile))
            break;
        if (s->fd < 0 && sess_connect(s, u) != 0) {
            rl_sleep_us(100000);
            continue;
        }
        unsigned long n = atomic_fetch_add(&c->next, 1);
        if (c->messages > 0 && n >= c->messages)
            break;
        one_message(s, u, n);
        if (c->per_conn > 0 && s->seq % (unsigned long)c->per_conn == 0 && s->fd >= 0) {
            char last[LINE_MAX_];
            if (sess_send(s, "QUIT\r\n") == 0)
                sess_reply(s, last, sizeof(last));
            sess_close(s);
        }
    }
    if (s->fd >= 0) {
        char last[LINE_MAX_];
        if (sess_send(s, "QUIT\r\n") == 0)
            sess_reply(s, last, sizeof(last));
    }
    sess_close(s);
    return NULL;
}

int main(int argc, char **argv)
{
    static struct conf c;
    struct sess *ss = NULL;
    pthread_t *th = NULL;
    const char *userfile = NULL, *ledger_path = NULL;
    long seconds = 0;
    int ch, rc = 2;
    char why[512];
    int64_t t0;
    double secs;

    c.sessions = 20;
    c.messages = 1000;
    c.timeout = 60;
    c.spoof_pct = 20;
    c.body_lines = 20;
    c.idprefix = "L";
    pthread_mutex_init(&c.mu, NULL);
    while ((ch = getopt(argc, argv, "p:u:c:m:s:S:x:T:l:tb:r:i:")) != -1) {
        switch (ch) {
        case 'p':
            c.port = atoi(optarg);
            break;
        case 'u':
            userfile = optarg;
            break;
        case 'c':
            c.sessions = atoi(optarg);
            break;
        case 'm':
            c.messages = strtoul(optarg, NULL, 10);
            break;
        case 's':
            seconds = strtol(optarg, NULL, 10);
            break;
        case 'S':
            c.stopfile = optarg;
            break;
        case 'x':
            c.spoof_pct = atoi(optarg);
            break;
        case 'T':
            c.timeout = atoi(optarg);
            break;
        case 'l':
            ledger_path = optarg;
            break;
        case 't':
            c.tolerant = 1;
            break;
        case 'b':
            c.body_lines = atoi(optarg);
            break;
        case 'r':
            c.per_conn = atoi(optarg);
            break;
        case 'i':
            c.idprefix = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (c.port <= 0 || userfile == NULL || c.sessions < 1 || c.spoof_pct < 0 || c.spoof_pct > 100 ||
        optind != argc)
        goto usage;
    if (rl_cases_load(userfile, 3, &c.users, why, sizeof(why)) != 0) {
        fprintf(stderr, "rl-smtp-load: %s\n", why);
        goto out;
    }
    if (ledger_path != NULL && (c.ledger = fopen(ledger_path, "w")) == NULL) {
        fprintf(stderr, "rl-smtp-load: %s: %s\n", ledger_path, strerror(errno));
        goto out;
    }
    if (seconds > 0)
        c.deadline_ms = rl_now_ms() + seconds * 1000;
    ss = calloc((size_t)c.sessions, sizeof(*ss));
    th = calloc((size_t)c.sessions, sizeof(*th));
    if (ss == NULL || th == NULL)
        goto out;
    t0 = rl_now_ms();
    for (int i = 0; i < c.sessions; i++) {
        ss[i].c = &c;
        ss[i].id = i;
        ss[i].fd = -1;
        ss[i].rnd = 0x1234567ULL * (uint64_t)(i + 1);
        if (pthread_create(&th[i], NULL, session, &ss[i]) != 0) {
            fprintf(stderr, "rl-smtp-load: cannot start session %d\n", i);
            c.sessions = i;
            break;
        }
    }
    for (int i = 0; i < c.sessions; i++)
        pthread_join(th[i], NULL);
    secs = (double)(rl_now_ms() - t0) / 1000.0;
    {
        unsigned long total = 0;
        for (int o = 0; o < O_COUNT; o++)
            total += atomic_load(&c.counts[o]);
        printf("smtp-load: messages %lu accepted %lu rejected %lu temp %lu unknown %lu "
               "unexpected %lu sessions %d connects %lu auth-temp %lu seconds %.1f rate %.1f/s\n",
               total, atomic_load(&c.counts[O_ACCEPTED]), atomic_load(&c.counts[O_REJECTED]),
               atomic_load(&c.counts[O_TEMP]), atomic_load(&c.counts[O_UNKNOWN]),
               atomic_load(&c.counts[O_UNEXPECTED]), c.sessions, atomic_load(&c.connects),
               atomic_load(&c.auth_temp), secs, secs > 0 ? (double)total / secs : 0.0);
    }
    rc = atomic_load(&c.counts[O_UNEXPECTED]) > 0 ||
                 (!c.tolerant &&
                  (atomic_load(&c.counts[O_TEMP]) > 0 || atomic_load(&c.counts[O_UNKNOWN]) > 0))
             ? 1
             : 0;
    goto out;
usage:
    fprintf(stderr, "usage: rl-smtp-load -p PORT -u USERFILE [-c SESSIONS] [-m MESSAGES] "
                    "[-s SECONDS] [-S STOPFILE] [-x SPOOF_PERCENT] [-T TIMEOUT] [-l LEDGER] "
                    "[-t] [-b BODY_LINES] [-r PER_CONNECTION] [-i ID_PREFIX]\n");
out:
    if (c.ledger != NULL)
        fclose(c.ledger);
    rl_cases_free(&c.users);
    free(ss);
    free(th);
    return rc;
}
