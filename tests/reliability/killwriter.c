/*
 * killwriter.c - rl-kill-writer: kill -9 authgatectl while it changes the
 * store, round after round, and prove after every round that nothing
 * acknowledged was lost, nothing is half-written, and the store checks
 * clean.  Lookups through the plugin and the milter run beside it (started
 * by test-kill-writer.sh); this program is the writer and the judge.
 *
 * usage: rl-kill-writer [-n ROUNDS] [-r SEED] [-p CRASHPOINT_SO] AUTHGATECTL
 *                       STORE WORKDIR
 *
 * The store must exist (authgatectl init, mechanisms "SCRAM-SHA-256
 * CRAM-MD5 PLAIN").  Every round runs one authgatectl command in a child
 * and kills it with SIGKILL in one of two ways:
 *   timed   after a random delay between 0 and 1.3 times the mean run time
 *           of that command so far: most kills land while it hashes or
 *           parses, some after it finished;
 *   commit  (with -p rl-crashpoint.so, every other round once the command
 *           has run to the end once) at a random one of the writes and
 *           syncs of LMDB's commit, before or after it (crashpoint.c):
 *           between page writes, around fdatasync, around the meta page.
 *   between (with -p, a quarter of the rounds of the commands that
 *           change both environments: add, del, import) right between the
 *           commits of the two environments (before the first write to
 *           policy/ that follows one to secrets/): every such kill must be
 *           completed by the next writer.
 * The commands, on logins of the domain churn.test:
 *   add     user add wN --password-stdin          (new login, new password)
 *   passwd  user passwd wK --password-stdin       (a present login)
 *   allow   sender allow wK aN@churn.test
 *   del     user del wK                           (secrets and rules)
 *   import  import dovecot FILE                   (50 logins, one transaction)
 * A command that exited 0 is acknowledged: its change must be in the store.
 * A killed one may have happened or not, but entirely: the round records
 * what the store shows (old or new state) and anything else is an error.
 * A kill between the meta page write and the end of the commit leaves
 * readers on the previous transaction until the next writer starts (LMDB
 * announces a commit in the lock file after writing its meta page; the
 * next writer's mutex recovery announces it): the round therefore looks
 * again after an empty write and counts such changes as "deferred".
 * A command that changes both environments commits secrets first, with a
 * journal of its policy changes, then policy (see authdb_write).  Right
 * after a kill between the two, readers may see secrets ahead of policy
 * (authdb_check must then warn, never fail); the empty write (a write
 * open) must complete it: counted as "rolled-forward" (the library logs
 * it), and from then on any partial state is an error: a login present
 * in secrets but not noted in policy or the other way round, a deleted
 * login whose rules remain, an import half noted.
 *
 * After each round: "authgatectl --store STORE check" must exit 0, then the
 * store is opened read-only (a fresh handle) and compared with the ledger:
 * every login present or absent as recorded, with every secret kind the
 * mechanisms setting derives (a torn record would lack some or fail to
 * decode), every recorded rule deciding as recorded; the login the round
 * touched is verified with its password.  At the end every present login's
 * password is verified.
 *
 * Output: a line per 50 rounds, then
 *   kill-writer: rounds R killed K (timed KT, at a commit point KC)
 *   completed C unacked-applied A (deferred D) unacked-not-applied U
 *   rolled-forward RF (between the commits B, aimed AB) lost L torn T
 *   check-failures F mixed M
 *   and the commands by kind with their mean run time and number of
 *   commit points.
 * Exit 0 when L, T, F and M are all 0; 1 otherwise; 2 on a setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authdb.h"
#include "rlutil.h"

#define KW_LOGINS_MAX 4096
#define KW_RULES_MAX  8192
#define KW_IMPORT_N   50
#define KW_BETWEEN    ((unsigned long)-1) /* crash_at: between the environments */

/* A precomputed sha512-crypt hash of "import-pw-1" (imports store it as
 * it is; making one per login would only slow the test). */
