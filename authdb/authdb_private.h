/*
 * authdb_private.h - internals shared by the authdb modules.  Not installed.
 *
 * Layout of a store directory:
 *   <dir>/secrets/{data,lock}.mdb  named DBs "meta", "users"
 *   <dir>/policy/{data,lock}.mdb   named DBs "meta", "rules", "ruleidx"
 *                                  (dupsort), "domains"
 * meta keys: "format" ("authgate-secrets" / "authgate-policy"), "schema"
 * (u32 little-endian), "store_id" (hex), "created", "dummy_hash" (secrets),
 * "s:<setting>" for every stored setting, "pending-policy" (secrets: the
 * journal of the last write that changed both environments, journal.c) and
 * "applied-seq" (policy: u64 LE, the last journal whose changes policy
 * holds).
 */
#ifndef AUTHDB_PRIVATE_H
#define AUTHDB_PRIVATE_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "authdb.h"

#define ENV_SECRETS 0
#define ENV_POLICY  1
#define ENV_COUNT   2

#define STORE_MAXREADERS  1024 /* every process must agree */
#define STORE_MAPSIZE_MIN (64UL << 20)
#define STORE_MAPSIZE_MAX (64UL << 30)
#define STORE_FORMAT_SEC  "authgate-secrets"
#define STORE_FORMAT_POL  "authgate-policy"
#define RECORD_VERSION    1

/* One LMDB environment as opened by one process. */
struct store_env {
    MDB_env *env;
    MDB_dbi meta;
    MDB_dbi main;    /* users (secrets) or rules (policy) */
    MDB_dbi ruleidx; /* policy only */
    MDB_dbi domains; /* policy only */
    size_t psize;    /* page size, for the truncation check */
    /* When a read txn last found data.mdb long enough: the coarse clock's
     * millisecond and the txn id (store.c, env_size_recheck). */
    _Atomic long long size_ms;
    _Atomic size_t size_txnid;
    /* The newest txn id whose schema a reader saw checked; a read txn of a
     * newer id checks it again (a newer authgatectl may have migrated the
     * store in place while this process had it open). */
    _Atomic size_t schema_txnid;
    int open;
    /* The DBI handles are open and format and schema were checked.  A
     * read-only open that finds the reader table full of live readers
     * keeps the environment (the files stay reachable after a chroot or a
     * privilege drop) and leaves this to the first read txn that gets a
     * slot (store.c, env_setup). */
    _Atomic int ready;
    /* Stale reader slots (killed readers) the open cleared, for
     * authdb_check to report (maint.c). */
    int stale_cleared;
    int managed; /* meta "sync:central" was set at open */
};

/* Everything that belongs to the process that opened it.  After fork() the
 * child builds a new envset; the parent's is abandoned, never closed. */
struct store_envset {
    pid_t pid;
    pthread_rwlock_t resize; /* read: a txn is open; write: set_mapsize */
    pthread_mutex_t setup;   /* serializes env_setup (mdb_dbi_open) */
    struct store_env e[ENV_COUNT];
};

/* ------------------------------------------------------------------ kv
 * The key/value operations every module uses instead of calling LMDB
 * (kv.c).  The LMDB implementation is inline in kv.c; another backend
 * (PostgreSQL: pg*.c, library authdb_pg) supplies a struct kv_backend.
 *
 * DBs: the named LMDB databases of both environments.  Keys and values
 * compare bytewise (memcmp, then the shorter first), in every backend.
 * Value lifetime: a value from kv_get is valid until the next kv call on
 * the same txn (LMDB: until a write or txn end); one from a cursor until
 * the next call on that cursor.  Copy out what must live longer.
 * Status: AUTHDB_OK, AUTHDB_NOTFOUND, AUTHDB_EEXIST (KV_NOOVERWRITE /
 * KV_NODUPDATA hit), AUTHDB_ENOENV (txn lacks the DB's environment),
 * MDB_MAP_FULL / MDB_TXN_FULL (noted in the txn; authdb_write grows the map
 * and runs the callback again), or another store error.
 */
enum kv_db {
    KV_SECRETS_META = 0,
    KV_USERS,
    KV_POLICY_META,
    KV_RULES,
    KV_RULEIDX, /* dupsort: several values per key */
    KV_DOMAINS,
    KV_DB_COUNT
};

