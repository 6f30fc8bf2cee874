/*
 * kv.c - the key/value layer every authdb module writes its logic over.
 *
 * Interface (authdb_private.h): kv_get, kv_put, kv_del, kv_count,
 * kv_clear, kv_cursor_open, kv_cursor_get, kv_cursor_close, kv_foreach,
 * kv_env_of, kv_meta_of, kv_db_name.
 *
 * Two implementations behind one set of calls: LMDB (here, a few lines
 * per operation on the txn's MDB_txn: the readers' fast path stays one
 * branch away from mdb_get), and a struct kv_backend (PostgreSQL, pg*.c)
 * when the handle has one.  Both order keys bytewise and both hold a
 * dupsort DB (ruleidx) as ordered (key, value) pairs.
 *
 * Every successful LMDB write also marks its environment dirty in the txn
 * and, for the policy environment, goes into the txn's journal (journal.c),
 * so that store.c can make a write that changed both environments whole
 * after a crash between their commits.
 *
 * Diagnostics: none; LMDB codes become authdb codes except MDB_MAP_FULL
 * and MDB_TXN_FULL, which are noted in the txn (store_note) and returned
 * as they are so that authdb_write grows the map and runs again.
 */
#include <stdlib.h>
#include <string.h>

#include "authdb_private.h"

static const struct {
    int env;
    const char *name;
} kv_dbs[KV_DB_COUNT] = {
    [KV_SECRETS_META] = {ENV_SECRETS, "secrets_meta"},
    [KV_USERS] = {ENV_SECRETS, "secrets_users"},
    [KV_POLICY_META] = {ENV_POLICY, "policy_meta"},
    [KV_RULES] = {ENV_POLICY, "policy_rules"},
    [KV_RULEIDX] = {ENV_POLICY, "policy_ruleidx"},
    [KV_DOMAINS] = {ENV_POLICY, "policy_domains"},
};

struct kv_cursor {
    authdb_txn *txn;
    MDB_cursor *mc; /* LMDB */
    void *bc;       /* backend */
};

int kv_env_of(enum kv_db db)
{
    return kv_dbs[db].env;
}

enum kv_db kv_meta_of(int which)
{
    return which == ENV_SECRETS ? KV_SECRETS_META : KV_POLICY_META;
}

const char *kv_db_name(enum kv_db db)
{
    return kv_dbs[db].name;
}

/* The LMDB txn and DBI of db, or AUTHDB_ENOENV. */
static int kv_lmdb(authdb_txn *txn, enum kv_db db, MDB_txn **t, MDB_dbi *dbi)
{
    int which = kv_dbs[db].env;
    struct store_env *e;

    *t = txn->t[which];
    if (*t == NULL)
        return AUTHDB_ENOENV;
    e = &txn->es->e[which];
    switch (db) {
    case KV_SECRETS_META:
    case KV_POLICY_META:
        *dbi = e->meta;
        break;
    case KV_RULEIDX:
        *dbi = e->ruleidx;
        break;
    case KV_DOMAINS:
        *dbi = e->domains;
        break;
    default:
        *dbi = e->main;
        break;
    }
    return AUTHDB_OK;
}

static int kv_mdb_status(authdb_txn *txn, enum kv_db db, int rc)
{
    if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
        return store_note(txn, kv_dbs[db].env, rc);
    if (rc == MDB_KEYEXIST)
        return AUTHDB_EEXIST;
    return status_from_mdb(rc);
}

/* After an LMDB write op: note that it reached its environment and, for
 * the policy environment, record it in the txn's journal (journal.c). */
static int kv_noted(authdb_txn *txn, enum kv_db db, int rc, enum journal_kind kind, const void *key,
                    size_t klen, const void *val, size_t vlen)
{
    txn->dirty[kv_dbs[db].env] = 1;
    if (rc != AUTHDB_OK)
        return rc;
    return journal_note(txn, kind, db, key, klen, val, vlen);
}

int kv_get(authdb_txn *txn, enum kv_db db, const void *key, size_t klen, kv_val *out)
{
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v;
    int rc;

    if (txn->bt != NULL)
        return txn->h->be->get(txn->bt, db, key, klen, out);
    if ((rc = kv_lmdb(txn, db, &t, &dbi)) != AUTHDB_OK)
        return rc;
    rc = mdb_get(t, dbi, &k, &v);
    if (rc != 0)
        return status_from_mdb(rc);
    out->size = v.mv_size;
    out->data = v.mv_data;
    return AUTHDB_OK;
}

int kv_put(authdb_txn *txn, enum kv_db db, const void *key, size_t klen, const void *val,
           size_t vlen, unsigned flags)
{
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    unsigned mf = 0;
    int rc;

    if (!txn->write)
        return AUTHDB_ERDONLY;
    if (txn->bt != NULL)
        return txn->h->be->put(txn->bt, db, key, klen, val, vlen, flags);
    if ((rc = kv_lmdb(txn, db, &t, &dbi)) != AUTHDB_OK)
        return rc;
    if (flags & KV_NOOVERWRITE)
        mf |= MDB_NOOVERWRITE;
    if (flags & KV_NODUPDATA)
        mf |= MDB_NODUPDATA;
    rc = kv_mdb_status(txn, db, mdb_put(t, dbi, &k, &v, mf));
    return kv_noted(txn, db, rc, JOURNAL_PUT, key, klen, val, vlen);
}

