/*
 * store.c - handles, environments, transactions.
 *
 * Interface: authdb_open, authdb_close, authdb_path, authdb_create,
 * authdb_read_begin, authdb_txn_end, authdb_write, and for the other modules
 * store_read_one, store_txn_env, store_note, store_meta_get/put.
 *
 * Rules enforced here (DESIGN.md section 4):
 *  - fork: every entry checks the handle's MADV_WIPEONFORK page (zeroed in
 *    a child, no syscall), else compares getpid() with the pid that opened
 *    the environments.  A child builds its own envset; the parent's MDB_envs are
 *    abandoned in the child, never used or closed (closing would clear the
 *    parent's reader slots).
 *  - threads: MDB_NOTLS; a read txn lives inside one call or one authdb_txn.
 *  - stale readers: mdb_reader_check on open and on MDB_READERS_FULL.
 *  - a reader table full of live readers at open: a read-only open needs a
 *    slot only for opening the DBIs and checking format and schema, not for
 *    mdb_env_open.  So when none is free it still succeeds with the
 *    environment open and leaves those steps to the first read txn that
 *    gets a slot (env_setup); until then read txns fail with
 *    MDB_READERS_FULL, a temporary failure.  Failing the open instead would
 *    be permanent for a host that opens before chroot or dropping
 *    privileges (Postfix's smtpd: every lookup of that process would fail
 *    until it exits, with the slots long free).
 *  - growth: a writer that hits MDB_MAP_FULL aborts, doubles the map and
 *    re-runs the caller's function; MDB_MAP_RESIZED (another process grew
 *    it) is answered with mdb_env_set_mapsize(env, 0) while no txn of this
 *    process is open (the envset's rwlock).
 *  - no NOSYNC flags; files are created with explicit modes, never by LMDB.
 *  - truncation: a data.mdb shorter than its last used page would make the
 *    first access past its end a SIGBUS in the host (smtpd, sendmail...).
 *    Open and read transactions compare the file size with the last page
 *    of the newest meta (env_size_check; a read txn at most once per
 *    coarse clock tick or newer txn, env_size_recheck): a truncated file
 *    is AUTHDB_ECORRUPT, a temporary failure, never a crash.  LMDB only ever
 *    grows the file, so a file that was long enough stays long enough.
 *  - schema: checked at open, and again by the first read transaction that
 *    sees a newer transaction id than the last check (env_schema_recheck):
 *    a store migrated in place to a newer schema while a reader had it open
 *    is AUTHDB_ENEWER from then on, never read with the old rules.
 *
 * Diagnostics: open and create fill a caller buffer with "path: problem".
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "authdb_private.h"

static const char *const env_dirs[ENV_COUNT] = {"secrets", "policy"};

const char *store_env_name(int which)
{
    return env_dirs[which];
}

/* fmt has two %s: a (a path) and b.  A path too long to leave room for
 * the rest is shortened to its head and tail, so the reason is never cut
 * off (a 5,000-octet --store argument still gets "path too long"). */
static void why_set(char *why, size_t whylen, const char *fmt, const char *a, const char *b)
{
    char shortened[200];
    size_t alen = strlen(a);

    if (why == NULL || whylen == 0)
        return;
    if (alen > sizeof(shortened) - 1 && alen + strlen(b) + 64 > whylen) {
        snprintf(shortened, sizeof(shortened), "%.96s...%s", a, a + alen - 96);
        a = shortened;
    }
    snprintf(why, whylen, fmt, a, b);
}

int store_env_path(const char *dir, int which, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/%s", dir, env_dirs[which]);
    return (n < 0 || (size_t)n >= outsz) ? AUTHDB_ETOOLONG : AUTHDB_OK;
}

int store_meta_get(authdb_txn *txn, int which, const char *key, kv_val *out)
{
    return kv_get(txn, kv_meta_of(which), key, strlen(key), out);
}

int store_meta_put(authdb_txn *txn, int which, const char *key, const void *val, size_t len)
{
    return kv_put(txn, kv_meta_of(which), key, strlen(key), val, len, 0);
}

int store_has_env(const authdb_txn *txn, int which)
{
    return (txn->envs & (1u << which)) != 0;
}

int store_is_lmdb(const authdb *h)
{
    return h->be == NULL;
}

/* Meta access on a bare LMDB txn (open and create, before a handle). */
static int env_meta_get(MDB_txn *t, struct store_env *e, const char *key, MDB_val *out)
{
    MDB_val k = {strlen(key), (void *)key};
    return status_from_mdb(mdb_get(t, e->meta, &k, out));
}

static int env_meta_put(MDB_txn *t, struct store_env *e, const char *key, const void *val,
                        size_t len)
{
    MDB_val k = {strlen(key), (void *)key};
    MDB_val v = {len, (void *)val};
    int rc = mdb_put(t, e->meta, &k, &v, 0);
    return rc == MDB_MAP_FULL ? rc : status_from_mdb(rc);
}

/* ------------------------------------------------------------------ open */

/* Is data.mdb long enough for every page the newest meta may reference?
 * (Pages of older snapshots are at most that.)  AUTHDB_OK or
 * AUTHDB_ECORRUPT with a sentence in why. */
