/*
 * query_bench.c - query-bench: requests per second through authgate-query
 * over its real UNIX socket, for both protocols, at 1 and 8 concurrent
 * clients, beside the milter's own decision rate (the same policy code in
 * a loop, no I/O), in one run.
 *
 * usage: query-bench [-d seconds] [-r rounds] [-u users] AUTHGATE_QUERY
 *
 * Builds a store in a temp dir (-u users, default 1000: userN@example.com,
 * each with the implicit self, "allow aliasN@example.com" and "allow
 * @domN.example"), starts authgate-query on it (logging every decision to
 * /dev/null, as it would to syslog), and measures:
 *   socketmap   Postfix's way: each client keeps one connection and sends
 *               "senders <address>" lookups back to back (own address,
 *               alias, domain rule, nobody's), checking every reply;
 *   line mail   Exim's MAIL ACL: a new connection per request (readsocket
 *               connects, writes, shuts down, reads to end of file);
 *   line data   Exim's DATA ACL: the same with the raw header section of a
 *               typical submitted message (8 fields, 560 octets);
 *   milter decision (baseline): what authgate-milter does per message
 *               without the MTA and the wire: the header collector fed the
 *               same 8 fields, policy_mail, policy_headers, policy_merge,
 *               on this process's own read-only handle, in 1 or 8 threads.
 * Each configuration runs -r rounds (default 3) of -d seconds (default 2),
 * the kinds alternating so that all see the same background load.
 * Prints requests per second and microseconds per request (client time:
 * clients x elapsed / requests), and authgate-query's resident memory
 * before and after; exits non-zero if any answer was not the expected
 * one.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authdb.h"
#include "msg.h"
#include "policy.h"
#include "query_b64.h"
#include "query_netstring.h"

#define CLIENTS_MAX 8

enum kind { K_SOCKETMAP = 0, K_MAIL, K_DATA, K_DECISION, K_COUNT };
static const char *const kind_names[K_COUNT] = {
    "socketmap (persistent connection)", "line mail (connection per request)",
    "line data (connection per request)", "milter decision in-process (baseline)"};

/* The header section of a typical submitted message, as Exim's
 * $message_headers_raw shows it, and the same fields as Postfix passes
 * them to a milter.  %04u is the user number. */
static const char *const fields[][2] = {
    {"Received", "from [192.0.2.7] (helo=laptop.example)\n\tby mx.example.com with esmtpa "
                 "(Exim 4.96)\n\t(envelope-from <user%04u@example.com>)\n\tid "
                 "1xWT9t-0005YP-1s\n\tfor rcpt@example.net;\n\tThu, 26 Nov 2026 06:40:41 +0000"},
    {"From", "\"User %04u\" <user%04u@example.com>"},
    {"To", "Someone Else <rcpt@example.net>"},
    {"Subject", "Quarterly report, draft 3"},
    {"Date", "Thu, 26 Nov 2026 07:40:39 +0100"},
    {"Message-ID", "<4f1c9a2e-%04u@laptop.example>"},
    {"MIME-Version", "1.0"},
    {"Content-Type", "text/plain; charset=utf-8; format=flowed"},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

typedef struct shared {
    const char *sock;
    authdb *h; /* for the in-process decision */
    const authdb_conf *conf;
    unsigned users;
} shared;

typedef struct job {
    const shared *sh;
    enum kind kind;
    unsigned id;
    double until;
    long done;
    long bad;
    char err[256];
} job;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
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

/* The raw header section for user u. */
static void section(unsigned u, sbuf *out)
{
    char v[512], line[600];

    for (size_t i = 0; i < NFIELDS; i++) {
        snprintf(v, sizeof(v), fields[i][1], u, u);
        snprintf(line, sizeof(line), "%s: %s\n", fields[i][0], v);
        sbuf_adds(out, line);
    }
}

static void b64(sbuf *out, const char *s)
{
    query_b64_encode(s, strlen(s), out);
}

static void *run_socketmap(job *j)
{
    char key[128], buf[4096];
    sbuf req, in;
    int fd = dial(j->sh->sock);
    unsigned i = j->id * 7919;

    sbuf_init(&req, 1 << 16);
    sbuf_init(&in, 1 << 20);
    if (fd < 0) {
        snprintf(j->err, sizeof(j->err), "connect: %s", strerror(errno));
        goto out;
    }
    while (now() < j->until) {
        unsigned u = i % j->sh->users, which = i % 4;
        const char *payload, *why;
        size_t plen, used;
        int st = QUERY_NETSTRING_MORE;
        i++;
        if (which == 0)
            snprintf(key, sizeof(key), "senders user%04u@example.com", u);
        else if (which == 1)
            snprintf(key, sizeof(key), "senders alias%04u@example.com", u);
        else if (which == 2)
            snprintf(key, sizeof(key), "senders anyone@dom%04u.example", u);
        else
            snprintf(key, sizeof(key), "senders nobody%04u@nowhere.example", u);
        sbuf_reset(&req);
        sbuf_reset(&in);
        query_netstring_append(&req, key, strlen(key));
        if (send_all(fd, req.p, req.len) != 0) {
            snprintf(j->err, sizeof(j->err), "write: %s", strerror(errno));
            break;
        }
        while (st == QUERY_NETSTRING_MORE) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0)
                break;
            sbuf_add(&in, buf, (size_t)n);
            st = query_netstring_parse(in.p, in.len, 200000, &payload, &plen, &used, &why);
        }
        if (st != QUERY_NETSTRING_OK) {
            snprintf(j->err, sizeof(j->err), "socketmap reply broken");
            break;
        }
        if (plen < 3 || memcmp(payload, "OK ", 3) != 0)
            j->bad++;
        j->done++;
    }
    if (fd >= 0)
        close(fd);
