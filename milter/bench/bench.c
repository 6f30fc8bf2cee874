/*
 * bench.c - milter-bench: messages per second through authgate-milter over
 * its real socket, beside a do-nothing libmilter filter negotiating the
 * same steps, in the same run; then the milter's RSS across many messages.
 *
 * usage: milter-bench [-d seconds] [-r rounds] [-n messages] [-u users] AUTHGATE_MILTER
 *                     NULLFILTER
 *
 * Builds a store in a temp dir (-u users, default 1000, each with one
 * allow rule besides the implicit self), starts both filters on UNIX
 * sockets, and drives them with 1 and 16 concurrent connections, each
 * message being what Postfix sends: the MAIL macros, MAIL FROM, a
 * realistic set of 12 header fields, end of message (with the end-of-
 * message macro).  Every authgate message is authenticated and allowed, so
 * it takes the full path (store lookups for the envelope, From, Sender
 * absent, Authentication-Results edit).  Each configuration runs -r
 * rounds (default 6) of -d seconds (default 2) per filter, the two filters
 * alternating so that both see the same background load; the figure is
 * all messages over all time per filter.  Then -n
 * messages (default 1,000,000) go through authgate-milter on 16
 * connections while its VmRSS is sampled every tenth of the way.
 * Prints the figures and exits 0; non-zero if a message got an unexpected
 * reply or a filter failed.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authdb.h"
#include "../tests/mproto.h"

#define CONC_MAX 16

typedef struct job {
    const char *sock;
    int authgate; /* expect the A-R insertion */
    unsigned users;
    double seconds; /* run for this long, or */
    long messages;  /* this many messages (shared counter) */
    atomic_long *counter;
    unsigned id;
    long done;
    int failed;
    char err[256];
} job;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one_message(mproto *m, const job *j, unsigned long seq, mproto_reply *r)
{
    char login[64], env[80], from[128], qid[32], mid[96], rcvd[512];
    unsigned u = (unsigned)(seq % j->users);
    const char *mm[16], *em[3];
    size_t k = 0;

    snprintf(login, sizeof(login), "user%u@example.com", u);
    snprintf(env, sizeof(env), "<user%u@example.com>", u);
    snprintf(from, sizeof(from), "\"User %u\" <user%u@example.com>", u, u);
    snprintf(qid, sizeof(qid), "4B%02X%08lX", j->id, seq);
    snprintf(mid, sizeof(mid), "<%lu.%u.bench@client.example.com>", seq, j->id);
    snprintf(rcvd, sizeof(rcvd),
             "from client.example.com (client.example.com [192.0.2.10])\n\t(using TLSv1.3)\n\t"
             "(Authenticated sender: %s)\n\tby mx.example.com (Postfix) with ESMTPSA id %s\n\t"
             "for <rcpt@example.org>; Thu, 26 Nov 2026 05:00:00 +0000 (UTC)",
             login, qid);
    {
        const char *kv[] = {
            "i",           qid,   "{auth_type}", "PLAIN",       "{auth_authen}", login,
            "{mail_addr}", login, "{mail_host}", "example.com", "{mail_mailer}", "smtp"};
        for (k = 0; k < sizeof(kv) / sizeof(kv[0]); k++)
            mm[k] = kv[k];
        mm[k] = NULL;
    }
    em[0] = "i";
    em[1] = qid;
    em[2] = NULL;
    if (mproto_macros(m, 'M', mm) != 0 || mproto_mail(m, env, r) != 0)
        return -1;
    if (r->cmd != 'c') {
        snprintf(m->err, sizeof(m->err), "MAIL reply '%c' %.200s", r->cmd, r->text);
        return -1;
    }
    {
        const char *h[][2] = {
            {"Received", rcvd},
            {"From", from},
            {"To", "Recipient <rcpt@example.org>"},
            {"Cc", "\"Other, Person\" <other@example.net>, third@example.org"},
            {"Subject", "Quarterly figures =?utf-8?q?f=C3=BCr?= the board meeting"},
            {"Date", "Thu, 26 Nov 2026 05:00:00 +0000"},
            {"Message-ID", mid},
            {"MIME-Version", "1.0"},
            {"Content-Type", "multipart/alternative;\n\tboundary=\"b1_5f3a2c\""},
            {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Thunderbird/115.5.0"},
            {"Authentication-Results", "relay.example.net; spf=pass smtp.mailfrom=example.com"},
            {"X-Mailer-Trace", "bench"},
        };
        for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
            if (mproto_header(m, h[i][0], h[i][1], r) != 0)
                return -1;
    }
    if (mproto_macros(m, 'E', em) != 0 || mproto_eoh(m, r) != 0 || mproto_eom(m, r) != 0)
        return -1;
    if (r->cmd != 'c' || (j->authgate && (r->nmods != 1 || r->mods[0].cmd != 'i'))) {
        snprintf(m->err, sizeof(m->err), "EOM reply '%c' %.200s (%zu edits)", r->cmd, r->text,
                 r->nmods);
        return -1;
    }
    return 0;
}

static void *worker(void *arg)
{
    job *j = arg;
    mproto m;
    mproto_reply *r = malloc(sizeof(*r));
    double end = now() + j->seconds;
    unsigned long seq = (unsigned long)j->id * 1000003UL;

    if (r == NULL || mproto_connect(&m, j->sock) != 0 ||
        mproto_negotiate(&m, 0x1ff, 0x1fffff) != 0) {
        j->failed = 1;
        snprintf(j->err, sizeof(j->err), "%s", r ? m.err : "out of memory");
        free(r);
        return NULL;
    }
    for (;;) {
        if (j->counter != NULL) {
            if (atomic_fetch_add(j->counter, 1) >= j->messages)
                break;
        } else if ((j->done & 63) == 0 && now() >= end) {
            break;
        }
        if (one_message(&m, j, seq++, r) != 0) {
            j->failed = 1;
            snprintf(j->err, sizeof(j->err), "%s", m.err);
            break;
        }
        j->done++;
    }
    mproto_close(&m);
    free(r);
    return NULL;
}

/* Run conc connections; returns messages per second (or -1), and the
 * messages and seconds in *msgs and *secs when given. */
static double run(const char *sock, int authgate, unsigned users, unsigned conc, double seconds,
                  long messages, atomic_long *counter, long *msgs, double *secs)
{
    pthread_t th[CONC_MAX];
    job jobs[CONC_MAX];
    long total = 0;
    double t0 = now(), t;
    int failed = 0;

    for (unsigned i = 0; i < conc; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].sock = sock;
        jobs[i].authgate = authgate;
        jobs[i].users = users;
        jobs[i].seconds = seconds;
        jobs[i].messages = messages;
        jobs[i].counter = counter;
        jobs[i].id = i;
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    for (unsigned i = 0; i < conc; i++) {
        pthread_join(th[i], NULL);
        total += jobs[i].done;
        if (jobs[i].failed) {
            fprintf(stderr, "milter-bench: connection %u: %s\n", i, jobs[i].err);
            failed = 1;
        }
    }
    t = now() - t0;
    if (msgs != NULL)
        *msgs += total;
    if (secs != NULL)
        *secs += t;
    return failed ? -1 : (double)total / t;
}

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
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* CPU seconds (user + system) used so far by pid. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int rm_one(const char *p, const struct stat *st, int fl, struct FTW *f)
{
    (void)st;
    (void)fl;
    (void)f;
    return remove(p);
}

typedef struct fill_arg {
    unsigned users;
} fill_arg;

static int fill(authdb_txn *txn, void *arg)
{
    fill_arg *a = arg;
    char login[64], pat[64];
    int rc = AUTHDB_OK;

    for (unsigned u = 0; u < a->users && rc == AUTHDB_OK; u++) {
        snprintf(login, sizeof(login), "user%u@example.com", u);
        snprintf(pat, sizeof(pat), "alias%u@example.com", u);
        rc = authdb_rule_add(txn, login, strlen(login), AUTHDB_ALLOW, pat, strlen(pat));
    }
    if (rc == AUTHDB_OK)
        rc = authdb_domain_add(txn, "example.com", 11);
    return rc;
}

static pid_t spawn(const char *const argv[], const char *log)
{
    pid_t pid = fork();

    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_socket(const char *path)
{
    struct stat st;

    for (int i = 0; i < 200; i++) {
        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            return 0;
        usleep(50000);
    }
    return -1;
}

int main(int argc, char **argv)
{
    double seconds = 2;
    int rounds = 6;
    long messages = 1000000;
    unsigned users = 1000;
    char dir[] = "/tmp/authgate-bench.XXXXXX", path[256], asock[300], nsock[300], conf[300],
         why[AUTHDB_WHY_MAX];
    authdb_create_opts co = {(gid_t)-1, (gid_t)-1, 0, NULL};
    authdb *w = NULL;
    fill_arg fa;
    pid_t apid = -1, npid = -1;
    int ch, rc = 1;
    FILE *f;

    while ((ch = getopt(argc, argv, "d:r:n:u:")) != -1) {
        switch (ch) {
        case 'd':
            seconds = atof(optarg);
            break;
        case 'r':
            rounds = atoi(optarg);
            break;
        case 'n':
            messages = atol(optarg);
            break;
        case 'u':
            users = (unsigned)atoi(optarg);
            break;
        default:
            goto usage;
        }
    }
    if (optind + 2 != argc || users == 0)
        goto usage;
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/store", dir);
    fa.users = users;
    if (authdb_create(path, &co, why, sizeof(why)) != AUTHDB_OK ||
        authdb_open(path, AUTHDB_BOTH | AUTHDB_WRITE, &w, why, sizeof(why)) != AUTHDB_OK ||
        authdb_write(w, fill, &fa) != AUTHDB_OK) {
        fprintf(stderr, "milter-bench: store: %s\n", why);
        goto out;
    }
    authdb_close(w);
    snprintf(asock, sizeof(asock), "unix:%s/authgate.sock", dir);
    snprintf(nsock, sizeof(nsock), "unix:%s/null.sock", dir);
    snprintf(conf, sizeof(conf), "%s/authgate.conf", dir);
    f = fopen(conf, "w");
    if (f == NULL)
        goto out;
    fprintf(f,
            "store = %s\nmilter_socket = %s\nmilter_user = \"\"\nmilter_pidfile = \"\"\n"
            "authserv_id = mx.example.com\n",
            path, asock);
    fclose(f);
    {
        char alog[300], nlog[300];
        const char *aargv[] = {argv[optind], "-f", "-c", conf, NULL};
        const char *nargv[] = {argv[optind + 1], nsock, NULL};
        snprintf(alog, sizeof(alog), "%s/authgate.log", dir);
        snprintf(nlog, sizeof(nlog), "%s/null.log", dir);
        apid = spawn(aargv, alog);
        npid = spawn(nargv, nlog);
    }
    if (wait_socket(asock + 5) != 0 || wait_socket(nsock + 5) != 0) {
        fprintf(stderr, "milter-bench: a filter did not start (logs in %s)\n", dir);
        goto out;
    }
    printf("milter-bench: %u users, 12 header fields per message, %d rounds of %.1f s per "
           "filter, alternating\n",
           users, rounds, seconds);
    printf("%-6s %16s %16s %8s %18s %18s\n", "conns", "nullfilter msg/s", "authgate msg/s", "ratio",
           "nullfilter CPU/msg", "authgate CPU/msg");
    for (unsigned conc = 1; conc <= CONC_MAX; conc = conc == 1 ? CONC_MAX : CONC_MAX + 1) {
        long nm = 0, am = 0;
        double ns = 0, as = 0, nc = 0, ac = 0, c0;
        for (int round = 0; round < rounds; round++) {
            c0 = cpu_seconds(npid);
            if (run(nsock, 0, users, conc, seconds, 0, NULL, &nm, &ns) < 0)
                goto out;
            nc += cpu_seconds(npid) - c0;
            c0 = cpu_seconds(apid);
            if (run(asock, 1, users, conc, seconds, 0, NULL, &am, &as) < 0)
                goto out;
            ac += cpu_seconds(apid) - c0;
        }
        printf("%-6u %16.0f %16.0f %7.1f%% %15.1f us %15.1f us\n", conc, nm / ns, am / as,
               100.0 * (am / as) / (nm / ns), 1e6 * nc / (double)nm, 1e6 * ac / (double)am);
        fflush(stdout);
    }
    if (messages > 0) {
        atomic_long counter = 0;
        long step = messages / 10, sent = 0, first = rss_kib(apid), last = first, max = first;
        double t0 = now();
        printf("RSS of authgate-milter over %ld messages (16 connections): start %ld KiB\n",
               messages, first);
        for (int k = 1; k <= 10; k++) {
            long target = k == 10 ? messages : step * k;
            atomic_store(&counter, 0);
            if (run(asock, 1, users, CONC_MAX, 0, target - sent, &counter, NULL, NULL) < 0)
                goto out;
            sent = target;
            last = rss_kib(apid);
            max = last > max ? last : max;
            printf("  after %8ld messages: %ld KiB\n", sent, last);
            fflush(stdout);
        }
        printf("RSS: start %ld KiB, end %ld KiB, max %ld KiB, growth %ld KiB over %ld messages "
               "(%.0f msg/s overall)\n",
               first, last, max, last - first, messages, (double)messages / (now() - t0));
    }
    rc = 0;
out:
    if (apid > 0) {
        kill(apid, SIGTERM);
        waitpid(apid, NULL, 0);
    }
    if (npid > 0) {
        kill(npid, SIGTERM);
        waitpid(npid, NULL, 0);
    }
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
usage:
    fprintf(stderr, "usage: milter-bench [-d seconds] [-r rounds] [-n messages] [-u users] "
                    "AUTHGATE_MILTER NULLFILTER\n");
    return 2;
}