int kv_del(authdb_txn *txn, enum kv_db db, const void *key, size_t klen, const void *val,
           size_t vlen)
{
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc;

    if (!txn->write)
        return AUTHDB_ERDONLY;
    if (txn->bt != NULL)
        return txn->h->be->del(txn->bt, db, key, klen, val, vlen);
    if ((rc = kv_lmdb(txn, db, &t, &dbi)) != AUTHDB_OK)
        return rc;
    rc = kv_mdb_status(txn, db, mdb_del(t, dbi, &k, val != NULL ? &v : NULL));
    return kv_noted(txn, db, rc, val != NULL ? JOURNAL_DEL_PAIR : JOURNAL_DEL, key, klen, val,
                    val != NULL ? vlen : 0);
}

int kv_count(authdb_txn *txn, enum kv_db db, size_t *n)
{
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_stat st;
    int rc;

    *n = 0;
    if (txn->bt != NULL)
        return txn->h->be->count(txn->bt, db, n);
    if ((rc = kv_lmdb(txn, db, &t, &dbi)) != AUTHDB_OK)
        return rc;
    if ((rc = mdb_stat(t, dbi, &st)) != 0)
        return status_from_mdb(rc);
    *n = st.ms_entries;
    return AUTHDB_OK;
}

int kv_clear(authdb_txn *txn, enum kv_db db)
{
    MDB_txn *t;
    MDB_dbi dbi;
    int rc;

    if (!txn->write)
        return AUTHDB_ERDONLY;
    if (txn->bt != NULL)
        return txn->h->be->clear(txn->bt, db);
    if ((rc = kv_lmdb(txn, db, &t, &dbi)) != AUTHDB_OK)
        return rc;
    rc = kv_mdb_status(txn, db, mdb_drop(t, dbi, 0));
    return kv_noted(txn, db, rc, JOURNAL_CLEAR, NULL, 0, NULL, 0);
}

int kv_cursor_open(authdb_txn *txn, enum kv_db db, kv_cursor **out)
{
    kv_cursor *c;
    MDB_txn *t;
    MDB_dbi dbi;
    int rc;

    *out = NULL;
    if (txn->bt == NULL && (rc = kv_lmdb(txn, db, &t, &dbi)) != AUTHDB_OK)
        return rc;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return AUTHDB_ENOMEM;
    c->txn = txn;
    if (txn->bt != NULL)
        rc = txn->h->be->cursor_open(txn->bt, db, &c->bc);
    else
        rc = status_from_mdb(mdb_cursor_open(t, dbi, &c->mc));
    if (rc != AUTHDB_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return AUTHDB_OK;
}

int kv_cursor_get(kv_cursor *c, kv_val *k, kv_val *v, enum kv_op op)
{
    static const MDB_cursor_op ops[] = {
        [KV_FIRST] = MDB_FIRST,       [KV_NEXT] = MDB_NEXT,         [KV_SET_KEY] = MDB_SET_KEY,
        [KV_NEXT_DUP] = MDB_NEXT_DUP, [KV_GET_BOTH] = MDB_GET_BOTH,
    };
    MDB_val mk = {k->size, (void *)k->data}, mv = {v->size, (void *)v->data};
    int rc;

    if (c->bc != NULL)
        return c->txn->h->be->cursor_get(c->bc, k, v, op);
    rc = mdb_cursor_get(c->mc, &mk, &mv, ops[op]);
    if (rc != 0)
        return status_from_mdb(rc);
    k->size = mk.mv_size;
    k->data = mk.mv_data;
    v->size = mv.mv_size;
    v->data = mv.mv_data;
    return AUTHDB_OK;
}

void kv_cursor_close(kv_cursor *c)
{
    if (c == NULL)
        return;
    if (c->bc != NULL)
        c->txn->h->be->cursor_close(c->bc);
    if (c->mc != NULL)
        mdb_cursor_close(c->mc);
    free(c);
}

/* Visit every record of db in key order with its key copied and
 * NUL-terminated; a key longer than maxkey is AUTHDB_ECORRUPT.  The first
 * non-OK return of fn stops the walk and is returned. */
int kv_foreach(authdb_txn *txn, enum kv_db db, size_t maxkey, kv_visit_fn fn, void *arg)
{
    char key[AUTHDB_NAME_BUFSZ];
    kv_cursor *c = NULL;
    kv_val k = {0}, v = {0};
    int rc, r;

    if (maxkey >= sizeof(key))
        return AUTHDB_EINVAL;
    rc = kv_cursor_open(txn, db, &c);
    if (rc != AUTHDB_OK)
        return rc;
    for (r = kv_cursor_get(c, &k, &v, KV_FIRST); r == AUTHDB_OK && rc == AUTHDB_OK;
         r = kv_cursor_get(c, &k, &v, KV_NEXT)) {
        if (k.size > maxkey) {
            rc = AUTHDB_ECORRUPT;
            break;
        }
        memcpy(key, k.data, k.size);
        key[k.size] = '\0';
        rc = fn(key, k.size, &v, arg);
    }
    if (rc == AUTHDB_OK && r != AUTHDB_NOTFOUND)
        rc = r;
    kv_cursor_close(c);
    return rc;
}