out:
    sbuf_free(&req);
    sbuf_free(&in);
    return NULL;
}

static void *run_line(job *j)
{
    char who[64], buf[1024];
    sbuf req, sec;
    unsigned i = j->id * 7919;

    sbuf_init(&req, 1 << 20);
    sbuf_init(&sec, 1 << 16);
    while (now() < j->until) {
        unsigned u = i++ % j->sh->users;
        size_t got = 0;
        ssize_t n;
        int fd;
        snprintf(who, sizeof(who), "user%04u@example.com", u);
        sbuf_reset(&req);
        sbuf_adds(&req, j->kind == K_MAIL ? "mail login=" : "data login=");
        b64(&req, who);
        sbuf_adds(&req, " envfrom=");
        b64(&req, who);
        if (j->kind == K_DATA) {
            sbuf_reset(&sec);
            section(u, &sec);
            sbuf_adds(&req, " headers=");
            query_b64_encode(sec.p, sec.len, &req);
        }
        sbuf_adds(&req, "\n");
        fd = dial(j->sh->sock);
        if (fd < 0) {
            snprintf(j->err, sizeof(j->err), "connect: %s", strerror(errno));
            break;
        }
        if (send_all(fd, req.p, req.len) != 0 || shutdown(fd, SHUT_WR) != 0) {
            snprintf(j->err, sizeof(j->err), "write: %s", strerror(errno));
            close(fd);
            break;
        }
        while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
            got += (size_t)n;
        close(fd);
        buf[got] = '\0';
        if (strncmp(buf, "accept pass ", 12) != 0) {
            if (j->bad == 0)
                snprintf(j->err, sizeof(j->err), "unexpected answer: %.200s", buf);
            j->bad++;
        }
        j->done++;
    }
    sbuf_free(&req);
    sbuf_free(&sec);
    return NULL;
}

static void *run_decision(job *j)
{
    char login[64], env[80], v[512];
    unsigned i = j->id * 7919;
    msg m;

    msg_init(&m);
    while (now() < j->until) {
        unsigned u = i++ % j->sh->users;
        policy_input in;
        policy_verdict mail, hv;
        snprintf(login, sizeof(login), "user%04u@example.com", u);
        snprintf(env, sizeof(env), "<%s>", login);
        memset(&in, 0, sizeof(in));
        in.login = login;
        in.envfrom = env;
        policy_mail(j->sh->h, j->sh->conf, &in, &mail);
        msg_reset(&m);
        for (size_t k = 0; k < NFIELDS; k++) {
            snprintf(v, sizeof(v), fields[k][1], u, u);
            msg_header(&m, fields[k][0], v, "mx.example.com");
        }
        in.nfrom = m.nfrom;
        in.from = msg_from(&m, &in.from_len);
        in.nsender = m.nsender;
        in.sender = msg_sender(&m, &in.sender_len);
        policy_headers(j->sh->h, j->sh->conf, &in, &hv);
        policy_merge(&hv, &mail);
        if (hv.action != AUTHDB_ACT_ACCEPT || hv.cls != POLICY_PASS) {
            if (j->bad == 0)
                snprintf(j->err, sizeof(j->err), "decision: %.200s", hv.reason);
            j->bad++;
        }
        j->done++;
    }
    msg_free(&m);
    return NULL;
}

static void *client(void *arg)
{
    job *j = arg;

    switch (j->kind) {
    case K_SOCKETMAP:
        return run_socketmap(j);
    case K_DECISION:
        return run_decision(j);
    default:
        return run_line(j);
    }
}

/* One timed run of kind with n clients; adds to *done and *secs. */
static int timed(const shared *sh, enum kind kind, unsigned n, double d, long *done, double *secs)
{
    pthread_t th[CLIENTS_MAX];
    job jobs[CLIENTS_MAX];
    double t0 = now();
    int rc = 0;

    for (unsigned i = 0; i < n; i++) {
        jobs[i] = (job){sh, kind, i, t0 + d, 0, 0, ""};
        pthread_create(&th[i], NULL, client, &jobs[i]);
    }
    for (unsigned i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        *done += jobs[i].done;
        if (jobs[i].err[0] != '\0' || jobs[i].bad > 0) {
            fprintf(stderr, "query-bench: %s, client %u: %ld bad answers %s\n", kind_names[kind], i,
                    jobs[i].bad, jobs[i].err);
            rc = -1;
        }
    }
    *secs += now() - t0;
    return rc;
}