static int env_size_check(struct store_env *e, const char *path, char *why, size_t whylen)
{
    MDB_envinfo info;
    mdb_filehandle_t fd;
    struct stat st;
    unsigned long long need;
    char have_s[32], need_s[64];
    int rc = AUTHDB_OK;

    if (mdb_env_info(e->env, &info) != 0 || mdb_env_get_fd(e->env, &fd) != 0)
        goto out;
    if (fstat(fd, &st) != 0) {
        rc = errno;
        goto out;
    }
    need = ((unsigned long long)info.me_last_pgno + 1) * e->psize;
    if ((unsigned long long)st.st_size < need) {
        snprintf(have_s, sizeof(have_s), "%lld", (long long)st.st_size);
        snprintf(need_s, sizeof(need_s), "%llu bytes: restore it from a backup", need);
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "%s/data.mdb: truncated: %s bytes, its pages need %s",
                     path != NULL ? path : "store", have_s, need_s);
        rc = AUTHDB_ECORRUPT;
    }
out:
    return rc;
}

/* The truncation check costs an fstat, a tenth of a lookup: a read txn
 * repeats it only when the coarse clock (one tick: 1-4 ms) has moved on or
 * the txn is newer than the last one checked (its pages may lie further
 * out).  A file truncated behind LMDB's back is seen within a tick; no check
 * can close the window between it and the first page access anyway. */
static int env_size_recheck(struct store_env *e, MDB_txn *t)
{
    struct timespec ts;
    long long ms;
    size_t id = mdb_txn_id(t);
    int rc = AUTHDB_OK;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (atomic_load_explicit(&e->size_ms, memory_order_relaxed) == ms &&
        atomic_load_explicit(&e->size_txnid, memory_order_relaxed) == id)
        goto out;
    rc = env_size_check(e, NULL, NULL, 0);
    if (rc == AUTHDB_OK) {
        atomic_store_explicit(&e->size_txnid, id, memory_order_relaxed);
        atomic_store_explicit(&e->size_ms, ms, memory_order_relaxed);
    }
out:
    return rc;
}

static int env_check_meta(MDB_txn *t, struct store_env *e, int which, const char *path, char *why,
                          size_t whylen)
{
    const char *want = which == ENV_SECRETS ? STORE_FORMAT_SEC : STORE_FORMAT_POL;
    MDB_val v;
    uint32_t schema;
    char num[32];
    int rc;

    rc = env_meta_get(t, e, "format", &v);
    if (rc != AUTHDB_OK || v.mv_size != strlen(want) || memcmp(v.mv_data, want, v.mv_size) != 0) {
        why_set(why, whylen, "%s: not an authgate %s environment", path, env_dirs[which]);
        return rc == AUTHDB_OK || rc == AUTHDB_NOTFOUND ? AUTHDB_EFOREIGN : rc;
    }
    rc = env_meta_get(t, e, "schema", &v);
    if (rc != AUTHDB_OK || v.mv_size != sizeof(schema)) {
        why_set(why, whylen, "%s: %s", path, "schema version missing or malformed");
        return rc == AUTHDB_OK || rc == AUTHDB_NOTFOUND ? AUTHDB_ECORRUPT : rc;
    }
    memcpy(&schema, v.mv_data, sizeof(schema));
    schema = le32toh(schema);
    if (schema > AUTHDB_SCHEMA) {
        snprintf(num, sizeof(num), "%u", (unsigned)schema);
        why_set(why, whylen,
                "%s: store schema %s is newer than this authgate reads (schema "
                "1); upgrade authgate",
                path, num);
        return AUTHDB_ENEWER;
    }
    if (schema < 1) {
        why_set(why, whylen, "%s: %s", path, "schema version 0 is invalid");
        return AUTHDB_ECORRUPT;
    }
    rc = env_meta_get(t, e, SYNC_META_CENTRAL, &v);
    if (rc == AUTHDB_OK)
        e->managed = 1;
    return rc == AUTHDB_NOTFOUND ? AUTHDB_OK : rc;
}

static int env_open_dbis(struct store_env *e, int which, int write, const char *path, char *why,
                         size_t whylen)
{
    MDB_txn *t = NULL;
    int rc;

    rc = mdb_txn_begin(e->env, NULL, write ? 0 : MDB_RDONLY, &t);
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize(e->env, 0);
        rc = mdb_txn_begin(e->env, NULL, write ? 0 : MDB_RDONLY, &t);
    }
    if (rc != 0) {
        why_set(why, whylen, "%s: %s", path, mdb_strerror(rc));
        return status_from_mdb(rc);
    }
    rc = mdb_dbi_open(t, "meta", 0, &e->meta);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        why_set(why, whylen, "%s: not an authgate %s environment", path, env_dirs[which]);
        rc = AUTHDB_EFOREIGN;
        goto out;
    }
    if (rc != 0)
        goto mdb_fail;
    rc = env_check_meta(t, e, which, path, why, whylen);
    if (rc != AUTHDB_OK)
        goto out;
    atomic_store(&e->schema_txnid, mdb_txn_id(t));
    if (which == ENV_SECRETS) {
        rc = mdb_dbi_open(t, "users", 0, &e->main);
    } else {
        rc = mdb_dbi_open(t, "rules", 0, &e->main);
        if (rc == 0)
            rc = mdb_dbi_open(t, "ruleidx", MDB_DUPSORT, &e->ruleidx);
        if (rc == 0)
            rc = mdb_dbi_open(t, "domains", 0, &e->domains);
    }
    if (rc != 0)
        goto mdb_fail;
    rc = mdb_txn_commit(t); /* keeps the DBI handles */
    t = NULL;
    if (rc != 0)
        goto mdb_fail;
    rc = AUTHDB_OK;
    goto out;
mdb_fail:
    why_set(why, whylen, "%s: %s", path, mdb_strerror(rc));
    rc = status_from_mdb(rc);
out:
    if (t != NULL)
        mdb_txn_abort(t);
    return rc;
}

