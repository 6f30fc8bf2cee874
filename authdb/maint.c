/*
 * maint.c - backup, statistics and consistency checks of a store.
 *
 * Interface: authdb_backup, authdb_get_stats, authdb_check.
 *
 * Backup: mdb_env_copyfd2(MDB_CP_COMPACT) into files this module creates
 * with explicit modes (mdb_env_copy2 would create them 0666 & ~umask).
 * With a writable handle both copies run while this process holds the
 * write lock of both environments, so the two halves match each other;
 * readers are never blocked.  A read-only handle copies each environment
 * consistently on its own.
 * Check: reports through a callback, one sentence per problem, and returns
 * AUTHDB_ECORRUPT when any problem is an error.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authdb_private.h"

struct backup_ctx {
    const char *dest;
    char *why;
    size_t whylen;
};

static int copy_env(authdb_txn *txn, int which, const char *dest, char *why, size_t whylen)
{
    char src[4096], dir[4096], file[4200];
    struct stat st;
    MDB_txn *t;
    struct store_env *e;
    int fd = -1, rc;

    if (store_txn_env(txn, which, &t, &e) != AUTHDB_OK)
        return AUTHDB_ENOENV;
    store_env_path(authdb_path(txn->h), which, src, sizeof(src));
    if (stat(src, &st) != 0)
        return errno;
    if (store_env_path(dest, which, dir, sizeof(dir)) != AUTHDB_OK)
        return AUTHDB_ETOOLONG;
    if (mkdir(dir, 0750) != 0 || chown(dir, (uid_t)-1, st.st_gid) != 0 || chmod(dir, 0750) != 0) {
        rc = errno;
        snprintf(why, whylen, "%s: %s", dir, strerror(rc));
        return rc;
    }
    snprintf(file, sizeof(file), "%s/lock.mdb", dir);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0 || fchown(fd, (uid_t)-1, st.st_gid) != 0 || fchmod(fd, 0640) != 0)
        goto fail;
    close(fd);
    snprintf(file, sizeof(file), "%s/data.mdb", dir);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0 || fchown(fd, (uid_t)-1, st.st_gid) != 0 || fchmod(fd, 0640) != 0)
        goto fail;
    rc = mdb_env_copyfd2(e->env, fd, MDB_CP_COMPACT);
    if (rc == 0 && fsync(fd) != 0)
        rc = errno;
    close(fd);
    if (rc != 0)
        snprintf(why, whylen, "%s: %s", file, authdb_strerror(rc));
    return rc;
fail:
    rc = errno;
    if (fd >= 0)
        close(fd);
    snprintf(why, whylen, "%s: %s", file, strerror(rc));
    return rc;
}

static int backup_both(authdb_txn *txn, void *arg)
{
    struct backup_ctx *b = arg;
    int rc = AUTHDB_OK;

    for (int i = 0; i < ENV_COUNT && rc == AUTHDB_OK; i++)
        if (txn->envs & (1u << i))
            rc = copy_env(txn, i, b->dest, b->why, b->whylen);
    return rc;
}

int authdb_backup(authdb *h, const char *destdir, char *why, size_t whylen)
{
    struct backup_ctx b = {destdir, why, whylen};
    char dummy[8];
    DIR *d;
    int rc;

    if (why == NULL) {
        b.why = dummy;
        b.whylen = sizeof(dummy);
    }
    b.why[0] = '\0';
    if (!store_is_lmdb(h)) {
        snprintf(b.why, b.whylen, "%s",
                 "a PostgreSQL store is backed up with PostgreSQL's tools (pg_dump -n authgate), "
                 "or copied to a directory by authgate-sync");
        return AUTHDB_EINVAL;
    }
    if (mkdir(destdir, 0750) == 0) {
        if (chmod(destdir, 0750) != 0)
            return errno;
    } else if (errno == EEXIST) {
        struct dirent *ent;
        d = opendir(destdir);
        if (d == NULL)
            return errno;
        while ((ent = readdir(d)) != NULL)
            if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0)
                break;
        closedir(d);
        if (ent != NULL) {
            snprintf(b.why, b.whylen, "%s: %s", destdir, "exists and is not empty");
            return AUTHDB_EEXIST;
        }
    } else {
        rc = errno;
        snprintf(b.why, b.whylen, "%s: %s", destdir, strerror(rc));
        return rc;
    }
    if (h->flags & AUTHDB_WRITE)
        return authdb_write(h, backup_both, &b);
    {
        authdb_txn *txn;
        rc = authdb_read_begin(h, h->flags & AUTHDB_BOTH, &txn);
        if (rc != AUTHDB_OK)
            return rc;
        rc = backup_both(txn, &b);
        authdb_txn_end(txn);
    }
    return rc;
}

/* ----------------------------------------------------------------- stats */