#define KW_IMPORT_HASH                                                                             \
    "$6$rlkillwriter$DS9jrss8CCRliTArSr/HE1tQas8krQ0WuI8pYWoJdhAW6OvCQdFY04uTNfFZheVZ9/"           \
    "SgpuH8rGJ3n/"                                                                                 \
    "SmOCXIw."

enum kw_op { OP_ADD, OP_PASSWD, OP_ALLOW, OP_DEL, OP_IMPORT, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"add", "passwd", "allow", "del", "import"};

struct kw_login {
    char name[64];
    char pw[48];
    int present;
    int imported; /* hash only */
};

struct kw_rule {
    int login; /* index */
    char addr[64];
    int present;
};

struct kw {
    const char *ctl, *store, *work, *shim;
    unsigned long points[OP_COUNT]; /* counted writes+syncs of a whole run */
    unsigned long killed_timed, killed_commit;
    struct kw_login *l;
    size_t nl;
    struct kw_rule *r;
    size_t nr;
    uint64_t rnd;
    double mean_us[OP_COUNT];
    unsigned long ran[OP_COUNT];
    unsigned long killed, completed, applied, not_applied, deferred;
    unsigned long rolled, between, aimed;
    unsigned long lost, torn, check_fail, mixed;
    unsigned hash_kinds; /* kinds every derived login has */
};

/* ----------------------------------------------------------------- run */

/* Run ctl with argv, password (or NULL) on stdin, stdout+stderr to log.
 * kill_after_us < 0: never kill.  crash_at > 0: the shim kills it at that
 * commit point (crash_after: after the call), KW_BETWEEN between the two
 * environments' commits.  Returns the wait status; *us the time it ran. */
static int kw_run(struct kw *k, char *const argv[], const char *input, int64_t kill_after_us,
                  unsigned long crash_at, int crash_after, int64_t *us)
{
    int in[2], status = 0, logfd;
    char logpath[4096], countpath[4096], hitpath[4096], at[32];
    pid_t pid;
    int64_t t0;

    snprintf(logpath, sizeof(logpath), "%s/ctl.log", k->work);
    snprintf(countpath, sizeof(countpath), "%s/points", k->work);
    snprintf(hitpath, sizeof(hitpath), "%s/hit", k->work);
    unlink(countpath);
    unlink(hitpath);
    if (pipe(in) != 0)
        return -1;
    logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    t0 = rl_now_us();
    pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        if (logfd >= 0) {
            dup2(logfd, 1);
            dup2(logfd, 2);
        }
        close(in[0]);
        close(in[1]);
        if (k->shim != NULL) {
            setenv("LD_PRELOAD", k->shim, 1);
            setenv("RL_CRASH_COUNT", countpath, 1);
            setenv("RL_CRASH_HIT", hitpath, 1);
            if (crash_at == KW_BETWEEN) {
                setenv("RL_CRASH_AT", "between", 1);
            } else if (crash_at > 0) {
                snprintf(at, sizeof(at), "%lu", crash_at);
                setenv("RL_CRASH_AT", at, 1);
                setenv("RL_CRASH_WHEN", crash_after ? "after" : "before", 1);
            }
        }
        execv(k->ctl, argv);
        _exit(127);
    }
    close(in[0]);
    if (logfd >= 0)
        close(logfd);
    if (input != NULL && write(in[1], input, strlen(input)) < 0) {
        /* the child may already be dead: its status tells */
    }
    close(in[1]);
    if (pid < 0)
        return -1;
    if (kill_after_us >= 0) {
        int64_t end = t0 + kill_after_us;
        for (;;) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid)
                goto done;
            int64_t left = end - rl_now_us();
            if (left <= 0)
                break;
            rl_sleep_us(left < 200 ? left : 200);
        }
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
done:
    *us = rl_now_us() - t0;
    return status;
}

/* ------------------------------------------------------------- ledger */

