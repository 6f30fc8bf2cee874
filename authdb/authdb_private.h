/*
 * authdb_private.h - internals shared by the authdb modules.  Not installed.
 *
 * Layout of a store directory:
 *   <dir>/secrets/{data,lock}.mdb  named DBs "meta", "users"
 *   <dir>/policy/{data,lock}.mdb   named DBs "meta", "rules", "ruleidx"
 *                                  (dupsort), "domains"
 * meta keys: "format" ("authgate-secrets" / "authgate-policy"), "schema"
 * (u32 little-endian), "store_id" (hex), "created", "dummy_hash" (secrets),
 * and "s:<setting>" for every stored setting.
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
    /* The newest txn id whose schema a reader saw checked; a read txn of a
     * newer id checks it again (a newer authgatectl may have migrated the
     * store in place while this process had it open). */
    _Atomic size_t schema_txnid;
    int open;
};

/* Everything that belongs to the process that opened it.  After fork() the
 * child builds a new envset; the parent's is abandoned, never closed. */
struct store_envset {
    pid_t pid;
    pthread_rwlock_t resize; /* read: a txn is open; write: set_mapsize */
    struct store_env e[ENV_COUNT];
};

struct authdb {
    char *dir;
    unsigned flags;
    pthread_mutex_t reopen;
    _Atomic(struct store_envset *) cur;
};

struct authdb_txn {
    authdb *h;
    struct store_envset *es;
    int write;
    unsigned envs;           /* AUTHDB_SECRETS|AUTHDB_POLICY allowed */
    MDB_txn *t[ENV_COUNT];   /* NULL until used (write) or begun (read) */
    int map_full[ENV_COUNT]; /* an operation hit MDB_MAP_FULL */
    int locked;              /* holds es->resize for reading */
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
int store_meta_get(MDB_txn *t, struct store_env *e, const char *key, MDB_val *out);
int store_meta_put(MDB_txn *t, struct store_env *e, const char *key, const void *val, size_t len);
const char *store_env_name(int which);

/* status.c */
int status_from_mdb(int rc);

/* settings.c */
int settings_read_norm(authdb_txn *txn, authdb_norm *out);
int settings_put_defaults(MDB_txn *t, struct store_env *e, int which, const char *const *given,
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

/* util: lengths that callers pass as "NUL-terminated" */
#define ADB_STRLEN(s, l) ((l) == (size_t)-1 ? strlen(s) : (l))

#endif