static int env_open(struct store_env *e, const char *dir, int which, int write, char *why,
                    size_t whylen)
{
    char path[4096], file[4200];
    struct stat st;
    int rc, dead;

    memset(e, 0, sizeof(*e));
    if (store_env_path(dir, which, path, sizeof(path)) != AUTHDB_OK) {
        why_set(why, whylen, "%s: %s", dir, "path too long");
        return AUTHDB_ETOOLONG;
    }
    /* LMDB would create missing files: we never do that outside create. */
    snprintf(file, sizeof(file), "%s/data.mdb", path);
    if (stat(file, &st) != 0) {
        rc = errno;
        why_set(why, whylen, "%s: %s", file,
                rc == ENOENT ? "missing (no authgate store here?)" : strerror(rc));
        return rc == ENOENT || rc == ENOTDIR ? AUTHDB_ENOSTORE : rc == EACCES ? AUTHDB_EPERM : rc;
    }
    snprintf(file, sizeof(file), "%s/lock.mdb", path);
    if (stat(file, &st) != 0) {
        rc = errno;
        why_set(why, whylen, "%s: %s", file, rc == ENOENT ? "lock file missing" : strerror(rc));
        return rc == ENOENT ? AUTHDB_ENOSTORE : rc == EACCES ? AUTHDB_EPERM : rc;
    }
    rc = mdb_env_create(&e->env);
    if (rc != 0)
        goto fail;
    mdb_env_set_maxreaders(e->env, STORE_MAXREADERS);
    mdb_env_set_maxdbs(e->env, 4);
    rc = mdb_env_open(e->env, path, MDB_NOTLS | MDB_NORDAHEAD | (write ? 0 : MDB_RDONLY), 0640);
    if (rc != 0)
        goto fail;
    {
        MDB_stat ms;
        rc = mdb_env_stat(e->env, &ms);
        if (rc != 0)
            goto fail;
        e->psize = ms.ms_psize;
    }
    /* Before any transaction touches a page. */
    rc = env_size_check(e, path, why, whylen);
    if (rc != AUTHDB_OK)
        goto close;
    mdb_reader_check(e->env, &dead);
    e->stale_cleared = dead;
    rc = env_open_dbis(e, which, write, path, why, whylen);
    if (rc == AUTHDB_OK) {
        atomic_store(&e->ready, 1);
    } else if (rc == MDB_READERS_FULL && !write) {
        /* Only live readers (the dead were cleared above): keep the env,
         * env_setup finishes at the first read txn (header comment). */
        if (why != NULL && whylen > 0)
            why[0] = '\0';
        rc = AUTHDB_OK;
    } else {
        goto close;
    }
    e->open = 1;
    return AUTHDB_OK;
fail:
    why_set(why, whylen, "%s: %s", path,
            rc == EACCES ? "permission denied (is this process in the store's group?)"
                         : mdb_strerror(rc));
    rc = status_from_mdb(rc);
close:
    if (e->env != NULL)
        mdb_env_close(e->env);
    e->env = NULL;
    return rc;
}

static void envset_free(struct store_envset *es)
{
    if (es == NULL)
        return;
    /* Only the process that opened an env may close it. */
    if (es->pid == getpid()) {
        for (int i = 0; i < ENV_COUNT; i++)
            if (es->e[i].open)
                mdb_env_close(es->e[i].env);
        pthread_rwlock_destroy(&es->resize);
        pthread_mutex_destroy(&es->setup);
    }
    free(es);
}

static int envset_open(const char *dir, unsigned flags, struct store_envset **out, char *why,
                       size_t whylen)
{
    struct store_envset *es;
    int rc = AUTHDB_OK;

    *out = NULL;
    es = calloc(1, sizeof(*es));
    if (es == NULL)
        return AUTHDB_ENOMEM;
    es->pid = getpid();
    if (pthread_rwlock_init(&es->resize, NULL) != 0) {
        free(es);
        return AUTHDB_ENOMEM;
    }
    if (pthread_mutex_init(&es->setup, NULL) != 0) {
        pthread_rwlock_destroy(&es->resize);
        free(es);
        return AUTHDB_ENOMEM;
    }
    if (flags & AUTHDB_SECRETS)
        rc = env_open(&es->e[ENV_SECRETS], dir, ENV_SECRETS, !!(flags & AUTHDB_WRITE), why, whylen);
    if (rc == AUTHDB_OK && (flags & AUTHDB_POLICY))
        rc = env_open(&es->e[ENV_POLICY], dir, ENV_POLICY, !!(flags & AUTHDB_WRITE), why, whylen);
    if (rc != AUTHDB_OK) {
        envset_free(es);
        return rc;
    }
    *out = es;
    return AUTHDB_OK;
}

/* A store named by a URI ("postgresql://...") rather than a directory. */
static int store_is_uri(const char *dir)
{
    return strncmp(dir, "postgresql:", 11) == 0 || strncmp(dir, "postgres:", 9) == 0;
}

/* The backend for dir: NULL for a directory (LMDB), the PostgreSQL
 * backend for its URIs when this program linked it. */
static int store_backend_for(const char *dir, const struct kv_backend **be, char *why,
                             size_t whylen)
{
    *be = NULL;
    if (!store_is_uri(dir))
        return AUTHDB_OK;
    if (&pg_kv_backend == NULL) {
        why_set(why, whylen, "%s%s",
                "this program cannot open a PostgreSQL store (only authgatectl and "
                "authgate-sync link the PostgreSQL backend); give it a store directory",
                "");
        return AUTHDB_ENOSTORE;
    }
    *be = &pg_kv_backend;
    return AUTHDB_OK;
}