/* VmRSS of pid in KiB, or -1. */
static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static int fill(authdb_txn *txn, void *arg)
{
    const unsigned *users = arg;
    char login[64], pat[64];
    int rc = AUTHDB_OK;

    for (unsigned u = 0; u < *users && rc == AUTHDB_OK; u++) {
        snprintf(login, sizeof(login), "user%04u@example.com", u);
        snprintf(pat, sizeof(pat), "alias%04u@example.com", u);
        rc = authdb_rule_add(txn, login, strlen(login), AUTHDB_ALLOW, pat, strlen(pat));
        snprintf(pat, sizeof(pat), "@dom%04u.example", u);
        if (rc == AUTHDB_OK)
            rc = authdb_rule_add(txn, login, strlen(login), AUTHDB_ALLOW, pat, strlen(pat));
    }
    if (rc == AUTHDB_OK)
        rc = authdb_domain_add(txn, "example.com", 11);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

int main(int argc, char **argv)
{
    authdb_create_opts co = {(gid_t)-1, (gid_t)-1, 0, NULL};
    char dir[] = "/tmp/query-bench.XXXXXX", store[128], conf[128], sock[128], why[AUTHDB_WHY_MAX];
    static const unsigned conc[] = {1, 8};
    double d = 2, t0;
    unsigned rounds = 3, users = 1000;
    authdb *w = NULL;
    authdb_conf *defaults = NULL;
    shared sh = {NULL, NULL, NULL, 0};
    pid_t pid = -1;
    FILE *f;
    int ch, rc = 1, fails = 0;
    long rss0;

    while ((ch = getopt(argc, argv, "d:r:u:")) != -1) {
        if (ch == 'd')
            d = atof(optarg);
        else if (ch == 'r')
            rounds = (unsigned)atoi(optarg);
        else if (ch == 'u')
            users = (unsigned)atoi(optarg);
        else
            goto usage;
    }
    if (optind + 1 != argc || d <= 0 || rounds == 0 || users == 0 || users > 10000)
        goto usage;
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    chmod(dir, 0755);
    snprintf(store, sizeof(store), "%s/store", dir);
    snprintf(conf, sizeof(conf), "%s/authgate.conf", dir);
    snprintf(sock, sizeof(sock), "%s/query.sock", dir);
    if (authdb_create(store, &co, why, sizeof(why)) != AUTHDB_OK ||
        authdb_open(store, AUTHDB_BOTH | AUTHDB_WRITE, &w, why, sizeof(why)) != AUTHDB_OK ||
        authdb_write(w, fill, &users) != AUTHDB_OK) {
        fprintf(stderr, "query-bench: store: %s\n", why);
        goto out;
    }
    authdb_close(w);
    f = fopen(conf, "w");
    if (f == NULL) {
        perror(conf);
        goto out;
    }
    fprintf(f,
            "store = %s\nquery_socket = %s\nquery_user = \"\"\nquery_pidfile = \"\"\n"
            "authserv_id = mx.example.com\nquery_connections = 64\n",
            store, sock);
    fclose(f);
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        execl(argv[optind], argv[optind], "-f", "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (t0 = now(); access(sock, F_OK) != 0 && now() - t0 < 10;)
        usleep(20000);
    if (access(sock, F_OK) != 0) {
        fprintf(stderr, "query-bench: %s did not start\n", argv[optind]);
        goto out;
    }
    if (authdb_open(store, AUTHDB_POLICY, &sh.h, why, sizeof(why)) != AUTHDB_OK ||
        authdb_conf_load("/nonexistent/authgate.conf", 1, &defaults, why, sizeof(why)) !=
            AUTHDB_OK) {
        fprintf(stderr, "query-bench: %s\n", why);
        goto out;
    }
    sh.sock = sock;
    sh.conf = defaults;
    sh.users = users;
    printf("query-bench: %u users, %u rounds of %.1f s per kind and concurrency, %ld CPUs\n", users,
           rounds, d, sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-40s %8s %12s %10s\n", "", "clients", "requests/s", "us/request");
    rss0 = rss_kib(pid);
    for (size_t c = 0; c < sizeof(conc) / sizeof(conc[0]); c++) {
        long done[K_COUNT] = {0};
        double secs[K_COUNT] = {0};
        for (unsigned r = 0; r < rounds; r++)
            for (int k = 0; k < K_COUNT; k++)
                fails += timed(&sh, (enum kind)k, conc[c], d, &done[k], &secs[k]) != 0;
        for (int k = 0; k < K_COUNT; k++) {
            double rate = (double)done[k] / secs[k];
            printf("%-40s %8u %12.0f %10.1f\n", kind_names[k], conc[c], rate, conc[c] * 1e6 / rate);
        }
    }
    printf("authgate-query VmRSS: %ld KiB after start, %ld KiB after all runs\n", rss0,
           rss_kib(pid));
    rc = fails == 0 ? 0 : 1;
    goto out;
usage:
    fprintf(stderr, "usage: query-bench [-d seconds] [-r rounds] [-u users] AUTHGATE_QUERY\n");
    return 2;
out:
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    authdb_close(sh.h);
    authdb_conf_free(defaults);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