typedef struct kv_val {
    size_t size;
    const void *data;
} kv_val;

enum kv_put_flags { KV_NOOVERWRITE = 1, KV_NODUPDATA = 2 };
enum kv_op { KV_FIRST = 1, KV_NEXT, KV_SET_KEY, KV_NEXT_DUP, KV_GET_BOTH };

typedef struct kv_cursor kv_cursor;

/* The environment (ENV_SECRETS / ENV_POLICY) a DB lives in, and the meta
 * DB of an environment. */
int kv_env_of(enum kv_db db);
enum kv_db kv_meta_of(int which);
/* The table name of a DB in the PostgreSQL schema ("secrets_users"). */
const char *kv_db_name(enum kv_db db);

int kv_get(authdb_txn *txn, enum kv_db db, const void *key, size_t klen, kv_val *out);
int kv_put(authdb_txn *txn, enum kv_db db, const void *key, size_t klen, const void *val,
           size_t vlen, unsigned flags);
/* Delete key (every value of it) when val is NULL, else the one pair. */
int kv_del(authdb_txn *txn, enum kv_db db, const void *key, size_t klen, const void *val,
           size_t vlen);
/* Number of entries (pairs, for KV_RULEIDX). */
int kv_count(authdb_txn *txn, enum kv_db db, size_t *n);
/* Remove every entry of a DB (sync's full reload). */
int kv_clear(authdb_txn *txn, enum kv_db db);
int kv_cursor_open(authdb_txn *txn, enum kv_db db, kv_cursor **out);
/* KV_FIRST, KV_NEXT: walk in key order (every pair of a dupsort DB).
 * KV_SET_KEY: position at *k (input), return its first value.
 * KV_NEXT_DUP: the next value of the current key.  KV_GET_BOTH: the pair
 * *k, *v (inputs) exists.  AUTHDB_NOTFOUND past the end. */
int kv_cursor_get(kv_cursor *c, kv_val *k, kv_val *v, enum kv_op op);
void kv_cursor_close(kv_cursor *c);
typedef int (*kv_visit_fn)(const char *key, size_t klen, const kv_val *v, void *arg);
int kv_foreach(authdb_txn *txn, enum kv_db db, size_t maxkey, kv_visit_fn fn, void *arg);

/* A backend other than LMDB.  Handles and txns of such a backend carry
 * its own state (authdb.bctx, authdb_txn.bt); store.c and kv.c dispatch
 * here when it is set.  Every function returns an authdb status. */
struct kv_backend {
    const char *scheme; /* URI prefix it opens, e.g. "postgresql:" */
    int (*open)(const char *uri, unsigned flags, void **ctx, char *why, size_t whylen);
    void (*close)(void *ctx);
    int (*create)(const char *uri, const authdb_create_opts *o, const char *idhex, char *why,
                  size_t whylen);
    /* A read txn (write 0) or the callback txn of authdb_write (write 1:
     * the backend serializes writers and makes fn's effects atomic). */
    int (*begin)(void *ctx, int write, void **bt);
    int (*commit)(void *bt);
    void (*abort)(void *bt);
    int (*get)(void *bt, enum kv_db db, const void *key, size_t klen, kv_val *out);
    int (*put)(void *bt, enum kv_db db, const void *key, size_t klen, const void *val, size_t vlen,
               unsigned flags);
    int (*del)(void *bt, enum kv_db db, const void *key, size_t klen, const void *val, size_t vlen);
    int (*count)(void *bt, enum kv_db db, size_t *n);
    int (*clear)(void *bt, enum kv_db db);
    int (*cursor_open)(void *bt, enum kv_db db, void **bc);
    int (*cursor_get)(void *bc, kv_val *k, kv_val *v, enum kv_op op);
    void (*cursor_close)(void *bc);
};

/* The PostgreSQL backend: defined in authdb_pg (pgstore.c).  Weak and
 * hidden: NULL in programs that did not link authdb_pg (the SASL plugin,
 * the milter, authd), so they can never open a postgresql:// store. */
extern const struct kv_backend pg_kv_backend __attribute__((weak, visibility("hidden")));

