/*
 * fixture.c - scratch store, configuration, daemon process and saslauthd
 * client for the integration tests and the benchmark (fixture.h).
 *
 * The store is built with the real authdb API (authdb_create,
 * authdb_secrets_derive, authdb_write); the test process closes its
 * handle before the daemon starts, so no process ever has two handles on
 * one environment.
 *
 * Diagnostics: failures print one line on standard error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authdb.h"
#include "fixture.h"

#define NOGROUP 65534

double fixture_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct put_arg {
    authdb_secrets *s;
    const char *login;
    int disable;
};

static int put_user(authdb_txn *txn, void *arg)
{
    struct put_arg *p = arg;
    int rc = authdb_user_put(txn, p->login, strlen(p->login), p->s, AUTHDB_PUT_UPSERT);
    if (rc == AUTHDB_OK && p->disable)
        rc = authdb_user_set_flags(txn, p->login, strlen(p->login), AUTHDB_USER_DISABLED, 0);
    return rc;
}

static int add_user(authdb *h, const authdb_derive_params *dp, const char *login,
                    const char *password, int disable)
{
    struct put_arg p = {NULL, login, disable};
    int rc = authdb_secrets_derive(dp, login, password, strlen(password), &p.s);
    if (rc == AUTHDB_OK)
        rc = authdb_write(h, put_user, &p);
    if (rc != AUTHDB_OK)
        fprintf(stderr, "fixture: adding %s: %s\n", login, authdb_strerror(rc));
    authdb_secrets_free(p.s);
    return rc;
}

int fixture_make_store(fixture *f, const char *login, const char *password)
{
    char why[AUTHDB_WHY_MAX] = "";
    authdb_create_opts o = {.secrets_gid = f->as_root ? NOGROUP : (gid_t)-1,
                            .policy_gid = f->as_root ? NOGROUP : (gid_t)-1};
    authdb_derive_params dp;
    authdb *h = NULL;
    int rc;

    if ((rc = authdb_create(f->store, &o, why, sizeof(why))) != AUTHDB_OK) {
        fprintf(stderr, "fixture: authdb_create %s: %s (%s)\n", f->store, why, authdb_strerror(rc));
        goto out;
    }
    if ((rc = authdb_open(f->store, AUTHDB_BOTH | AUTHDB_WRITE, &h, why, sizeof(why))) !=
        AUTHDB_OK) {
        fprintf(stderr, "fixture: authdb_open: %s\n", why);
        goto out;
    }
    if ((rc = authdb_derive_params_get(h, NULL, &dp)) != AUTHDB_OK)
        goto out;
    dp.mechs = 0; /* the crypt(3) hash only: what authd checks */
    if (login != NULL) {
        rc = add_user(h, &dp, login, password, 0);
        goto out;
    }
    if ((rc = add_user(h, &dp, FX_LOGIN, FX_PASSWORD, 0)) != AUTHDB_OK ||
        (rc = add_user(h, &dp, FX_ADDR_LOGIN, FX_PASSWORD, 0)) != AUTHDB_OK ||
        (rc = add_user(h, &dp, FX_DISABLED_LOGIN, FX_PASSWORD, 1)) != AUTHDB_OK)
        goto out;
out:
    authdb_close(h);
    return rc == AUTHDB_OK ? 0 : -1;
}

int fixture_write_conf(fixture *f, const char *store, unsigned threads, unsigned timeout)
{
    FILE *c = fopen(f->conf, "w");
    if (c == NULL) {
        fprintf(stderr, "fixture: %s: %s\n", f->conf, strerror(errno));
        return -1;
    }
    fprintf(c,
            "# written by the authgate-authd test fixture\n"
            "store = %s\n"
            "authd_socket = %s\n"
            "authd_user = %s\n"
            "authd_socket_mode = 0660\n"
            "authd_threads = %u\n"
            "authd_timeout = %u\n"
            "authd_pidfile = %s\n",
            store != NULL ? store : f->store, f->sock, f->as_root ? "nobody" : f->self, threads,
            timeout, f->pidfile);
    return fclose(c) == 0 ? 0 : -1;
}