struct reader_count {
    unsigned n;
};

static int reader_line(const char *msg, void *ctx)
{
    struct reader_count *rc = ctx;
    if (strstr(msg, "pid") == NULL && strstr(msg, "(no active readers)") == NULL)
        rc->n++;
    return 0;
}

static void env_sizes(struct store_env *e, size_t *map, size_t *used, unsigned *readers)
{
    MDB_envinfo info;
    MDB_stat st;
    struct reader_count rc = {0};

    mdb_env_info(e->env, &info);
    mdb_env_stat(e->env, &st);
    *map = info.me_mapsize;
    *used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
    mdb_reader_list(e->env, reader_line, &rc);
    *readers = rc.n;
}

int authdb_get_stats(authdb *h, authdb_stats *out)
{
    authdb_txn *txn;
    kv_cursor *c = NULL;
    kv_val k = {0}, v = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    rc = authdb_read_begin(h, h->flags & AUTHDB_BOTH, &txn);
    if (rc != AUTHDB_OK)
        return rc;
    out->schema = AUTHDB_SCHEMA;
    out->readers_max = store_is_lmdb(h) ? STORE_MAXREADERS : 0;
    if (store_has_env(txn, ENV_SECRETS)) {
        rc = kv_count(txn, KV_USERS, &out->users);
        if (rc == AUTHDB_OK && store_is_lmdb(h))
            env_sizes(&txn->es->e[ENV_SECRETS], &out->secrets_map_size, &out->secrets_used,
                      &out->secrets_readers);
        if (rc == AUTHDB_OK)
            rc = kv_cursor_open(txn, KV_USERS, &c);
        for (int r = rc == AUTHDB_OK ? kv_cursor_get(c, &k, &v, KV_FIRST) : AUTHDB_NOTFOUND;
             r == AUTHDB_OK; r = kv_cursor_get(c, &k, &v, KV_NEXT))
            if (v.size > 1 && (((const unsigned char *)v.data)[1] & AUTHDB_USER_DISABLED))
                out->users_disabled++;
        kv_cursor_close(c);
    }
    if (rc == AUTHDB_OK && store_has_env(txn, ENV_POLICY)) {
        rc = kv_count(txn, KV_RULES, &out->rule_logins);
        if (rc == AUTHDB_OK)
            rc = kv_count(txn, KV_RULEIDX, &out->rules);
        if (rc == AUTHDB_OK)
            rc = kv_count(txn, KV_DOMAINS, &out->domains);
        if (rc == AUTHDB_OK && store_is_lmdb(h))
            env_sizes(&txn->es->e[ENV_POLICY], &out->policy_map_size, &out->policy_used,
                      &out->policy_readers);
    }
    authdb_txn_end(txn);
    return rc;
}

/* ----------------------------------------------------------------- check */

struct checker {
    authdb_check_cb cb;
    void *arg;
    int errors;
    unsigned reported;
};

static void report(struct checker *ck, enum authdb_check_severity sev, const char *fmt,
                   const char *a, const char *b)
{
    char msg[8600];

    if (sev == AUTHDB_CHECK_ERROR)
        ck->errors++;
    if (++ck->reported > 200)
        return; /* the count still says it */
    snprintf(msg, sizeof(msg), fmt, a, b);
    ck->cb(sev, msg, ck->arg);
}

static void check_modes(authdb *h, int which, struct checker *ck)
{
    char dir[4096], file[4200];
    struct stat dst, st;
    static const char *const names[] = {"data.mdb", "lock.mdb"};

    store_env_path(authdb_path(h), which, dir, sizeof(dir));
    if (stat(dir, &dst) != 0) {
        report(ck, AUTHDB_CHECK_ERROR, "%s: %s", dir, strerror(errno));
        return;
    }
    if (dst.st_mode & 0007)
        report(ck, which == ENV_SECRETS ? AUTHDB_CHECK_ERROR : AUTHDB_CHECK_WARN,
               "%s: directory is accessible to others (mode should be 0750)%s", dir, "");
    for (int i = 0; i < 2; i++) {
        snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
        if (stat(file, &st) != 0) {
            report(ck, AUTHDB_CHECK_ERROR, "%s: %s", file, strerror(errno));
            continue;
        }
        if (st.st_mode & 0007)
            report(ck, which == ENV_SECRETS ? AUTHDB_CHECK_ERROR : AUTHDB_CHECK_WARN, "%s: %s",
                   file, "readable or writable by others (chmod o-rwx)");
        if (i == 0 && (st.st_mode & 0020))
            report(ck, AUTHDB_CHECK_ERROR, "%s: %s", file,
                   "group-writable: readers must not be able to change the data");
        if (i == 1 && (st.st_mode & 0060) != 0060)
            report(ck, AUTHDB_CHECK_WARN, "%s: %s", file,
                   "readers need group read and write on the lock file (mode 0660)");
        if (st.st_gid != dst.st_gid)
            report(ck, AUTHDB_CHECK_WARN, "%s: %s", file,
                   "group differs from its directory's: readers may be locked out");
    }
}