static int store_txn_init(authdb *h, unsigned envs, int write, authdb_txn *txn);
static void txn_release(authdb_txn *txn);
static int store_write(authdb *h, authdb_write_fn fn, void *arg, int sync);
static int store_noop(authdb_txn *txn, void *arg);

/* A handle opened for writing completes a change interrupted between
 * the two environments' commits right away (an empty write: its roll
 * forward does it).  A read transaction looks first, so that an open does
 * not wait for the write lock when nothing is pending. */
static int store_open_complete(authdb *h, char *why, size_t whylen)
{
    authdb_txn txn;
    kv_val j;
    uint64_t seq, applied;
    char jwhy[AUTHDB_WHY_MAX];
    int rc;

    if (h->be != NULL || (h->flags & AUTHDB_BOTH) != AUTHDB_BOTH || !(h->flags & AUTHDB_WRITE))
        return AUTHDB_OK;
    rc = store_txn_init(h, AUTHDB_BOTH, 0, &txn);
    if (rc != AUTHDB_OK)
        return rc;
    jwhy[0] = '\0';
    rc = journal_pending(&txn, &j, &seq, &applied, jwhy, sizeof(jwhy));
    txn_release(&txn);
    if (rc == AUTHDB_OK)
        rc = store_write(h, store_noop, NULL, 1);
    else if (rc == AUTHDB_NOTFOUND)
        rc = AUTHDB_OK;
    if (rc == AUTHDB_ECORRUPT && jwhy[0] != '\0')
        why_set(why, whylen, "%s: %s", h->dir, jwhy);
    else if (rc != AUTHDB_OK)
        why_set(why, whylen, "%s: completing an interrupted change: %s", h->dir,
                authdb_strerror(rc));
    return rc;
}

/* The fork mark of a new handle, or NULL (then every entry asks getpid). */
static _Atomic int *forkmark_new(void)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    if (madvise(p, (size_t)page, MADV_WIPEONFORK) != 0) {
        munmap(p, (size_t)page);
        return NULL;
    }
    return p;
}

static void forkmark_free(_Atomic int *mark)
{
    if (mark != NULL)
        munmap((void *)mark, (size_t)sysconf(_SC_PAGESIZE));
}

int authdb_open(const char *dir, unsigned flags, authdb **out, char *why, size_t whylen)
{
    return authdb_open_log(dir, flags, NULL, out, why, whylen);
}

int authdb_open_log(const char *dir, unsigned flags, const authdb_log *lg, authdb **out, char *why,
                    size_t whylen)
{
    struct store_envset *es = NULL;
    const struct kv_backend *be = NULL;
    authdb *h = NULL;
    int rc;

    *out = NULL;
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    if (dir == NULL || dir[0] == '\0' || (flags & AUTHDB_BOTH) == 0 ||
        (flags & ~(AUTHDB_BOTH | AUTHDB_WRITE | AUTHDB_FORCE)) != 0) {
        why_set(why, whylen, "%s%s", "invalid store path or open flags", "");
        return AUTHDB_EINVAL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL || (h->dir = strdup(dir)) == NULL) {
        rc = AUTHDB_ENOMEM;
        goto out;
    }
    h->flags = flags;
    if (pthread_mutex_init(&h->reopen, NULL) != 0) {
        rc = AUTHDB_ENOMEM;
        goto out;
    }
    h->forkmark = forkmark_new();
    rc = store_backend_for(dir, &be, why, whylen);
    if (rc == AUTHDB_OK && be != NULL)
        rc = be->open(dir, flags, &h->bctx, why, whylen);
    else if (rc == AUTHDB_OK)
        rc = envset_open(dir, flags, &es, why, whylen);
    if (rc != AUTHDB_OK) {
        pthread_mutex_destroy(&h->reopen);
        forkmark_free(h->forkmark);
        goto out;
    }
    h->be = be;
    h->log = lg;
    /* Only a read-only open defers its checks (env_setup), and only
     * writers look at managed. */
    if (es != NULL)
        h->managed = es->e[ENV_SECRETS].managed || es->e[ENV_POLICY].managed;
    atomic_store(&h->cur, es);
    rc = store_open_complete(h, why, whylen);
    if (rc != AUTHDB_OK) {
        authdb_close(h);
        h = NULL;
        goto out;
    }
    *out = h;
    h = NULL;
out:
    if (h != NULL) {
        free(h->dir);
        free(h);
    }
    return rc;
}

void authdb_close(authdb *h)
{
    if (h == NULL)
        return;
    if (h->be != NULL)
        h->be->close(h->bctx);
    envset_free(atomic_load(&h->cur));
    pthread_mutex_destroy(&h->reopen);
    forkmark_free(h->forkmark);
    free(h->dir);
    free(h);
}

const char *authdb_path(const authdb *h)
{
    return h->dir;
}

/* The envset of this process, reopening after fork(). */
static int store_enter(authdb *h, struct store_envset **out)
{
    struct store_envset *es = atomic_load(&h->cur), *fresh = NULL;
    pid_t me;
    int rc = AUTHDB_OK;

    if (h->forkmark != NULL && atomic_load_explicit(h->forkmark, memory_order_acquire) == 1) {
        *out = es;
        return AUTHDB_OK;
    }
    me = getpid();
    if (es->pid == me) {
        if (h->forkmark != NULL)
            atomic_store_explicit(h->forkmark, 1, memory_order_release);
        *out = es;
        return AUTHDB_OK;
    }
    pthread_mutex_lock(&h->reopen);
    es = atomic_load(&h->cur);
    if (es->pid != me) {
        rc = envset_open(h->dir, h->flags, &fresh, NULL, 0);
        if (rc == AUTHDB_OK) {
            /* The parent's envset: its memory is ours to free, its
             * environments are not ours to close (envset_free checks). */
            envset_free(es);
            atomic_store(&h->cur, fresh);
            es = fresh;
        }
    }
    if (es->pid == me && h->forkmark != NULL)
        atomic_store_explicit(h->forkmark, 1, memory_order_release);
    pthread_mutex_unlock(&h->reopen);
    *out = es;
    return rc;
}