static int kw_pick_present(struct kw *k)
{
    size_t n = 0;

    for (size_t i = 0; i < k->nl; i++)
        if (k->l[i].present && !k->l[i].imported)
            n++;
    if (n == 0)
        return -1;
    n = rl_rand(&k->rnd) % n;
    for (size_t i = 0; i < k->nl; i++)
        if (k->l[i].present && !k->l[i].imported && n-- == 0)
            return (int)i;
    return -1;
}

/* What the store holds for one login: -1 error (printed), 0 absent, 1
 * present with complete secrets. */
static int kw_probe(struct kw *k, authdb *h, const struct kw_login *l)
{
    authdb_user u;
    int rc = authdb_user_get(h, NULL, l->name, strlen(l->name), &u);
    unsigned want = l->imported ? (1u << AUTHDB_SECRET_HASH) : k->hash_kinds;

    if (rc == AUTHDB_NOTFOUND)
        return 0;
    if (rc != AUTHDB_OK) {
        printf("kill-writer: %s: user_get: %s\n", l->name, authdb_strerror(rc));
        k->torn++;
        return -1;
    }
    if ((u.kinds & want) != want) {
        printf("kill-writer: %s: secret kinds 0x%x, want 0x%x (torn record)\n", l->name, u.kinds,
               want);
        k->torn++;
        return -1;
    }
    return 1;
}

static int kw_pw_ok(authdb *h, const struct kw_login *l, const char *pw)
{
    return authdb_verify_password(h, l->name, strlen(l->name), pw, strlen(pw));
}

static int kw_rule_state(authdb *h, const struct kw *k, const struct kw_rule *r)
{
    authdb_verdict v;
    const char *why = NULL;
    const char *login = k->l[r->login].name;
    int rc = authdb_sender_check(h, NULL, login, strlen(login), r->addr, strlen(r->addr), &v, &why);

    if (rc != AUTHDB_OK)
        return -1;
    return v.allowed;
}

static int kw_noted_cb(const char *login, void *arg)
{
    const char *want = ((const char **)arg)[0];
    if (strcmp(login, want) == 0)
        ((const char **)arg)[1] = "yes";
    return AUTHDB_OK;
}

/* Is the login noted in the policy environment (listed as the user of its
 * own address)?  1, 0, -1 on error. */
static int kw_noted(authdb *h, const struct kw_login *l)
{
    const char *arg[2] = {l->name, NULL}, *why = NULL;
    int rc = authdb_senders_for(h, NULL, l->name, strlen(l->name), kw_noted_cb, arg, &why);

    if (rc != AUTHDB_OK && rc != AUTHDB_NOTFOUND)
        return -1;
    return arg[1] != NULL;
}

/* ------------------------------------------------------------- rounds */

static int kw_check_store(struct kw *k)
{
    char *argv[] = {(char *)k->ctl, "--store", (char *)k->store, "check", NULL};
    int64_t us;
    int st = kw_run(k, argv, NULL, -1, 0, 0, &us);

    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("kill-writer: authgatectl check: status 0x%x (see %s/ctl.log)\n", st, k->work);
        k->check_fail++;
        return -1;
    }
    return 0;
}

/* Compare every login and rule with the ledger.  touched: the login of
 * this round (password verified), or -1. */