static void check_secrets(authdb_txn *txn, struct checker *ck)
{
    kv_cursor *c;
    kv_val k = {0}, v = {0};
    authdb_secrets *s;
    char login[AUTHDB_NAME_BUFSZ];

    if (store_meta_get(txn, ENV_SECRETS, "dummy_hash", &v) != AUTHDB_OK)
        report(ck, AUTHDB_CHECK_ERROR, "%s%s",
               "secrets: dummy hash missing (unknown logins "
               "would answer faster than wrong passwords)",
               "");
    if (kv_cursor_open(txn, KV_USERS, &c) != AUTHDB_OK)
        return;
    for (int r = kv_cursor_get(c, &k, &v, KV_FIRST); r == AUTHDB_OK;
         r = kv_cursor_get(c, &k, &v, KV_NEXT)) {
        snprintf(login, sizeof(login), "%.*s",
                 (int)(k.size < AUTHDB_LOGIN_MAX ? k.size : AUTHDB_LOGIN_MAX),
                 (const char *)k.data);
        if (secret_decode(v.data, v.size, &s) != AUTHDB_OK)
            report(ck, AUTHDB_CHECK_ERROR, "login %s: %s", login, "secrets record is corrupt");
        else
            authdb_secrets_free(s);
    }
    kv_cursor_close(c);
}

/* Every login is noted in the policy environment (authdb_senders_for lists
 * an address as its own user only then), and every note has a login. */
static void check_logins(authdb_txn *txn, struct checker *ck)
{
    kv_cursor *c;
    kv_val k = {0}, v = {0}, u;
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;

    for (int pass = 0; pass < 2; pass++) {
        if (kv_cursor_open(txn, pass == 0 ? KV_USERS : KV_RULES, &c) != AUTHDB_OK)
            return;
        for (int r = kv_cursor_get(c, &k, &v, KV_FIRST); r == AUTHDB_OK;
             r = kv_cursor_get(c, &k, &v, KV_NEXT)) {
            if (k.size > AUTHDB_LOGIN_MAX)
                continue; /* reported by the record checks */
            klen = k.size;
            memcpy(key, k.data, klen);
            key[klen] = '\0';
            int known = policy_login_known(txn, key, klen);
            /* A write cut between the commits of the two environments is
             * completed by the next writer (journal.c; while it is pending
             * these checks are skipped).  Only a store an older authgate
             * wrote (policy first, no journal) or a change made behind
             * authdb's back can show these: writing the login again
             * repairs it. */
            if (pass == 0 && known == 0)
                report(ck, AUTHDB_CHECK_WARN,
                       "login %s: not noted in the policy environment, so it is not listed as the "
                       "user of its own address (%s)",
                       key, "an interrupted write? set its password again");
            else if (pass == 1 && known == 1 &&
                     kv_get(txn, KV_USERS, key, klen, &u) == AUTHDB_NOTFOUND)
                report(ck, AUTHDB_CHECK_WARN,
                       "login %s: noted in the policy environment but has no secrets (%s)", key,
                       "an interrupted write? authgatectl user del removes both");
        }
        kv_cursor_close(c);
    }
}

struct orphan_ctx {
    authdb_txn *txn;
    struct checker *ck;
    int pending; /* an interrupted change: rules may await their login's delete */
    char last[AUTHDB_NAME_BUFSZ];
};

static int check_rule_cb(const char *login, const authdb_rule *r, void *arg)
{
    struct orphan_ctx *o = arg;
    kv_val k = {strlen(r->pattern), r->pattern}, v = {strlen(login), login};
    kv_cursor *c;

    if (kv_cursor_open(o->txn, KV_RULEIDX, &c) == AUTHDB_OK) {
        if (kv_cursor_get(c, &k, &v, KV_GET_BOTH) != AUTHDB_OK)
            report(o->ck, AUTHDB_CHECK_ERROR, "login %s: rule %s missing from the index", login,
                   r->pattern);
        kv_cursor_close(c);
    }
    if (strcmp(o->last, login) == 0)
        return AUTHDB_OK;
    snprintf(o->last, sizeof(o->last), "%s", login);
    if (store_has_env(o->txn, ENV_SECRETS) && !o->pending) {
        kv_val uv;
        if (kv_get(o->txn, KV_USERS, login, strlen(login), &uv) == AUTHDB_NOTFOUND)
            report(o->ck, AUTHDB_CHECK_WARN, "login %s: has send-as rules but no password%s", login,
                   " (orphan; authgatectl user del removes both)");
    }
    return AUTHDB_OK;
}

