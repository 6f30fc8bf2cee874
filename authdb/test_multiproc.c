/*
 * test_multiproc.c - the store shared by processes, as on a mail server:
 *  - reader processes while a writer commits: every commit the writer has
 *    acknowledged is visible to every reader at once, no read ever fails;
 *  - map growth (from a 1 MiB map) while reader processes look up: no wrong
 *    answer, no error;
 *  - kill -9 of a writer in the middle of committing, many times: no
 *    acknowledged commit lost, no torn record, the store opens clean and
 *    authdb_check passes every time;
 *  - a read-only open while another process holds every reader slot: the
 *    open succeeds, lookups fail temporarily while the slots are held and
 *    work once they are free, with the store's path gone meanwhile (as for
 *    smtpd, which opens before its chroot).
 * Figures (iterations, commits, lookups) are printed.
 */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tu.h"

#define HASH                                                                                       \
    "$6$bulksalt$IeYz13FXn3NVd61rhZYT3PhvCNapezIwwzLHxxJa69gXNo4RWI9cyxYxNEUeYS1QGtQ3SR09q8owXfK"  \
    "sml3Si0"

struct shared {
    volatile unsigned acked; /* commits the writer saw succeed */
    volatile int stop;
    volatile unsigned long lookups, errors, wrong;
    volatile size_t mapsize; /* the writer's map after its last commit */
};

static struct shared *shm_new(void)
{
    void *p = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 0, sizeof(struct shared));
    return p;
}

struct one_user {
    unsigned i;
    const authdb_secrets *s;
};

static int put_one(authdb_txn *txn, void *arg)
{
    struct one_user *o = arg;
    char login[64];
    snprintf(login, sizeof(login), "user%07u@bulk.test", o->i);
    return authdb_user_put(txn, login, (size_t)-1, o->s, AUTHDB_PUT_UPSERT);
}

/* Commit users from..to-1 one per transaction, acknowledging each. */
static int writer_loop(const char *dir, unsigned from, unsigned to, struct shared *sh, int ackfd)
{
    authdb *h;
    authdb_secrets *s;
    int rc = authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0);

    if (rc != AUTHDB_OK)
        return rc;
    authdb_secrets_from_hash(HASH, &s);
    for (unsigned i = from; i < to; i++) {
        struct one_user o = {i, s};
        rc = authdb_write(h, put_one, &o);
        if (rc != AUTHDB_OK)
            break;
        if (sh != NULL)
            sh->acked = i + 1;
        if (ackfd >= 0 && write(ackfd, &i, sizeof(i)) != sizeof(i))
            break;
    }
    if (sh != NULL) {
        authdb_stats st;
        if (authdb_get_stats(h, &st) == AUTHDB_OK)
            sh->mapsize = st.secrets_map_size;
    }
    authdb_secrets_free(s);
    authdb_close(h);
    return rc;
}

static void reader_loop(const char *dir, struct shared *sh, unsigned base)
{
    authdb *h;
    unsigned long n = 0, err = 0, wrong = 0;

    if (authdb_open(dir, AUTHDB_SECRETS, &h, NULL, 0) != AUTHDB_OK)
        _exit(2);
    while (!sh->stop) {
        unsigned acked = sh->acked;
        if (acked > base) {
            /* the newest acknowledged user and a random older one */
            unsigned pick[2] = {acked - 1, base + (unsigned)(rand() % (acked - base))};
            for (int k = 0; k < 2; k++) {
                int rc = tu_lookup_bulk(h, pick[k]);
                n++;
                if (rc == AUTHDB_NOTFOUND)
                    wrong++;
                else if (rc != AUTHDB_OK)
                    err++;
            }
        }
        /* a login that was never written must stay unknown */
        if (tu_lookup_bulk(h, 9999999) != AUTHDB_NOTFOUND)
            wrong++;
        n++;
    }
    __sync_fetch_and_add(&sh->lookups, n);
    __sync_fetch_and_add(&sh->errors, err);
    __sync_fetch_and_add(&sh->wrong, wrong);
    authdb_close(h);
    _exit(0);
}