static int kw_verify(struct kw *k, int touched, const char *oldpw)
{
    authdb *h = NULL;
    char why[AUTHDB_WHY_MAX * 2];
    int rc = authdb_open(k->store, AUTHDB_BOTH, &h, why, sizeof(why)), bad = 0;

    if (rc != AUTHDB_OK) {
        printf("kill-writer: open: %s\n", why);
        k->check_fail++;
        return -1;
    }
    for (size_t i = 0; i < k->nl; i++) {
        int p = kw_probe(k, h, &k->l[i]);
        if (p < 0) {
            bad = 1;
        } else if (p != k->l[i].present) {
            printf("kill-writer: %s: %s in the store, the ledger says %s\n", k->l[i].name,
                   p ? "present" : "absent", k->l[i].present ? "present" : "absent");
            k->lost++;
            bad = 1;
        } else if (kw_noted(h, &k->l[i]) != p) {
            printf("kill-writer: %s: %s in secrets but %s in policy (half a change)\n",
                   k->l[i].name, p ? "present" : "absent", p ? "not noted" : "still noted");
            k->torn++;
            bad = 1;
        }
    }
    for (size_t i = 0; i < k->nr; i++) {
        int s = kw_rule_state(h, k, &k->r[i]);
        int want = k->r[i].present && k->l[k->r[i].login].present;
        if (s < 0 || s != want) {
            printf("kill-writer: rule %s -> %s: %d, want %d\n", k->l[k->r[i].login].name,
                   k->r[i].addr, s, want);
            k->lost++;
            bad = 1;
        }
    }
    if (touched >= 0 && k->l[touched].present) {
        rc = kw_pw_ok(h, &k->l[touched], k->l[touched].pw);
        if (rc != AUTHDB_OK && oldpw != NULL && kw_pw_ok(h, &k->l[touched], oldpw) == AUTHDB_OK) {
            printf("kill-writer: %s: the old password still works, the new does not\n",
                   k->l[touched].name);
            k->lost++;
            bad = 1;
        } else if (rc != AUTHDB_OK) {
            printf("kill-writer: %s: password: %s\n", k->l[touched].name, authdb_strerror(rc));
            k->torn++;
            bad = 1;
        }
    }
    authdb_close(h);
    return bad ? -1 : 0;
}

/* Is the killed command's change visible through h?  1 new state, 0 old
 * state, -1 neither, or part of it (printed when report).  Both
 * environments count: a login is present when it has secrets and its
 * policy note. */
static int kw_state(struct kw *k, authdb *h, enum kw_op op, int li, size_t first_new,
                    const char *oldpw, int rule, int report)
{
    int applied = -1;

    switch (op) {
    case OP_ADD:
        applied = kw_probe(k, h, &k->l[li]);
        if (applied >= 0 && kw_noted(h, &k->l[li]) != applied) {
            if (report)
                printf("kill-writer: add killed: %s %s in secrets, %s in policy\n", k->l[li].name,
                       applied ? "present" : "absent", applied ? "not noted" : "noted");
            applied = -1;
        }
        break;
    case OP_PASSWD:
        if (kw_pw_ok(h, &k->l[li], k->l[li].pw) == AUTHDB_OK)
            applied = 1;
        else if (kw_pw_ok(h, &k->l[li], oldpw) == AUTHDB_OK)
            applied = 0;
        break;
    case OP_ALLOW:
        applied = kw_rule_state(h, k, &k->r[rule]);
        break;
    case OP_DEL: {
        /* All of it (no secrets, no note, no rule) or nothing. */
        int rules = 0, gone = 0, present = kw_probe(k, h, &k->l[li]);
        int noted = kw_noted(h, &k->l[li]);
        for (size_t i = 0; i < k->nr; i++) {
            if (k->r[i].login != li || !k->r[i].present)
                continue;
            rules++;
            if (kw_rule_state(h, k, &k->r[i]) == 0)
                gone++;
        }
        if (present == 1 && noted == 1 && gone == 0)
            applied = 0;
        else if (present == 0 && noted == 0 && gone == rules)
            applied = 1;
        else if (present >= 0 && report)
            printf("kill-writer: del killed: %s secrets %s, note %s, %d of %d rules gone\n",
                   k->l[li].name, present ? "present" : "absent", noted ? "present" : "absent",
                   gone, rules);
        break;
    }
    case OP_IMPORT: {
        size_t in = 0, noted = 0, n = k->nl - first_new;
        for (size_t i = first_new; i < k->nl; i++) {
            if (kw_probe(k, h, &k->l[i]) == 1)
                in++;
            if (kw_noted(h, &k->l[i]) == 1)
                noted++;
        }
        if (noted != in) {
            if (report)
                printf("kill-writer: import killed: %zu of %zu logins in secrets, %zu noted in "
                       "policy\n",
                       in, n, noted);
            applied = -1;
        } else if (in != 0 && in != n) {
            if (report)
                printf("kill-writer: import killed: %zu of %zu logins present (not atomic)\n", in,
                       n);
            applied = -1;
        } else {
            applied = in == n;
        }
        break;
    }
    default:
        break;
    }
    if (applied < 0 && report)
        printf("kill-writer: %s killed: neither the old nor the new state\n", op_names[op]);
    return applied;
}