/* ----------------------------------------------------------- transactions */

/* A read txn newer than the last schema check: check again. */
static int env_schema_recheck(struct store_env *e, int which, MDB_txn *t)
{
    size_t id = mdb_txn_id(t);
    int rc;

    if (id == atomic_load(&e->schema_txnid))
        return AUTHDB_OK;
    rc = env_check_meta(t, e, which, "store", NULL, 0);
    if (rc == AUTHDB_OK)
        atomic_store(&e->schema_txnid, id);
    return rc;
}

/* Finish what a read-only open deferred because the reader table was
 * full of live readers (header comment): open the DBIs and check format
 * and schema, once per envset, serialized because mdb_dbi_open must not
 * run in two txns of a process at once.  The caller holds es->resize for
 * reading; the MDB_MAP_RESIZED answer inside env_open_dbis may still set
 * the map size, as no txn of this process can be open on an env that is
 * not ready.  AUTHDB_OK, MDB_READERS_FULL while no slot is free, or the
 * open's errors (AUTHDB_EFOREIGN, AUTHDB_ENEWER, ...). */
static int env_setup(struct store_envset *es, int which)
{
    struct store_env *e = &es->e[which];
    int rc = AUTHDB_OK, dead;

    if (atomic_load(&e->ready))
        return AUTHDB_OK;
    pthread_mutex_lock(&es->setup);
    if (!atomic_load(&e->ready)) {
        rc = env_size_check(e, NULL, NULL, 0);
        if (rc == AUTHDB_OK)
            rc = env_open_dbis(e, which, 0, "store", NULL, 0);
        if (rc == MDB_READERS_FULL) {
            dead = 0;
            mdb_reader_check(e->env, &dead);
            if (dead > 0)
                rc = env_open_dbis(e, which, 0, "store", NULL, 0);
        }
        if (rc == AUTHDB_OK)
            atomic_store(&e->ready, 1);
    }
    pthread_mutex_unlock(&es->setup);
    return rc;
}

static int txn_begin_env(struct store_envset *es, int which, int write, MDB_txn **out)
{
    int rc, dead;

    *out = NULL;
    rc = env_setup(es, which);
    if (rc != AUTHDB_OK)
        return rc;
    for (int attempt = 0; attempt < 4; attempt++) {
        rc = mdb_txn_begin(es->e[which].env, NULL, write ? 0 : MDB_RDONLY, out);
        if (rc == MDB_MAP_RESIZED) {
            /* Another process grew the map.  set_mapsize needs every txn
             * of this process closed: the caller holds the read side, so
             * this is handled by txn_begin's caller (store_txn_init). */
            return rc;
        }
        if (rc == MDB_READERS_FULL) {
            dead = 0;
            mdb_reader_check(es->e[which].env, &dead);
            if (dead > 0)
                continue;
        }
        break;
    }
    if (rc == 0 && !write) {
        int chk = env_size_recheck(&es->e[which], *out);
        if (chk == AUTHDB_OK)
            chk = env_schema_recheck(&es->e[which], which, *out);
        if (chk != AUTHDB_OK) {
            mdb_txn_abort(*out);
            *out = NULL;
            rc = chk;
        }
    }
    return rc;
}

static void txn_release(authdb_txn *txn)
{
    if (txn->bt != NULL)
        txn->h->be->abort(txn->bt);
    txn->bt = NULL;
    for (int i = 0; i < ENV_COUNT; i++) {
        if (txn->t[i] != NULL)
            mdb_txn_abort(txn->t[i]);
        txn->t[i] = NULL;
    }
    if (txn->locked)
        pthread_rwlock_unlock(&txn->es->resize);
    txn->locked = 0;
    journal_free(&txn->jr);
}

static void envset_adopt_size(struct store_envset *es, int which)
{
    pthread_rwlock_wrlock(&es->resize);
    mdb_env_set_mapsize(es->e[which].env, 0);
    pthread_rwlock_unlock(&es->resize);
}

/* Fill *txn and begin transactions on envs (all of them for a writer, in
 * the fixed order secrets, policy, so two writers cannot deadlock). */
static int store_txn_init(authdb *h, unsigned envs, int write, authdb_txn *txn)
{
    struct store_envset *es;
    int rc;

    memset(txn, 0, sizeof(*txn));
    if (write && !(h->flags & AUTHDB_WRITE))
        return AUTHDB_ERDONLY;
    if ((envs & h->flags & AUTHDB_BOTH) != (envs & AUTHDB_BOTH) || (envs & AUTHDB_BOTH) == 0)
        return AUTHDB_ENOENV;
    if (h->be != NULL) {
        txn->h = h;
        txn->write = write;
        txn->self_send = -1;
        txn->envs = envs & AUTHDB_BOTH;
        return h->be->begin(h->bctx, write, &txn->bt);
    }
    rc = store_enter(h, &es);
    if (rc != AUTHDB_OK)
        return rc;
    txn->h = h;
    txn->es = es;
    txn->write = write;
    txn->self_send = -1;
    txn->envs = envs & AUTHDB_BOTH;
    for (int attempt = 0; attempt < 8; attempt++) {
        int resized = -1;
        pthread_rwlock_rdlock(&es->resize);
        txn->locked = 1;
        rc = 0;
        for (int i = 0; i < ENV_COUNT && rc == 0; i++) {
            if (!(txn->envs & (1u << i)))
                continue;
            rc = txn_begin_env(es, i, write, &txn->t[i]);
            if (rc == MDB_MAP_RESIZED)
                resized = i;
        }
        if (rc == 0)
            return AUTHDB_OK;
        txn_release(txn);
        if (resized < 0)
            break;
        envset_adopt_size(es, resized);
    }
    return rc == MDB_MAP_RESIZED ? AUTHDB_EBUSY : status_from_mdb(rc);
}