static void run_readers_writer(const char *dir, unsigned nreaders, unsigned base, unsigned count)
{
    struct shared *sh = shm_new();
    pid_t readers[32];
    int st;

    sh->acked = base;
    for (unsigned r = 0; r < nreaders; r++) {
        readers[r] = fork();
        assert_true(readers[r] >= 0);
        if (readers[r] == 0) {
            srand(getpid());
            reader_loop(dir, sh, base);
        }
    }
    assert_int_equal(writer_loop(dir, base, base + count, sh, -1), AUTHDB_OK);
    sh->stop = 1;
    for (unsigned r = 0; r < nreaders; r++) {
        assert_int_equal(waitpid(readers[r], &st, 0), readers[r]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    printf("# %u reader processes, %u commits: %lu lookups, %lu errors, %lu wrong answers\n",
           nreaders, count, sh->lookups, sh->errors, sh->wrong);
    assert_true(sh->lookups > count);
    assert_int_equal(sh->errors, 0);
    assert_int_equal(sh->wrong, 0);
    munmap(sh, sizeof(*sh));
}

static void test_readers_during_commits(void **state)
{
    (void)state;
    char dir[256];

    tu_new_store(dir, sizeof(dir), NULL);
    run_readers_writer(dir, 4, 0, 2000);
}

static void test_growth_under_readers(void **state)
{
    (void)state;
    char dir[256];
    authdb_create_opts o = {(gid_t)-1, (gid_t)-1, 1 << 20, NULL};
    authdb *h;
    authdb_stats st;

    tu_tmpdir(dir, sizeof(dir));
    strcat(dir, "/s");
    assert_int_equal(authdb_create(dir, &o, NULL, 0), AUTHDB_OK);
    /* 1 MiB holds about 3,000 users: 12,000 single commits force growth
     * several times while 8 readers look up */
    run_readers_writer(dir, 8, 0, 12000);
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_get_stats(h, &st), AUTHDB_OK);
    printf("# map grew from 1 MiB to %zu MiB\n", st.secrets_map_size >> 20);
    assert_true(st.secrets_map_size >= (4u << 20));
    authdb_close(h);
}

/* Threads of one process sharing one handle (the milter's and authd's
 * pools) while another process grows the map under them: each thread's
 * MDB_MAP_RESIZED must be handled without a txn of another thread open. */
struct thr {
    authdb *h;
    struct shared *sh;
    unsigned long n, err, wrong;
};

static void *thr_loop(void *arg)
{
    struct thr *t = arg;
    unsigned seed = (unsigned)(uintptr_t)arg;

    while (!t->sh->stop) {
        unsigned acked = t->sh->acked;
        if (acked > 0) {
            int rc = tu_lookup_bulk(t->h, (unsigned)rand_r(&seed) % acked);
            t->n++;
            if (rc == AUTHDB_NOTFOUND)
                t->wrong++;
            else if (rc != AUTHDB_OK)
                t->err++;
        }
    }
    return NULL;
}

static void test_growth_under_threads(void **state)
{
    (void)state;
    char dir[256];
    authdb_create_opts o = {(gid_t)-1, (gid_t)-1, 1 << 20, NULL};
    struct shared *sh = shm_new();
    struct thr t[8];
    pthread_t tid[8];
    unsigned long n = 0, err = 0, wrong = 0;
    pid_t pid;
    int st;

    tu_tmpdir(dir, sizeof(dir));
    strcat(dir, "/s");
    assert_int_equal(authdb_create(dir, &o, NULL, 0), AUTHDB_OK);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(writer_loop(dir, 0, 10000, sh, -1) == AUTHDB_OK ? 0 : 1);
    authdb *h;
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &h, NULL, 0), AUTHDB_OK);
    for (int i = 0; i < 8; i++) {
        t[i] = (struct thr){h, sh, 0, 0, 0};
        assert_int_equal(pthread_create(&tid[i], NULL, thr_loop, &t[i]), 0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    sh->stop = 1;
    for (int i = 0; i < 8; i++) {
        pthread_join(tid[i], NULL);
        n += t[i].n;
        err += t[i].err;
        wrong += t[i].wrong;
    }
    printf("# 8 threads, one handle, map grown from 1 to %zu MiB by another process: %lu lookups, "
           "%lu errors, %lu wrong answers\n",
           sh->mapsize >> 20, n, err, wrong);
    assert_true(sh->mapsize > (1u << 20)); /* it grew under the threads */
    authdb_close(h);
    assert_true(n > 1000);
    assert_int_equal(err, 0);
    assert_int_equal(wrong, 0);
    munmap(sh, sizeof(*sh));
}

struct check_count {
    int problems;
    int pending_ok; /* right after the kill: the pending change may be reported */
    int pending;
};

/* Everything counts, but for the one warning a kill may cause until the
 * next writer: secrets (committed first) are ahead of policy. */
static void check_cb(enum authdb_check_severity sev, const char *msg, void *arg)
{
    struct check_count *c = arg;
    int pending = strstr(msg, "a change interrupted between the environments is pending") != NULL;

    print_error("check %s: %s\n", sev == AUTHDB_CHECK_ERROR ? "error" : "warning", msg);
    c->pending += pending;
    if (sev == AUTHDB_CHECK_ERROR || !pending || !c->pending_ok)
        c->problems++;
}

static void test_kill9_writer(void **state)
{
    (void)state;
    char dir[256];
    unsigned next = 0, total_acked = 0, iterations = 200, pending = 0;
    const char *env = getenv("AUTHGATE_KILL9_ROUNDS");

    if (env != NULL)
        iterations = (unsigned)atoi(env);
    tu_new_store(dir, sizeof(dir), NULL);
    srand((unsigned)time(NULL));
    for (unsigned it = 0; it < iterations; it++) {
        int fds[2], st;
        struct check_count before = {0, 1, 0}, after = {0, 0, 0};
        unsigned got, last = 0, acked = 0;
        pid_t pid;
        authdb *h;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            writer_loop(dir, next, next + 100000, NULL, fds[1]);
            _exit(0);
        }
        close(fds[1]);
        /* wait until it is committing, let it go on for 0..10 ms, then
         * kill it wherever it is */
        if (read(fds[0], &got, sizeof(got)) == sizeof(got)) {
            last = got;
            acked++;
        }
        struct timespec ts = {0, (rand() % 10000) * 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        while (read(fds[0], &got, sizeof(got)) == sizeof(got)) {
            last = got;
            acked++;
        }
        close(fds[0]);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        /* every acknowledged user is there, intact; the store checks clean */
        assert_int_equal(authdb_open(dir, AUTHDB_BOTH, &h, NULL, 0), AUTHDB_OK);
        for (unsigned i = next; acked > 0 && i <= last; i++) {
            int rc = tu_lookup_bulk(h, i);
            if (rc != AUTHDB_OK)
                fail_msg("round %u: acknowledged user %u: %s", it, i, authdb_strerror(rc));
        }
        assert_int_equal(authdb_check(h, check_cb, &before), AUTHDB_OK);
        assert_int_equal(before.problems, 0);
        pending += before.pending;
        /* a write open completes a change cut between the environments:
         * then nothing at all is reported */
        authdb *w;
        assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &w, NULL, 0), AUTHDB_OK);
        authdb_close(w);
        assert_int_equal(authdb_check(h, check_cb, &after), AUTHDB_OK);
        assert_int_equal(after.problems, 0);
        authdb_close(h);
        if (acked > 0)
            next = last + 1;
        /* a commit in flight at the kill may or may not have landed */
        total_acked += acked;
    }
    printf("# kill -9 of a committing writer: %u rounds, %u acknowledged commits, 0 lost, %u "
           "killed between the environments (completed by the next write open)\n",
           iterations, total_acked, pending);
    assert_true(total_acked >= iterations); /* every round killed a committing writer */
}