static int kw_noop(authdb_txn *txn, void *arg)
{
    (void)txn;
    (void)arg;
    return AUTHDB_OK;
}

struct kw_check {
    int errors, pending;
};

static void kw_check_cb(enum authdb_check_severity sev, const char *msg, void *arg)
{
    struct kw_check *c = arg;

    if (strstr(msg, "a change interrupted between the environments is pending") != NULL)
        c->pending = 1;
    if (sev == AUTHDB_CHECK_ERROR) {
        printf("kill-writer: check right after the kill: %s\n", msg);
        c->errors++;
    }
}

/* The empty write of the next writer, its log lines (stderr) caught in
 * work/settle.log: 1 when the library completed an interrupted change. */
static int kw_next_writer(struct kw *k, int *rolled)
{
    authdb *h = NULL;
    authdb_log lg;
    char why[AUTHDB_WHY_MAX * 2], path[4096], line[512];
    int rc, saved, fd;
    FILE *f;

    *rolled = 0;
    snprintf(path, sizeof(path), "%s/settle.log", k->work);
    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (saved < 0 || fd < 0)
        return errno;
    dup2(fd, 2);
    close(fd);
    authdb_log_init(&lg, "rl-kill-writer", 1, 0, 0);
    rc = authdb_open_log(k->store, AUTHDB_BOTH | AUTHDB_WRITE, &lg, &h, why, sizeof(why));
    if (rc == AUTHDB_OK)
        rc = authdb_write(h, kw_noop, NULL);
    authdb_close(h);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    if ((f = fopen(path, "r")) != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            if (strstr(line, "completed a change interrupted between the environments") != NULL)
                *rolled = 1;
        fclose(f);
    }
    return rc;
}

/* Record in the ledger what a command left in the store: applied 1 (all
 * of it: also every acknowledged command) or 0 (nothing). */
static void kw_record(struct kw *k, enum kw_op op, int li, size_t first_new, const char *oldpw,
                      int rule, int applied)
{
    switch (op) {
    case OP_ADD:
        k->l[li].present = applied;
        break;
    case OP_PASSWD:
        if (!applied)
            snprintf(k->l[li].pw, sizeof(k->l[li].pw), "%s", oldpw);
        break;
    case OP_ALLOW:
        k->r[rule].present = applied;
        break;
    case OP_DEL:
        k->l[li].present = !applied;
        if (applied)
            for (size_t i = 0; i < k->nr; i++)
                if (k->r[i].login == li)
                    k->r[i].present = 0;
        break;
    case OP_IMPORT:
        for (size_t i = first_new; i < k->nl; i++)
            k->l[i].present = applied;
        break;
    default:
        break;
    }
}

/* After a killed command: which state does the store show?  First as
 * readers see it right after the kill (authdb_check must not fail: a
 * change cut between the environments is a warning), then after the next
 * writer began (an empty write: LMDB's writer recovers the dead writer's
 * mutex and publishes a commit whose meta page was written but not yet
 * announced in the lock file, and authdb completes a change cut between
 * the environments).  The ledger takes the second, which must be the old
 * or the new state entirely; a difference is counted as "rolled-forward"
 * when authdb completed the change, else "deferred" (visible only from
 * the next write on).  in_policy: the shim killed it in the policy
 * environment's commit (secrets had committed); aimed: right before it,
 * so the next writer must complete it. */