/* The policy changes of a write txn, in order (journal.c). */
struct store_journal {
    unsigned char *buf; /* header + ops; NULL until the first op */
    size_t len, cap;
    uint32_t ops;
    int failed; /* an op could not be recorded: the write fails */
    int closed; /* journal_finish ran: later writes are not recorded */
};

struct authdb {
    char *dir;
    const authdb_log *log; /* may be NULL (authdb_open_log) */
    int test_stop;         /* store_test_stop_after_first_commit */
    unsigned flags;
    pthread_mutex_t reopen;
    _Atomic(struct store_envset *) cur; /* LMDB; NULL with a backend */
    /* A page of its own with MADV_WIPEONFORK: 1 once this process's envset
     * is current, 0 in a child after fork() (store_enter's fast path, no
     * getpid() syscall per call); NULL where the kernel cannot. */
    _Atomic int *forkmark;
    const struct kv_backend *be; /* NULL: LMDB */
    void *bctx;                  /* the backend's handle state */
    int managed;                 /* meta "sync:central" is set (LMDB) */
};

struct authdb_txn {
    authdb *h;
    struct store_envset *es;
    int write;
    unsigned envs;           /* AUTHDB_SECRETS|AUTHDB_POLICY allowed */
    MDB_txn *t[ENV_COUNT];   /* NULL until used (write) or begun (read) */
    int map_full[ENV_COUNT]; /* an operation hit MDB_MAP_FULL */
    int locked;              /* holds es->resize for reading */
    void *bt;                /* the backend's txn (h->be != NULL) */
    int sync_write;          /* authgate-sync's apply: no drift mark */
    int dirty[ENV_COUNT];    /* a write op reached the environment */
    struct store_journal jr; /* policy ops, when the txn has both envs */
    uint64_t jseq;           /* the newest journal number seen (write) */
    /* Settings every decision needs, read once per transaction (a write
     * of a setting in this txn drops them). */
    authdb_norm norm;
    int norm_ok;
    int self_send; /* -1: not read yet */
};

/* store.c */
int store_txn_env(authdb_txn *txn, int which, MDB_txn **out, struct store_env **env);
int store_note(authdb_txn *txn, int which, int rc);
int store_read_one(authdb *h, authdb_txn *given, unsigned envs, authdb_txn **use, int *own);
int store_read_local(authdb *h, unsigned envs, authdb_txn *txn);
void store_read_local_end(authdb_txn *txn);
int store_is_write(const authdb_txn *txn);
int store_env_path(const char *dir, int which, char *out, size_t outsz);
int store_meta_get(authdb_txn *txn, int which, const char *key, kv_val *out);
int store_meta_put(authdb_txn *txn, int which, const char *key, const void *val, size_t len);
int store_has_env(const authdb_txn *txn, int which);
const char *store_env_name(int which);

/* Store meta keys the sync keeps on a node (both environments). */
#define SYNC_META_CENTRAL "sync:central" /* id of the central store followed */
#define SYNC_META_SEQ     "sync:seq"     /* u64 LE: last change applied */
#define SYNC_META_DRIFT   "sync:drift"   /* i64 LE: time of a forced local write */

/* authdb_write for authgate-sync's apply (no managed check, no drift
 * mark). */
int store_write_sync(authdb *h, authdb_write_fn fn, void *arg);
int store_is_lmdb(const authdb *h);

/* Test builds only: the next authdb_write of h returns after committing
 * the secrets environment, leaving policy uncommitted, as a crash there
 * would (test_store.c). */
void store_test_stop_after_first_commit(authdb *h, int on);

/* journal.c */
#define JOURNAL_KEY     "pending-policy" /* secrets meta */
#define JOURNAL_APPLIED "applied-seq"    /* policy meta */
enum journal_kind { JOURNAL_PUT = 1, JOURNAL_DEL, JOURNAL_DEL_PAIR, JOURNAL_CLEAR };
/* Record one policy-env op of txn (kv.c, after it succeeded).  A no-op
 * unless txn is an LMDB write with both environments.  AUTHDB_ENOMEM when
 * the journal cannot grow (and every later note and the commit fail). */
int journal_note(authdb_txn *txn, enum journal_kind kind, enum kv_db db, const void *key,
                 size_t klen, const void *val, size_t vlen);