/* A write that changed both environments and was cut between their
 * commits (journal.c): secrets are ahead of policy until the next writer
 * completes it.  Reported as a warning; the cross-environment checks that
 * would see its transient difference are skipped meanwhile.  *pending: 1
 * when one is.  Returns AUTHDB_OK or a store error. */
static int check_journal(authdb_txn *txn, struct checker *ck, int *pending)
{
    kv_val j;
    uint64_t seq, applied;
    char why[AUTHDB_WHY_MAX], num[32];
    int rc;

    *pending = 0;
    why[0] = '\0';
    rc = journal_pending(txn, &j, &seq, &applied, why, sizeof(why));
    if (rc == AUTHDB_NOTFOUND)
        return AUTHDB_OK;
    if (rc == AUTHDB_ECORRUPT) {
        report(ck, AUTHDB_CHECK_ERROR, "secrets: %s%s", why[0] ? why : "journal corrupt", "");
        return AUTHDB_OK;
    }
    if (rc != AUTHDB_OK)
        return rc;
    *pending = 1;
    snprintf(num, sizeof(num), "%llu", (unsigned long long)seq);
    report(ck, AUTHDB_CHECK_WARN,
           "a change interrupted between the environments is pending (seq %s); the next write "
           "completes it%s",
           num, "");
    return AUTHDB_OK;
}

int authdb_check(authdb *h, authdb_check_cb cb, void *arg)
{
    struct checker ck = {cb, arg, 0, 0};
    struct orphan_ctx oc;
    authdb_txn *txn;
    char a[32], b[32];
    int rc, dead, pending;

    for (int i = 0; i < ENV_COUNT && store_is_lmdb(h); i++) {
        if (!(h->flags & (1u << i)))
            continue;
        check_modes(h, i, &ck);
        struct store_env *e = &atomic_load(&h->cur)->e[i];
        /* the slots the open cleared, and any that died since */
        dead = 0;
        mdb_reader_check(e->env, &dead);
        dead += e->stale_cleared;
        e->stale_cleared = 0;
        if (dead > 0) {
            snprintf(a, sizeof(a), "%d", dead);
            report(&ck, AUTHDB_CHECK_WARN, "%s: cleared %s stale reader slots (killed readers)",
                   store_env_name(i), a);
        }
    }
    rc = authdb_read_begin(h, h->flags & AUTHDB_BOTH, &txn);
    if (rc != AUTHDB_OK)
        return rc;
    rc = check_journal(txn, &ck, &pending);
    if (rc != AUTHDB_OK)
        goto out;
    if ((h->flags & AUTHDB_BOTH) == AUTHDB_BOTH && !pending) {
        kv_val v1, v2;
        if (store_meta_get(txn, ENV_SECRETS, "s:local_part_case", &v1) != AUTHDB_OK)
            v1.size = 0;
        snprintf(a, sizeof(a), "%.*s", (int)(v1.size < 31 ? v1.size : 31),
                 v1.size ? (const char *)v1.data : "");
        if (store_meta_get(txn, ENV_POLICY, "s:local_part_case", &v2) != AUTHDB_OK)
            v2.size = 0;
        snprintf(b, sizeof(b), "%.*s", (int)(v2.size < 31 ? v2.size : 31),
                 v2.size ? (const char *)v2.data : "");
        if (strcmp(a, b) != 0)
            report(&ck, AUTHDB_CHECK_ERROR,
                   "local_part_case differs between secrets (%s) and policy (%s): run "
                   "authgatectl settings set local_part_case again",
                   a, b);
    }
    if (h->flags & AUTHDB_SECRETS)
        check_secrets(txn, &ck);
    if ((h->flags & AUTHDB_BOTH) == AUTHDB_BOTH && !pending)
        check_logins(txn, &ck);
    if (h->flags & AUTHDB_POLICY) {
        memset(&oc, 0, sizeof(oc));
        oc.txn = txn;
        oc.ck = &ck;
        oc.pending = pending;
        rc = authdb_rule_foreach(h, txn, NULL, 0, check_rule_cb, &oc);
        if (rc == AUTHDB_ECORRUPT) {
            report(&ck, AUTHDB_CHECK_ERROR, "%s%s", "policy: a rules record is corrupt", "");
            rc = AUTHDB_OK;
        }
    }
out:
    authdb_txn_end(txn);
    if (rc != AUTHDB_OK)
        return rc;
    return ck.errors > 0 ? AUTHDB_ECORRUPT : AUTHDB_OK;
}