static void kw_settle(struct kw *k, enum kw_op op, int li, size_t first_new, const char *oldpw,
                      int rule, int in_policy, int aimed)
{
    authdb *h = NULL;
    char why[AUTHDB_WHY_MAX * 2];
    struct kw_check ck = {0, 0};
    int pre = -1, applied = -1, rc, rolled = 0;

    if (authdb_open(k->store, AUTHDB_BOTH, &h, why, sizeof(why)) != AUTHDB_OK) {
        printf("kill-writer: open after kill: %s\n", why);
        k->check_fail++;
        return;
    }
    pre = kw_state(k, h, op, li, first_new, oldpw, rule, 0);
    rc = authdb_check(h, kw_check_cb, &ck);
    authdb_close(h);
    h = NULL;
    if (rc != AUTHDB_OK || ck.errors > 0) {
        printf("kill-writer: authdb_check right after the kill: %s\n", authdb_strerror(rc));
        k->check_fail++;
    }
    rc = kw_next_writer(k, &rolled);
    if (rc != AUTHDB_OK || authdb_open(k->store, AUTHDB_BOTH, &h, why, sizeof(why)) != AUTHDB_OK) {
        printf("kill-writer: the next writer after the kill: %s\n", authdb_strerror(rc));
        k->check_fail++;
        return;
    }
    applied = kw_state(k, h, op, li, first_new, oldpw, rule, 1);
    authdb_close(h);
    if (in_policy || rolled)
        k->between++;
    if (aimed && !rolled) {
        printf("kill-writer: %s killed between the environments: the next writer did not "
               "complete it\n",
               op_names[op]);
        k->mixed++;
        return;
    }
    if (applied < 0) {
        k->mixed++;
        return;
    }
    /* Secrets had committed: the new state it must be, whether the next
     * writer replayed the journal or found the policy commit the kill
     * left written but unannounced (deferred). */
    if ((rolled || ck.pending) && applied != 1) {
        printf("kill-writer: %s killed: secrets committed (%s), yet not the new state\n",
               op_names[op], rolled ? "completed from the journal" : "check saw it pending");
        k->mixed++;
        return;
    }
    if (rolled)
        k->rolled++;
    else if (pre != applied)
        k->deferred++;
    if (applied)
        k->applied++;
    else
        k->not_applied++;
    kw_record(k, op, li, first_new, oldpw, rule, applied);
}

/* The number of commit points of the command that just completed. */
static void kw_read_points(struct kw *k, enum kw_op op)
{
    char path[4096];
    unsigned long n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/points", k->work);
    if ((f = fopen(path, "r")) == NULL)
        return;
    if (fscanf(f, "%lu", &n) == 1 && n > 0)
        k->points[op] = n;
    fclose(f);
}

/* Did the shim kill the command in the policy environment's commit? */
static int kw_hit_policy(struct kw *k)
{
    char path[4096], c = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/hit", k->work);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    if (fread(&c, 1, 1, f) != 1)
        c = 0;
    fclose(f);
    return c == 'p';
}

/* argv[3] on: the authgatectl command words a b c [d] (d may be NULL),
 * then NULL. */
static void kw_words(char **argv, const char *a, const char *b, const char *c, const char *d)
{
    argv[3] = (char *)a;
    argv[4] = (char *)b;
    argv[5] = (char *)c;
    argv[6] = (char *)d;
    argv[7] = NULL;
}