int authdb_read_begin(authdb *h, unsigned envs, authdb_txn **out)
{
    authdb_txn *txn;
    int rc;

    *out = NULL;
    txn = malloc(sizeof(*txn));
    if (txn == NULL)
        return AUTHDB_ENOMEM;
    rc = store_txn_init(h, envs, 0, txn);
    if (rc != AUTHDB_OK) {
        free(txn);
        return rc;
    }
    *out = txn;
    return AUTHDB_OK;
}

void authdb_txn_end(authdb_txn *txn)
{
    if (txn == NULL)
        return;
    txn_release(txn);
    free(txn);
}

/* A read txn in caller-provided memory (the lookup fast path: no malloc). */
int store_read_local(authdb *h, unsigned envs, authdb_txn *txn)
{
    return store_txn_init(h, envs, 0, txn);
}

void store_read_local_end(authdb_txn *txn)
{
    txn_release(txn);
}

int store_read_one(authdb *h, authdb_txn *given, unsigned envs, authdb_txn **use, int *own)
{
    authdb_txn *t;
    int rc;

    *own = 0;
    *use = NULL;
    if (given != NULL) {
        if ((given->envs & envs) != envs)
            return AUTHDB_ENOENV;
        *use = given;
        return AUTHDB_OK;
    }
    rc = authdb_read_begin(h, envs, &t);
    if (rc != AUTHDB_OK)
        return rc;
    *use = t;
    *own = 1;
    return AUTHDB_OK;
}

int store_is_write(const authdb_txn *txn)
{
    return txn->write;
}

int store_txn_env(authdb_txn *txn, int which, MDB_txn **out, struct store_env **env)
{
    if (txn->bt != NULL || txn->t[which] == NULL)
        return AUTHDB_ENOENV;
    *out = txn->t[which];
    *env = &txn->es->e[which];
    return AUTHDB_OK;
}

int store_note(authdb_txn *txn, int which, int rc)
{
    if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
        txn->map_full[which] = 1;
    return rc;
}

static int store_grow(struct store_envset *es, int which)
{
    MDB_envinfo info;
    size_t size;
    int rc;

    pthread_rwlock_wrlock(&es->resize);
    mdb_env_info(es->e[which].env, &info);
    size = info.me_mapsize * 2;
    rc = info.me_mapsize >= STORE_MAPSIZE_MAX ? MDB_MAP_FULL
                                              : mdb_env_set_mapsize(es->e[which].env, size);
    pthread_rwlock_unlock(&es->resize);
    return rc;
}

/* A forced local write on a managed store: say so in both environments'
 * meta, so that authgate-sync refuses to follow the center until an
 * explicit resync instead of silently overwriting or drifting. */
static int store_mark_drift(authdb_txn *txn)
{
    int64_t now = (int64_t)time(NULL);
    int rc = AUTHDB_OK;

    for (int i = 0; i < ENV_COUNT && rc == AUTHDB_OK; i++)
        if (txn->t[i] != NULL)
            rc = store_meta_put(txn, i, SYNC_META_DRIFT, &now, sizeof(now));
    return rc;
}

static int store_write_backend(authdb *h, authdb_write_fn fn, void *arg)
{
    authdb_txn txn;
    int rc = AUTHDB_EBUSY;

    /* The backend serializes writers; EBUSY from commit is a serialization
     * failure: run fn again on fresh data. */
    for (int attempt = 0; attempt < 8 && rc == AUTHDB_EBUSY; attempt++) {
        rc = store_txn_init(h, h->flags & AUTHDB_BOTH, 1, &txn);
        if (rc != AUTHDB_OK)
            return rc;
        rc = fn(&txn, arg);
        if (rc == AUTHDB_OK)
            rc = h->be->commit(txn.bt);
        else
            h->be->abort(txn.bt);
        txn.bt = NULL;
    }
    return rc;
}

static int store_noop(authdb_txn *txn, void *arg)
{
    (void)txn;
    (void)arg;
    return AUTHDB_OK;
}

void store_test_stop_after_first_commit(authdb *h, int on)
{
    h->test_stop = on;
}

/* A write that changed both environments: store the journal of its policy
 * changes in secrets under a new number, and that number as applied in
 * policy (journal.c).  Returns 1 in *journaled when it did. */
static int store_journal_put(authdb_txn *txn, int *journaled)
{
    const void *j;
    size_t jlen;
    uint64_t seq = txn->jseq + 1, le = htole64(seq);
    int rc;

    *journaled = 0;
    if (txn->t[ENV_SECRETS] == NULL || txn->t[ENV_POLICY] == NULL || !txn->dirty[ENV_SECRETS] ||
        !txn->dirty[ENV_POLICY])
        return AUTHDB_OK;
    rc = journal_finish(&txn->jr, seq, &j, &jlen);
    if (rc == AUTHDB_OK)
        rc = store_meta_put(txn, ENV_SECRETS, JOURNAL_KEY, j, jlen);
    if (rc == AUTHDB_OK)
        rc = store_meta_put(txn, ENV_POLICY, JOURNAL_APPLIED, &le, sizeof(le));
    *journaled = rc == AUTHDB_OK;
    return rc;
}