int fixture_init(fixture *f, int no_store, unsigned threads, unsigned timeout)
{
    memset(f, 0, sizeof(*f));
    f->bin = getenv("AUTHD_BIN");
    if (f->bin == NULL || f->bin[0] == '\0') {
        fprintf(stderr, "fixture: AUTHD_BIN is not set: skipping\n");
        return 77;
    }
    f->as_root = geteuid() == 0;
    {
        struct passwd *pw = getpwuid(geteuid());
        snprintf(f->self, sizeof(f->self), "%s", pw != NULL ? pw->pw_name : "root");
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/authd-test.XXXXXX");
    if (mkdtemp(f->dir) == NULL || chmod(f->dir, 0755) != 0) {
        fprintf(stderr, "fixture: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
    snprintf(f->conf, sizeof(f->conf), "%s/authgate.conf", f->dir);
    snprintf(f->sock, sizeof(f->sock), "%s/run/authd/mux", f->dir);
    snprintf(f->log, sizeof(f->log), "%s/authd.log", f->dir);
    snprintf(f->pidfile, sizeof(f->pidfile), "%s/authd.pid", f->dir);
    if (!no_store && fixture_make_store(f, NULL, NULL) != 0)
        return -1;
    return fixture_write_conf(f, NULL, threads, timeout);
}

int fixture_connect(const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Keep only CAP_CHOWN, CAP_SETUID and CAP_SETGID in the bounding set
 * (numbers from capability.h: 0, 7, 6) and set no_new_privs: root's next
 * exec gets those capabilities and no others.  0 or -1. */
static int unit_caps(void)
{
    for (int c = 0; c < 64; c++) {
        if (c == 0 || c == 6 || c == 7)
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
            return -1;
    }
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

int fixture_start(fixture *f)
{
    int logfd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        return -1;
    }
    if (pid == 0) {
        dup2(logfd, 2);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        if (f->unit_caps && unit_caps() != 0)
            _exit(126);
        execl(f->bin, "authgate-authd", "-f", "-c", f->conf, (char *)NULL);
        _exit(127);
    }
    close(logfd);
    f->pid = pid;
    /* Ready: the daemon logged "ready:" (after its socket listens and its
     * workers run) since this start; earlier starts' lines are counted. */
    for (int i = 0; i < 500; i++) {
        int st;
        if (fixture_log_count(f, (const char *const[]){"ready: socket", NULL}) > f->starts) {
            f->starts++;
            return 0;
        }
        if (waitpid(pid, &st, WNOHANG) == pid) {
            f->pid = 0;
            fprintf(stderr, "fixture: daemon exited during startup (status %d); see %s\n",
                    WIFEXITED(st) ? WEXITSTATUS(st) : -1, f->log);
            return -1;
        }
        usleep(10000);
    }
    fprintf(stderr, "fixture: daemon not ready after 5 s; see %s\n", f->log);
    return -1;
}

int fixture_stop(fixture *f, int sig, unsigned timeout_ms)
{
    int st = 0;
    double end = fixture_now_ms() + timeout_ms;

    if (f->pid <= 0)
        return -1;
    kill(f->pid, sig);
    for (;;) {
        pid_t r = waitpid(f->pid, &st, WNOHANG);
        if (r == f->pid)
            break;
        if (fixture_now_ms() > end) {
            kill(f->pid, SIGKILL);
            waitpid(f->pid, &st, 0);
            f->pid = 0;
            return -1;
        }
        usleep(5000);
    }
    f->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void fixture_free(fixture *f)
{
    char cmd[128];

    if (f->pid > 0)
        fixture_stop(f, SIGTERM, 5000);
    if (f->dir[0] != '\0' && getenv("AUTHD_KEEP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "fixture: could not remove %s\n", f->dir);
    }
    f->dir[0] = '\0';
}

int fixture_log_count(const fixture *f, const char *const *needles)
{
    char line[4096];
    int n = 0;
    FILE *l = fopen(f->log, "r");

    if (l == NULL)
        return 0;
    while (fgets(line, sizeof(line), l) != NULL) {
        int all = 1;
        for (size_t i = 0; needles[i] != NULL && all; i++)
            all = strstr(line, needles[i]) != NULL;
        n += all;
    }
    fclose(l);
    return n;
}

int fixture_log_has(const fixture *f, const char *s)
{
    const char *needles[] = {s, NULL};
    return fixture_log_count(f, needles) > 0;
}

int fixture_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read exactly len octets before the deadline. */
static int read_full(int fd, void *buf, size_t len, double deadline)
{
    char *p = buf;
    while (len > 0) {
        int left = (int)(deadline - fixture_now_ms());
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return -1;
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fixture_read_reply(int fd, char *payload, size_t psz, size_t *plen, unsigned timeout_ms)
{
    unsigned char hdr[2];
    char buf[1024];
    double deadline = fixture_now_ms() + timeout_ms;
    size_t n;

    if (read_full(fd, hdr, 2, deadline) != 0)
        return -1;
    n = ((size_t)hdr[0] << 8) | hdr[1];
    if (n > sizeof(buf) || read_full(fd, buf, n, deadline) != 0)
        return -1;
    if (payload != NULL && psz > 0) {
        size_t c = n < psz - 1 ? n : psz - 1;
        memcpy(payload, buf, c);
        payload[c] = '\0';
    }
    if (plen != NULL)
        *plen = n;
    return 0;
}

int fixture_ask_raw(const char *sock, const char *const field[PROTO_NFIELDS],
                    const size_t flen[PROTO_NFIELDS], char *payload, size_t psz)
{
    static const size_t bufsz = 4 * (2 + 65535);
    unsigned char *req = malloc(bufsz);
    char pl[1024];
    size_t n, plen;
    int fd = -1, rc = -1;

    if (req == NULL || (n = proto_request_build(field, flen, req, bufsz)) == 0)
        goto out;
    if ((fd = fixture_connect(sock)) < 0)
        goto out;
    /* A refused over-long request may be answered (and closed) before
     * it is all written: a failed write is not a failure here. */
    (void)fixture_write_all(fd, req, n);
    if (fixture_read_reply(fd, pl, sizeof(pl), &plen, 30000) != 0)
        goto out;
    rc = proto_reply_classify(pl, plen);
    if (payload != NULL && psz > 0)
        snprintf(payload, psz, "%s", pl);
out:
    if (fd >= 0)
        close(fd);
    free(req);
    return rc;
}

int fixture_ask(const char *sock, const char *login, const char *password, const char *service,
                const char *realm, char *payload, size_t psz)
{
    const char *f[PROTO_NFIELDS] = {login, password, service, realm};
    size_t l[PROTO_NFIELDS];

    for (unsigned i = 0; i < PROTO_NFIELDS; i++)
        l[i] = strlen(f[i]);
    return fixture_ask_raw(sock, f, l, payload, psz);
}