static int kw_round(struct kw *k, unsigned long round)
{
    char pw[48], addr[64], path[4096], oldpw[48] = "";
    char *argv[12];
    char input[80];
    enum kw_op op = (enum kw_op)(rl_rand(&k->rnd) % OP_COUNT);
    int li = -1, rule = -1, st, crash_after = 0;
    unsigned long crash_at = 0;
    size_t first_new = k->nl;
    int64_t us, delay;

    if (op != OP_ADD && op != OP_IMPORT && (li = kw_pick_present(k)) < 0)
        op = OP_ADD;
    if (k->nl + KW_IMPORT_N >= KW_LOGINS_MAX || k->nr + 1 >= KW_RULES_MAX)
        op = OP_PASSWD;
    snprintf(pw, sizeof(pw), "pw-%lu-%08llx", round % 100000000,
             (unsigned long long)(rl_rand(&k->rnd) >> 32));
    snprintf(input, sizeof(input), "%s\n", pw);
    argv[0] = (char *)k->ctl;
    argv[1] = "--store";
    argv[2] = (char *)k->store;
    switch (op) {
    case OP_ADD:
        li = (int)k->nl++;
        snprintf(k->l[li].name, sizeof(k->l[li].name), "w%lu@churn.test", round);
        snprintf(k->l[li].pw, sizeof(k->l[li].pw), "%s", pw);
        k->l[li].present = 0;
        kw_words(argv, "user", "add", k->l[li].name, "--password-stdin");
        break;
    case OP_PASSWD:
        snprintf(oldpw, sizeof(oldpw), "%s", k->l[li].pw);
        snprintf(k->l[li].pw, sizeof(k->l[li].pw), "%s", pw);
        kw_words(argv, "user", "passwd", k->l[li].name, "--password-stdin");
        break;
    case OP_ALLOW:
        rule = (int)k->nr++;
        k->r[rule].login = li;
        snprintf(k->r[rule].addr, sizeof(k->r[rule].addr), "a%lu@churn.test", round);
        k->r[rule].present = 0;
        snprintf(addr, sizeof(addr), "%s", k->r[rule].addr);
        kw_words(argv, "sender", "allow", k->l[li].name, addr);
        input[0] = '\0';
        break;
    case OP_DEL:
        kw_words(argv, "user", "del", k->l[li].name, NULL);
        input[0] = '\0';
        break;
    case OP_IMPORT: {
        FILE *f;
        snprintf(path, sizeof(path), "%s/import-%lu", k->work, round);
        if ((f = fopen(path, "w")) == NULL)
            return -1;
        for (int i = 0; i < KW_IMPORT_N; i++) {
            struct kw_login *l = &k->l[k->nl++];
            snprintf(l->name, sizeof(l->name), "b%lu-%d@churn.test", round, i);
            snprintf(l->pw, sizeof(l->pw), "import-pw-1");
            l->present = 0;
            l->imported = 1;
            fprintf(f, "%s:{SHA512-CRYPT}%s\n", l->name, KW_IMPORT_HASH);
        }
        if (fclose(f) != 0)
            return -1;
        kw_words(argv, "import", "dovecot", path, NULL);
        input[0] = '\0';
        break;
    }
    default:
        return -1;
    }
    if (k->shim != NULL && (op == OP_ADD || op == OP_DEL || op == OP_IMPORT) &&
        rl_rand(&k->rnd) % 4 == 0) {
        crash_at = KW_BETWEEN;
        k->aimed++;
        delay = -1;
    } else if (k->shim != NULL && k->points[op] > 0 && rl_rand(&k->rnd) % 2 == 0) {
        crash_at = 1 + rl_rand(&k->rnd) % (k->points[op] + 1);
        crash_after = (int)(rl_rand(&k->rnd) % 2);
        delay = -1;
    } else {
        delay = (int64_t)((double)(rl_rand(&k->rnd) % 1000) / 1000.0 * 1.3 * k->mean_us[op]);
    }
    st = kw_run(k, argv, input[0] ? input : NULL, delay, crash_at, crash_after, &us);
    k->ran[op]++;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        /* acknowledged */
        k->mean_us[op] = k->mean_us[op] * 0.8 + (double)us * 0.2;
        k->completed++;
        kw_read_points(k, op);
        kw_record(k, op, li, first_new, oldpw, rule, 1);
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
        k->killed++;
        if (crash_at > 0)
            k->killed_commit++;
        else
            k->killed_timed++;
        kw_settle(k, op, li, first_new, oldpw, rule, crash_at > 0 && kw_hit_policy(k),
                  crash_at == KW_BETWEEN);
    } else {
        printf("kill-writer: round %lu: authgatectl %s: status 0x%x (see %s/ctl.log)\n", round,
               op_names[op], st, k->work);
        return -1;
    }
    if (kw_check_store(k) != 0)
        return -1;
    return kw_verify(k, op == OP_ADD || op == OP_PASSWD ? li : -1, op == OP_PASSWD ? oldpw : NULL);
}