/* Commit secrets, then policy.  Once secrets committed with a journal,
 * the change is decided: a failure of the policy commit is completed by a
 * roll forward (never by running fn again).  *grow: the env whose map
 * filled before anything was committed, else -1. */
static int store_commit(authdb *h, authdb_txn *txn, int journaled, int *grow)
{
    static const int order[ENV_COUNT] = {ENV_SECRETS, ENV_POLICY};
    int rc = AUTHDB_OK, done = 0;

    for (int k = 0; k < ENV_COUNT && rc == AUTHDB_OK; k++) {
        int i = order[k];
        if (txn->t[i] == NULL)
            continue;
        if (done && h->test_stop) {
            h->test_stop = 0; /* as if the process died here */
            break;
        }
        rc = mdb_txn_commit(txn->t[i]);
        txn->t[i] = NULL;
        if (rc != 0 && done && journaled) {
            txn_release(txn);
            if (rc == MDB_MAP_FULL && store_grow(txn->es, i) != 0)
                return rc;
            /* the next writer would complete it: be that writer now */
            return store_write(h, store_noop, NULL, 1);
        }
        if (rc == MDB_MAP_FULL && !done)
            *grow = i;
        rc = rc == 0 ? AUTHDB_OK : rc;
        done = 1;
    }
    return rc;
}

static int store_write(authdb *h, authdb_write_fn fn, void *arg, int sync)
{
    authdb_txn txn;
    char why[AUTHDB_WHY_MAX];
    int rc = AUTHDB_OK;

    if (!(h->flags & AUTHDB_WRITE))
        return AUTHDB_ERDONLY;
    if (h->managed && !sync && !(h->flags & AUTHDB_FORCE))
        return AUTHDB_EMANAGED;
    if (h->be != NULL)
        return store_write_backend(h, fn, arg);
    for (int attempt = 0; attempt < 16; attempt++) {
        int grow = -1, journaled = 0;

        rc = store_txn_init(h, h->flags & AUTHDB_BOTH, 1, &txn);
        if (rc != AUTHDB_OK)
            return rc;
        txn.sync_write = sync;
        why[0] = '\0';
        /* First complete a change a crash cut between the commits. */
        rc = journal_roll_forward(&txn, why, sizeof(why));
        if (rc != AUTHDB_OK && why[0] != '\0')
            authdb_logf(h->log, LOG_ERR, "%s: %s", h->dir, why);
        if (rc == AUTHDB_OK)
            rc = fn(&txn, arg);
        if (rc == AUTHDB_OK && h->managed && !sync)
            rc = store_mark_drift(&txn);
        if (rc == AUTHDB_OK)
            rc = store_journal_put(&txn, &journaled);
        for (int i = 0; i < ENV_COUNT; i++)
            if (txn.map_full[i])
                grow = i;
        if (rc == AUTHDB_OK && grow < 0)
            rc = store_commit(h, &txn, journaled, &grow);
        txn_release(&txn);
        if (grow < 0)
            return rc == MDB_MAP_FULL ? rc : status_from_mdb(rc);
        rc = store_grow(txn.es, grow);
        if (rc != 0)
            return rc;
    }
    return AUTHDB_EBUSY;
}

int authdb_write(authdb *h, authdb_write_fn fn, void *arg)
{
    return store_write(h, fn, arg, 0);
}

int store_write_sync(authdb *h, authdb_write_fn fn, void *arg)
{
    return store_write(h, fn, arg, 1);
}

/* ---------------------------------------------------------------- create */

static int mkdir_mode(const char *path, mode_t mode, gid_t gid, int *made)
{
    struct stat st;

    *made = 0;
    if (mkdir(path, mode) == 0)
        *made = 1;
    else if (errno != EEXIST)
        return errno;
    if (stat(path, &st) != 0)
        return errno;
    if (!S_ISDIR(st.st_mode))
        return ENOTDIR;
    if (*made) {
        if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0)
            return errno;
        if (chmod(path, mode) != 0)
            return errno;
    }
    return 0;
}

static int file_create(const char *path, mode_t mode, gid_t gid)
{
    int fd, rc = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return errno;
    if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0)
        rc = errno;
    if (rc == 0 && fchmod(fd, mode) != 0)
        rc = errno;
    close(fd);
    return rc;
}

struct env_put {
    MDB_txn *t;
    struct store_env *e;
};

static int create_meta_put(void *arg, const char *key, const void *val, size_t len)
{
    struct env_put *ep = arg;
    return env_meta_put(ep->t, ep->e, key, val, len);
}