/* ------------------------------------------------- reader table full */

#define HOLD_MAX 4096 /* more txns than any reader table has slots */

/* Child: open dir (both environments, read-only), begin read txns until
 * the tables are full, write how many it got to fd, hold them until in
 * reaches end of file, then end them and exit. */
static void holder(const char *dir, int fd, int in)
{
    static authdb_txn *t[HOLD_MAX];
    authdb *h;
    char c;
    int n = 0, rc = AUTHDB_OK;

    if (authdb_open(dir, AUTHDB_BOTH, &h, NULL, 0) != AUTHDB_OK)
        _exit(2);
    while (n < HOLD_MAX && (rc = authdb_read_begin(h, AUTHDB_BOTH, &t[n])) == AUTHDB_OK)
        n++;
    if (rc != MDB_READERS_FULL)
        n = -rc;
    if (write(fd, &n, sizeof(n)) != sizeof(n))
        _exit(3);
    while (read(in, &c, 1) > 0)
        ;
    for (int i = 0; i < n; i++)
        authdb_txn_end(t[i]);
    authdb_close(h);
    _exit(0);
}

/* The regression of issue 7's reliability run: a Postfix smtpd started
 * while the secrets table was full of live readers had its plugin's open
 * (at sasl_server_init, before the chroot) fail with MDB_READERS_FULL;
 * the retry after the chroot could not find the store, so that smtpd
 * answered 454 to every AUTH for its whole life, long after the readers
 * had gone.  Now the open keeps the environments and the first read txn
 * with a free slot finishes it. */
