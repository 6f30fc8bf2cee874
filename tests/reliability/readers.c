/*
 * readers.c - rl-readers: fill a store's LMDB reader tables with processes
 * that each hold a read transaction, then either kill them all with
 * SIGKILL (stale slots: the owner died without releasing) or keep them
 * until told to let go (a table full of live readers).
 *
 * usage: rl-readers STORE N stale|hold [both|secrets|policy]
 *
 * Forks N children; each opens the store (the environments named, both by
 * default, read-only) and begins a read transaction on them, then reports
 * and waits.  A child
 * that cannot (MDB_READERS_FULL once the table is full) reports the error
 * and exits.  Then:
 *   stale  every child is killed with SIGKILL and reaped: their slots stay
 *          taken by dead pids until a reader clears them;
 *   hold   prints "holding" and waits for standard input to close, then
 *          sends SIGTERM: each child ends its transaction, closes the
 *          store and exits (its slots released), and all are reaped.
 * Output: "readers: N children, K holding a read transaction, E failed
 * (first error: ...)", then "holding" (hold) or "killed K" (stale), then
 * "released" (hold).  Exit 0, 1 when no child could hold a transaction,
 * 2 on a usage error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authdb.h"

struct msg {
    int ok;
    char why[200];
};

static void on_term(int sig)
{
    (void)sig;
}

static void child(const char *store, unsigned envs, int fd)
{
    struct msg m = {0, ""};
    authdb *h = NULL;
    authdb_txn *t = NULL;
    char why[AUTHDB_WHY_MAX];
    struct sigaction sa;
    sigset_t set, old;
    int rc;

    /* Block SIGTERM until the wait, so a release cannot be missed. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &old);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    rc = authdb_open(store, envs, &h, why, sizeof(why));
    if (rc == AUTHDB_OK)
        rc = authdb_read_begin(h, envs, &t);
    else
        snprintf(m.why, sizeof(m.why), "%.190s", why);
    if (rc == AUTHDB_OK)
        m.ok = 1;
    else if (m.why[0] == '\0')
        snprintf(m.why, sizeof(m.why), "%s", authdb_strerror(rc));
    if (write(fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
        _exit(3);
    close(fd);
    if (m.ok)
        sigsuspend(&old);
    authdb_txn_end(t);
    authdb_close(h);
    _exit(m.ok ? 0 : 1);
}

int main(int argc, char **argv)
{
    int p[2], hold, rc = 2;
    unsigned envs = AUTHDB_BOTH;
    unsigned long n, held = 0, failed = 0;
    pid_t *pids = NULL;
    char first[200] = "";
    struct msg m;

    if (argc == 5 && strcmp(argv[4], "secrets") == 0)
        envs = AUTHDB_SECRETS;
    else if (argc == 5 && strcmp(argv[4], "policy") == 0)
        envs = AUTHDB_POLICY;
    else if (argc == 5 && strcmp(argv[4], "both") != 0)
        argc = 0;
    if ((argc != 4 && argc != 5) ||
        (strcmp(argv[3], "stale") != 0 && strcmp(argv[3], "hold") != 0)) {
        fprintf(stderr, "usage: rl-readers STORE N stale|hold [both|secrets|policy]\n");
        return 2;
    }
    n = strtoul(argv[2], NULL, 10);
    hold = strcmp(argv[3], "hold") == 0;
    if (n == 0 || (pids = calloc(n, sizeof(*pids))) == NULL || pipe(p) != 0)
        goto out;
    for (unsigned long i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(p[0]);
            child(argv[1], envs, p[1]);
        }
        if (pids[i] < 0) {
            fprintf(stderr, "rl-readers: fork: %s\n", strerror(errno));
            n = i;
            break;
        }
    }
    close(p[1]);
    for (unsigned long i = 0; i < n; i++) {
        if (read(p[0], &m, sizeof(m)) != (ssize_t)sizeof(m))
            break;
        if (m.ok) {
            held++;
        } else {
            failed++;
            if (first[0] == '\0')
                snprintf(first, sizeof(first), "%s", m.why);
        }
    }
    printf("readers: %lu children, %lu holding a read transaction, %lu failed (first error: %s)\n",
           n, held, failed, first[0] ? first : "none");
    fflush(stdout);
    if (hold) {
        char buf[64];
        printf("holding\n");
        fflush(stdout);
        while (read(0, buf, sizeof(buf)) > 0)
            ;
        for (unsigned long i = 0; i < n; i++)
            kill(pids[i], SIGTERM);
    } else {
        for (unsigned long i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
    }
    for (unsigned long i = 0; i < n; i++)
        while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
            ;
    printf(hold ? "released\n" : "killed %lu\n", held);
    rc = held > 0 ? 0 : 1;
out:
    free(pids);
    return rc;
}