void journal_free(struct store_journal *j);
/* Fill the header; *out (owned by j) is the value to store. */
int journal_finish(struct store_journal *j, uint64_t seq, const void **out, size_t *outlen);
/* Validate a stored journal; its number in *seq.  AUTHDB_ECORRUPT with a
 * sentence in why. */
int journal_check(const void *data, size_t len, uint64_t *seq, char *why, size_t whylen);
/* Check, then apply every op to txn's policy environment. */
int journal_replay(authdb_txn *txn, const void *data, size_t len, char *why, size_t whylen);
/* policy meta applied-seq (0 when absent). */
int journal_applied(authdb_txn *txn, uint64_t *seq);
/* AUTHDB_OK when secrets hold a journal policy has not applied (*journal
 * points into txn), AUTHDB_NOTFOUND when not (or txn lacks an env),
 * AUTHDB_ECORRUPT (why), or a store error. */
int journal_pending(authdb_txn *txn, kv_val *journal, uint64_t *seq, uint64_t *applied, char *why,
                    size_t whylen);
/* At the start of a write attempt: replay a pending journal into txn and
 * set applied-seq (logged at LOG_NOTICE); note the newest number in
 * txn->jseq. */
int journal_roll_forward(authdb_txn *txn, char *why, size_t whylen);

/* status.c */
int status_from_mdb(int rc);

/* settings.c */
int settings_read_norm(authdb_txn *txn, authdb_norm *out);
typedef int (*settings_put_fn)(void *arg, const char *key, const void *val, size_t len);
int settings_put_defaults(int which, const char *const *given, settings_put_fn put, void *arg,
                          char *why, size_t whylen);

/* pwhash.c */
int pwhash_make(const char *method, const char *password, size_t pwlen, char *out, size_t outsz);
int pwhash_check(const char *hash, const char *password, size_t pwlen);
int pwhash_valid(const char *hash, const char **scheme);
int pwhash_dummy(const char *method, char *out, size_t outsz);

/* scram.c */
enum scram_hash { SCRAM_SHA1 = 1, SCRAM_SHA256 = 2 };
int scram_keys(enum scram_hash h, const char *pw, size_t pwlen, const unsigned char *salt,
               size_t saltlen, unsigned iter, unsigned char *client_key, unsigned char *stored_key,
               unsigned char *server_key, size_t *keylen);
int scram_format(enum scram_hash h, const char *pw, size_t pwlen, const unsigned char *salt,
                 size_t saltlen, unsigned iter, char *out, size_t outsz);
int scram_valid(enum scram_hash h, const char *text, size_t len);
int b64_encode(const unsigned char *in, size_t len, char *out, size_t outsz);
int b64_decode(const char *in, size_t len, unsigned char *out, size_t outsz, size_t *outlen);

/* legacy.c */
int legacy_cram_state(const char *pw, size_t pwlen, unsigned char out[32]);
int legacy_digest_ha1(const char *user, const char *realm, const char *pw, size_t pwlen,
                      unsigned char out[16]);
int legacy_plain(const unsigned char salt[16], const char *pw, size_t pwlen, unsigned char out[33]);

/* secret.c */
int secret_decode(const void *data, size_t len, authdb_secrets **out);
int secret_encode(const authdb_secrets *s, unsigned flags, unsigned mechs, int64_t created,
                  int64_t changed, unsigned char **out, size_t *outlen);
int secret_header(const void *data, size_t len, authdb_user *u);

/* normalize.c */
int norm_split(const char *key, size_t len, size_t *at);
int norm_strip_subaddress(const authdb_norm *n, char *addr, size_t *len);

/* policy.c */
int policy_del_login(authdb_txn *txn, const char *key, size_t klen);
int policy_has_rules(authdb_txn *txn, int *any);
int policy_mark_login(authdb_txn *txn, const char *key, size_t klen);
int policy_login_known(authdb_txn *txn, const char *key, size_t klen);
int policy_rules_check(const authdb_norm *n, const void *rec, size_t len, const char **why);
int policy_rules_patterns(const void *rec, size_t len, int (*cb)(const char *, size_t, void *),
                          void *arg);

/* util: lengths that callers pass as "NUL-terminated" */
#define ADB_STRLEN(s, l) ((l) == (size_t)-1 ? strlen(s) : (l))

#endif