static int create_env(const char *dir, int which, const authdb_create_opts *o, const char *idhex,
                      char *why, size_t whylen)
{
    struct env_put ep;
    char path[4096], file[4200];
    gid_t gid = which == ENV_SECRETS ? o->secrets_gid : o->policy_gid;
    struct store_env e = {0};
    MDB_txn *t = NULL;
    uint32_t schema = htole32(AUTHDB_SCHEMA);
    int64_t now = (int64_t)time(NULL);
    int made, rc;

    if (store_env_path(dir, which, path, sizeof(path)) != AUTHDB_OK)
        return AUTHDB_ETOOLONG;
    rc = mkdir_mode(path, 0750, gid, &made);
    if (rc != 0) {
        why_set(why, whylen, "%s: %s", path, strerror(rc));
        return rc;
    }
    snprintf(file, sizeof(file), "%s/data.mdb", path);
    rc = file_create(file, 0640, gid);
    if (rc == 0) {
        snprintf(file, sizeof(file), "%s/lock.mdb", path);
        rc = file_create(file, 0660, gid);
    }
    if (rc != 0) {
        why_set(why, whylen, "%s: %s", file,
                rc == EEXIST ? "already exists (is there a store here?)" : strerror(rc));
        return rc == EEXIST ? AUTHDB_EEXIST : rc;
    }
    rc = mdb_env_create(&e.env);
    if (rc != 0)
        goto mdb_fail;
    mdb_env_set_maxreaders(e.env, STORE_MAXREADERS);
    mdb_env_set_maxdbs(e.env, 4);
    mdb_env_set_mapsize(e.env, o->mapsize ? o->mapsize : STORE_MAPSIZE_MIN);
    rc = mdb_env_open(e.env, path, MDB_NOTLS | MDB_NORDAHEAD, 0640);
    if (rc != 0)
        goto mdb_fail;
    rc = mdb_txn_begin(e.env, NULL, 0, &t);
    if (rc == 0)
        rc = mdb_dbi_open(t, "meta", MDB_CREATE, &e.meta);
    if (rc == 0 && which == ENV_SECRETS)
        rc = mdb_dbi_open(t, "users", MDB_CREATE, &e.main);
    if (rc == 0 && which == ENV_POLICY) {
        rc = mdb_dbi_open(t, "rules", MDB_CREATE, &e.main);
        if (rc == 0)
            rc = mdb_dbi_open(t, "ruleidx", MDB_CREATE | MDB_DUPSORT, &e.ruleidx);
        if (rc == 0)
            rc = mdb_dbi_open(t, "domains", MDB_CREATE, &e.domains);
    }
    if (rc != 0)
        goto mdb_fail;
    rc = env_meta_put(t, &e, "format", which == ENV_SECRETS ? STORE_FORMAT_SEC : STORE_FORMAT_POL,
                      strlen(which == ENV_SECRETS ? STORE_FORMAT_SEC : STORE_FORMAT_POL));
    if (rc == 0)
        rc = env_meta_put(t, &e, "schema", &schema, sizeof(schema));
    if (rc == 0)
        rc = env_meta_put(t, &e, "created", &now, sizeof(now));
    if (rc == 0)
        rc = env_meta_put(t, &e, "store_id", idhex, strlen(idhex));
    if (rc != 0)
        goto mdb_fail;
    ep.t = t;
    ep.e = &e;
    rc = settings_put_defaults(which, o->settings, create_meta_put, &ep, why, whylen);
    if (rc != AUTHDB_OK)
        goto out;
    rc = mdb_txn_commit(t);
    t = NULL;
    if (rc != 0)
        goto mdb_fail;
    rc = AUTHDB_OK;
    goto out;
mdb_fail:
    why_set(why, whylen, "%s: %s", path, authdb_strerror(rc));
out:
    if (t != NULL)
        mdb_txn_abort(t);
    if (e.env != NULL)
        mdb_env_close(e.env);
    return rc;
}

static void create_undo(const char *dir, int which)
{
    char path[4096], file[4200];

    if (store_env_path(dir, which, path, sizeof(path)) != AUTHDB_OK)
        return;
    snprintf(file, sizeof(file), "%s/data.mdb", path);
    unlink(file);
    snprintf(file, sizeof(file), "%s/lock.mdb", path);
    unlink(file);
    rmdir(path);
}

int authdb_create(const char *dir, const authdb_create_opts *opts, char *why, size_t whylen)
{
    authdb_create_opts o = {(gid_t)-1, (gid_t)-1, 0, NULL};
    int made_dir = 0, made[ENV_COUNT] = {0}, rc;
    char path[4096], idhex[33];
    unsigned char id[16];
    const struct kv_backend *be;
    struct stat st;

    if (why != NULL && whylen > 0)
        why[0] = '\0';
    if (opts != NULL)
        o = *opts;
    if (dir == NULL || dir[0] == '\0')
        return AUTHDB_EINVAL;
    for (int i = 0; i < ENV_COUNT && !store_is_uri(dir); i++) {
        if (store_env_path(dir, i, path, sizeof(path)) != AUTHDB_OK)
            return AUTHDB_ETOOLONG;
        strncat(path, "/data.mdb", sizeof(path) - strlen(path) - 1);
        if (stat(path, &st) == 0) {
            why_set(why, whylen, "%s: %s", path, "already exists: a store is already here");
            return AUTHDB_EEXIST;
        }
    }
    if (getentropy(id, sizeof(id)) != 0)
        return errno;
    for (size_t i = 0; i < sizeof(id); i++)
        snprintf(idhex + 2 * i, 3, "%02x", id[i]);
    if (store_backend_for(dir, &be, why, whylen) != AUTHDB_OK)
        return AUTHDB_ENOSTORE;
    if (be != NULL)
        return be->create(dir, &o, idhex, why, whylen);
    rc = mkdir_mode(dir, 0755, (gid_t)-1, &made_dir);
    if (rc != 0) {
        why_set(why, whylen, "%s: %s", dir, strerror(rc));
        return rc;
    }
    for (int i = 0; i < ENV_COUNT; i++) {
        rc = create_env(dir, i, &o, idhex, why, whylen);
        if (rc != AUTHDB_OK)
            goto out;
        made[i] = 1;
    }
out:
    if (rc != AUTHDB_OK) {
        for (int i = 0; i < ENV_COUNT; i++)
            if (made[i] || rc != AUTHDB_EEXIST)
                create_undo(dir, i);
        if (made_dir)
            rmdir(dir);
    }
    return rc;
}