static int kw_final(struct kw *k)
{
    authdb *h = NULL;
    char why[AUTHDB_WHY_MAX * 2];
    unsigned long verified = 0;
    int bad = 0;

    if (authdb_open(k->store, AUTHDB_SECRETS, &h, why, sizeof(why)) != AUTHDB_OK) {
        printf("kill-writer: final open: %s\n", why);
        return -1;
    }
    for (size_t i = 0; i < k->nl; i++) {
        if (!k->l[i].present || (k->l[i].imported && i % 10 != 0))
            continue;
        int rc = kw_pw_ok(h, &k->l[i], k->l[i].pw);
        verified++;
        if (rc != AUTHDB_OK) {
            printf("kill-writer: final: %s: %s\n", k->l[i].name, authdb_strerror(rc));
            k->lost++;
            bad = 1;
        }
    }
    printf("kill-writer: final: %lu passwords verified\n", verified);
    authdb_close(h);
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct kw k;
    unsigned long rounds = 200, r;
    int ch, rc = 2, failed = 0;

    memset(&k, 0, sizeof(k));
    k.rnd = (uint64_t)getpid() * 2654435761ULL;
    while ((ch = getopt(argc, argv, "n:r:p:")) != -1) {
        if (ch == 'n')
            rounds = strtoul(optarg, NULL, 10);
        else if (ch == 'p')
            k.shim = optarg;
        else if (ch == 'r')
            k.rnd = strtoull(optarg, NULL, 10);
        else
            goto usage;
    }
    if (argc - optind != 3)
        goto usage;
    k.ctl = argv[optind];
    k.store = argv[optind + 1];
    k.work = argv[optind + 2];
    k.l = calloc(KW_LOGINS_MAX, sizeof(*k.l));
    k.r = calloc(KW_RULES_MAX, sizeof(*k.r));
    if (k.l == NULL || k.r == NULL)
        goto out;
    k.hash_kinds = (1u << AUTHDB_SECRET_HASH) | (1u << AUTHDB_SECRET_SCRAM_SHA256) |
                   (1u << AUTHDB_SECRET_CRAM_MD5) | (1u << AUTHDB_SECRET_PLAIN);
    for (int i = 0; i < OP_COUNT; i++)
        k.mean_us[i] = 60000;
    printf("kill-writer: seed %llu, %lu rounds\n", (unsigned long long)k.rnd, rounds);
    for (r = 0; r < rounds; r++) {
        if (kw_round(&k, r) != 0) {
            failed = 1;
            printf("kill-writer: round %lu failed\n", r);
        }
        if ((r + 1) % 50 == 0)
            printf("kill-writer: %lu rounds: killed %lu completed %lu\n", r + 1, k.killed,
                   k.completed);
        fflush(stdout);
    }
    if (kw_final(&k) != 0)
        failed = 1;
    printf("kill-writer: rounds %lu killed %lu (timed %lu, at a commit point %lu) completed %lu "
           "unacked-applied %lu (deferred %lu) unacked-not-applied %lu rolled-forward %lu (between "
           "the commits %lu, aimed %lu) lost %lu torn %lu check-failures %lu mixed %lu\n",
           rounds, k.killed, k.killed_timed, k.killed_commit, k.completed, k.applied, k.deferred,
           k.not_applied, k.rolled, k.between, k.aimed, k.lost, k.torn, k.check_fail, k.mixed);
    printf("kill-writer: commands");
    for (int i = 0; i < OP_COUNT; i++)
        printf(" %s %lu (mean %.1f ms, %lu commit points)", op_names[i], k.ran[i],
               k.mean_us[i] / 1000.0, k.points[i]);
    printf("\n");
    rc = failed || k.lost || k.torn || k.check_fail || k.mixed ? 1 : 0;
    goto out;
usage:
    fprintf(stderr, "usage: rl-kill-writer [-n ROUNDS] [-r SEED] [-p CRASHPOINT_SO] AUTHGATECTL "
                    "STORE WORKDIR\n");
out:
    free(k.l);
    free(k.r);
    return rc;
}