static void test_open_while_readers_full(void **state)
{
    (void)state;
    char tmp[256], dir[300], moved[300], senders[256];
    int up[2], down[2], held = 0, st;
    authdb *h, *r = NULL;
    authdb_secrets *s = NULL;
    pid_t pid;
    int rc;

    tu_tmpdir(tmp, sizeof(tmp));
    snprintf(dir, sizeof(dir), "%s/store", tmp);
    snprintf(moved, sizeof(moved), "%s/moved", tmp);
    assert_int_equal(authdb_create(dir, NULL, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_user(h, "hank@example.org", "pw", AUTHDB_PUT_CREATE), AUTHDB_OK);
    authdb_close(h);

    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        holder(dir, up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    assert_int_equal(read(up[0], &held, sizeof(held)), sizeof(held));
    close(up[0]);
    printf("# a reader process holds %d read transactions in both environments\n", held);
    assert_true(held >= 126); /* LMDB's default; the store's is larger */

    /* The open succeeds although no slot is free... */
    rc = authdb_open(dir, AUTHDB_BOTH, &r, NULL, 0);
    if (rc != AUTHDB_OK)
        fail_msg("open with the reader tables full: got %s, want success", authdb_strerror(rc));
    /* ...and needs the path no more (smtpd chroots after opening). */
    assert_int_equal(rename(dir, moved), 0);
    rc = authdb_secrets_lookup(r, "hank@example.org", 16, &s);
    if (!authdb_is_tempfail(rc))
        fail_msg("lookup with the table full: got %s, want a temporary failure",
                 authdb_strerror(rc));
    assert_null(s);
    rc = tu_senders(r, "hank@example.org", senders, sizeof(senders));
    if (!authdb_is_tempfail(rc))
        fail_msg("policy query with the table full: got %s, want a temporary failure",
                 authdb_strerror(rc));

    /* The readers end: the same handle works, no reopen. */
    close(down[1]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    rc = authdb_verify_password(r, "hank@example.org", 16, "pw", 2);
    if (rc != AUTHDB_OK)
        fail_msg("verify after the readers ended: got %s, want success", authdb_strerror(rc));
    assert_int_equal(authdb_verify_password(r, "hank@example.org", 16, "no", 2), AUTHDB_EMISMATCH);
    assert_int_equal(authdb_secrets_lookup(r, "nobody@example.org", 18, &s), AUTHDB_NOTFOUND);
    assert_int_equal(tu_senders(r, "hank@example.org", senders, sizeof(senders)), AUTHDB_OK);
    authdb_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_during_commits),  cmocka_unit_test(test_growth_under_readers),
        cmocka_unit_test(test_growth_under_threads),    cmocka_unit_test(test_kill9_writer),
        cmocka_unit_test(test_open_while_readers_full),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
