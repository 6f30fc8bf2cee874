/*
 * pgstore.c - the PostgreSQL implementation of authdb's key/value layer.
 *
 * Interface: pg_kv_backend (struct kv_backend, authdb_private.h),
 * authdb_pg_register (authdb_pg.h).
 *
 * One connection per handle, and one SQL transaction per command: the
 * first operation on a handle begins it and it lasts until authdb_write
 * commits or the handle is closed.  A read-only handle reads one
 * REPEATABLE READ snapshot for its whole life (an export is consistent);
 * a writable one runs READ COMMITTED and, when authdb_write starts, takes
 * pg_advisory_xact_lock(PG_LOCK_KEY) so that writers are serialized (the
 * read-modify-write logic of authdb sees the latest committed data, and
 * change sequence numbers follow commit order).  The callback runs inside
 * a savepoint; commit ends the transaction.
 * Values are bound as binary parameters and read as binary results (bytea
 * octets as they are): no value is ever part of SQL text.  Table names are
 * the fixed names of kv_db_name().
 * Value lifetime (kv.c contract): a kv_get result lives until the next
 * kv_get on the handle; a cursor row until the cursor moves (pages of
 * PG_PAGE rows, continued after the last key, or key and value).
 * Diagnostics: open's why gets libpq's message; statement failures become
 * AUTHDB_EREMOTE / AUTHDB_EPERM / AUTHDB_EBUSY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_private.h"

#define PG_PAGE 1000

struct pg_ctx;

struct pg_txn {
    struct pg_ctx *ctx;
    int write;
};

struct pg_ctx {
    PGconn *conn;
    unsigned flags;
    int in_txn;       /* BEGIN sent */
    int locked;       /* the advisory lock is held (write under way) */
    PGresult *last;   /* result of the last get */
    struct pg_txn rd; /* read "transactions" share the connection's */
    struct pg_txn wr;
    char err[512];
};

struct pg_cursor {
    struct pg_ctx *ctx;
    enum kv_db db;
    PGresult *res;
    int row, dup; /* dup: rows of one key (SET_KEY / NEXT_DUP) */
};

int authdb_pg_register(void)
{
    return AUTHDB_OK;
}

static int pg_open(const char *uri, unsigned flags, void **out, char *why, size_t whylen)
{
    struct pg_ctx *ctx;
    PGresult *r = NULL;
    unsigned version;
    int rc;

    *out = NULL;
    if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
        return AUTHDB_ENOMEM;
    ctx->flags = flags;
    ctx->rd.ctx = ctx->wr.ctx = ctx;
    ctx->wr.write = 1;
    rc = pgconn_open(uri, "authgatectl", &ctx->conn, why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgschema_check(ctx->conn, &version, why, whylen);
    if (rc == AUTHDB_OK && version < AUTHDB_PG_SCHEMA) {
        snprintf(why, whylen,
                 "%s: the central store has schema %u, this authgate needs %d: run authgatectl "
                 "upgrade",
                 PQdb(ctx->conn), version, AUTHDB_PG_SCHEMA);
        rc = AUTHDB_ENEWER;
    }
    /* Say now, not at the first read, that this role may not read the
     * secrets (a policy-only node role). */
    if (rc == AUTHDB_OK && (flags & AUTHDB_SECRETS)) {
        rc =
            pgconn_exec(ctx->conn, "SELECT has_table_privilege('authgate.secrets_users', 'SELECT')",
                        0, NULL, NULL, 0, &r, why, whylen);
        if (rc == AUTHDB_OK && strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
            snprintf(why, whylen, "%s: role %s may not read the secrets tables", PQdb(ctx->conn),
                     PQuser(ctx->conn));
            rc = AUTHDB_EPERM;
        }
        PQclear(r);
    }
    if (rc != AUTHDB_OK) {
        PQfinish(ctx->conn);
        free(ctx);
        return rc;
    }
    *out = ctx;
    return AUTHDB_OK;
}

static void pg_close(void *p)
{
    struct pg_ctx *ctx = p;
    char err[64];

    if (ctx == NULL)
        return;
    PQclear(ctx->last);
    if (ctx->in_txn)
        pgconn_cmd(ctx->conn, ctx->locked ? "ROLLBACK" : "COMMIT", err, sizeof(err));
    PQfinish(ctx->conn);
    free(ctx);
}

static int pg_create(const char *uri, const authdb_create_opts *o, const char *idhex, char *why,
                     size_t whylen)
{
    PGconn *c;
    int rc = pgconn_open(uri, "authgatectl", &c, why, whylen);

    if (rc != AUTHDB_OK)
        return rc;
    rc = pgschema_create(c, o, idhex, why, whylen);
    PQfinish(c);
    return rc;
}

/* The command's transaction, begun at first use. */
static int pg_ensure_txn(struct pg_ctx *ctx)
{
    int rc;

    if (ctx->in_txn)
        return AUTHDB_OK;
    rc = pgconn_cmd(ctx->conn,
                    (ctx->flags & AUTHDB_WRITE) ? "BEGIN ISOLATION LEVEL READ COMMITTED"
                                                : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                    ctx->err, sizeof(ctx->err));
    if (rc == AUTHDB_OK)
        ctx->in_txn = 1;
    return rc;
}

static int pg_begin(void *p, int write, void **bt)
{
    struct pg_ctx *ctx = p;
    int rc;

    *bt = NULL;
    rc = pg_ensure_txn(ctx);
    if (rc != AUTHDB_OK || !write) {
        *bt = rc == AUTHDB_OK ? &ctx->rd : NULL;
        return rc;
    }
    if (ctx->locked)
        return AUTHDB_EBUSY; /* authdb_write inside authdb_write */
    rc = pgconn_cmd(ctx->conn, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")", ctx->err,
                    sizeof(ctx->err));
    if (rc == AUTHDB_OK)
        rc = pgconn_cmd(ctx->conn, "SAVEPOINT authdb_write", ctx->err, sizeof(ctx->err));
    if (rc == AUTHDB_OK) {
        ctx->locked = 1;
        *bt = &ctx->wr;
    }
    return rc;
}

static void pg_txn_done(struct pg_ctx *ctx)
{
    PQclear(ctx->last);
    ctx->last = NULL;
    ctx->in_txn = 0;
    ctx->locked = 0;
}

static int pg_commit(void *p)
{
    struct pg_txn *t = p;
    struct pg_ctx *ctx = t->ctx;
    int rc;

    if (!t->write)
        return AUTHDB_OK;
    rc = pgconn_cmd(ctx->conn, "COMMIT", ctx->err, sizeof(ctx->err));
    pg_txn_done(ctx);
    return rc;
}

static void pg_abort(void *p)
{
    struct pg_txn *t = p;
    struct pg_ctx *ctx;
    char err[64];

    if (t == NULL || !t->write)
        return; /* a read ends with the command */
    ctx = t->ctx;
    pgconn_cmd(ctx->conn, "ROLLBACK", err, sizeof(err));
    pg_txn_done(ctx);
}

static int pg_sql(struct pg_ctx *ctx, const char *sql, int n, const char *const *vals,
                  const int *lens, PGresult **out)
{
    return pgconn_exec(ctx->conn, sql, n, vals, lens, 1, out, ctx->err, sizeof(ctx->err));
}

static int pg_get(void *p, enum kv_db db, const void *key, size_t klen, kv_val *out)
{
    struct pg_ctx *ctx = ((struct pg_txn *)p)->ctx;
    const char *vals[1] = {key};
    int lens[1] = {(int)klen};
    char sql[128];
    PGresult *r;
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT value FROM authgate.%s WHERE key = $1 ORDER BY value LIMIT 1", kv_db_name(db));
    rc = pg_sql(ctx, sql, 1, vals, lens, &r);
    if (rc != AUTHDB_OK)
        return rc;
    PQclear(ctx->last);
    ctx->last = r;
    if (PQntuples(r) == 0)
        return AUTHDB_NOTFOUND;
    out->data = PQgetvalue(r, 0, 0);
    out->size = (size_t)PQgetlength(r, 0, 0);
    return AUTHDB_OK;
}

static int pg_put(void *p, enum kv_db db, const void *key, size_t klen, const void *val,
                  size_t vlen, unsigned flags)
{
    struct pg_ctx *ctx = ((struct pg_txn *)p)->ctx;
    const char *vals[2] = {key, val};
    int lens[2] = {(int)klen, (int)vlen};
    const char *name = kv_db_name(db);
    char sql[320];
    PGresult *r;
    int rc;

    if (db == KV_RULEIDX)
        snprintf(sql, sizeof(sql),
                 "INSERT INTO authgate.%s (key, value) VALUES ($1, $2)"
                 " ON CONFLICT (key, value) DO NOTHING",
                 name);
    else if (flags & KV_NOOVERWRITE)
        snprintf(
            sql, sizeof(sql),
            "INSERT INTO authgate.%s (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            name);
    else /* an unchanged value is not a change: no log row, no update */
        snprintf(sql, sizeof(sql),
                 "INSERT INTO authgate.%s AS t (key, value) VALUES ($1, $2) ON CONFLICT (key)"
                 " DO UPDATE SET value = EXCLUDED.value WHERE t.value <> EXCLUDED.value",
                 name);
    rc = pg_sql(ctx, sql, 2, vals, lens, &r);
    if (rc != AUTHDB_OK)
        return rc;
    if ((flags & (KV_NOOVERWRITE | KV_NODUPDATA)) && strcmp(PQcmdTuples(r), "0") == 0)
        rc = AUTHDB_EEXIST;
    PQclear(r);
    return rc;
}

static int pg_del(void *p, enum kv_db db, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    struct pg_ctx *ctx = ((struct pg_txn *)p)->ctx;
    const char *vals[2] = {key, val};
    int lens[2] = {(int)klen, (int)vlen};
    char sql[160];
    PGresult *r;
    int rc;

    snprintf(sql, sizeof(sql), "DELETE FROM authgate.%s WHERE key = $1%s", kv_db_name(db),
             val != NULL ? " AND value = $2" : "");
    rc = pg_sql(ctx, sql, val != NULL ? 2 : 1, vals, lens, &r);
    if (rc != AUTHDB_OK)
        return rc;
    if (strcmp(PQcmdTuples(r), "0") == 0)
        rc = AUTHDB_NOTFOUND;
    PQclear(r);
    return rc;
}

static int pg_count(void *p, enum kv_db db, size_t *n)
{
    struct pg_ctx *ctx = ((struct pg_txn *)p)->ctx;
    char sql[96];
    PGresult *r;
    int rc;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM authgate.%s", kv_db_name(db));
    rc = pgconn_exec(ctx->conn, sql, 0, NULL, NULL, 0, &r, ctx->err, sizeof(ctx->err));
    if (rc == AUTHDB_OK) {
        *n = (size_t)pgconn_u64(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

static int pg_clear(void *p, enum kv_db db)
{
    struct pg_ctx *ctx = ((struct pg_txn *)p)->ctx;
    char sql[96];

    snprintf(sql, sizeof(sql), "DELETE FROM authgate.%s", kv_db_name(db));
    return pg_sql(ctx, sql, 0, NULL, NULL, NULL);
}

static int pg_cursor_open(void *p, enum kv_db db, void **out)
{
    struct pg_cursor *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return AUTHDB_ENOMEM;
    c->ctx = ((struct pg_txn *)p)->ctx;
    c->db = db;
    *out = c;
    return AUTHDB_OK;
}

/* Replace the cursor's rows with the result of sql. */
static int pg_cursor_fill(struct pg_cursor *c, const char *sql, int n, const char *const *vals,
                          const int *lens, int dup)
{
    PGresult *r;
    int rc = pg_sql(c->ctx, sql, n, vals, lens, &r);

    if (rc != AUTHDB_OK)
        return rc;
    PQclear(c->res);
    c->res = r;
    c->row = 0;
    c->dup = dup;
    return AUTHDB_OK;
}

static int pg_cursor_row(struct pg_cursor *c, kv_val *k, kv_val *v)
{
    if (c->res == NULL || c->row >= PQntuples(c->res))
        return AUTHDB_NOTFOUND;
    k->data = PQgetvalue(c->res, c->row, 0);
    k->size = (size_t)PQgetlength(c->res, c->row, 0);
    v->data = PQgetvalue(c->res, c->row, 1);
    v->size = (size_t)PQgetlength(c->res, c->row, 1);
    return AUTHDB_OK;
}

/* Move to the next row, fetching the next page after the current last
 * row when this page is used up. */
static int pg_cursor_next(struct pg_cursor *c, kv_val *k, kv_val *v)
{
    const char *name = kv_db_name(c->db);
    const char *vals[2];
    int lens[2], last, rc;
    char sql[256];
    PGresult *old;

    if (c->res == NULL)
        return AUTHDB_NOTFOUND;
    if (c->row + 1 < PQntuples(c->res)) {
        c->row++;
        return pg_cursor_row(c, k, v);
    }
    if (PQntuples(c->res) < PG_PAGE)
        return AUTHDB_NOTFOUND;
    last = PQntuples(c->res) - 1;
    vals[0] = PQgetvalue(c->res, last, 0);
    lens[0] = PQgetlength(c->res, last, 0);
    vals[1] = PQgetvalue(c->res, last, 1);
    lens[1] = PQgetlength(c->res, last, 1);
    if (c->dup)
        snprintf(sql, sizeof(sql),
                 "SELECT key, value FROM authgate.%s WHERE key = $1 AND value > $2"
                 " ORDER BY value LIMIT %d",
                 name, PG_PAGE);
    else if (c->db == KV_RULEIDX)
        snprintf(sql, sizeof(sql),
                 "SELECT key, value FROM authgate.%s WHERE (key, value) > ($1, $2)"
                 " ORDER BY key, value LIMIT %d",
                 name, PG_PAGE);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT key, value FROM authgate.%s WHERE key > $1 ORDER BY key LIMIT %d", name,
                 PG_PAGE);
    /* The parameters point into the old page: keep it until the new one
     * is in. */
    old = c->res;
    c->res = NULL;
    rc = pg_cursor_fill(c, sql, c->dup || c->db == KV_RULEIDX ? 2 : 1, vals, lens, c->dup);
    PQclear(old);
    return rc == AUTHDB_OK ? pg_cursor_row(c, k, v) : rc;
}

static int pg_cursor_get(void *p, kv_val *k, kv_val *v, enum kv_op op)
{
    struct pg_cursor *c = p;
    const char *name = kv_db_name(c->db);
    const char *vals[2] = {k->data, v->data};
    int lens[2] = {(int)k->size, (int)v->size}, rc;
    char sql[256];

    switch (op) {
    case KV_FIRST:
        snprintf(sql, sizeof(sql), "SELECT key, value FROM authgate.%s ORDER BY key%s LIMIT %d",
                 name, c->db == KV_RULEIDX ? ", value" : "", PG_PAGE);
        rc = pg_cursor_fill(c, sql, 0, NULL, NULL, 0);
        return rc == AUTHDB_OK ? pg_cursor_row(c, k, v) : rc;
    case KV_SET_KEY:
        snprintf(sql, sizeof(sql),
                 "SELECT key, value FROM authgate.%s WHERE key = $1 ORDER BY value LIMIT %d", name,
                 PG_PAGE);
        rc = pg_cursor_fill(c, sql, 1, vals, lens, 1);
        return rc == AUTHDB_OK ? pg_cursor_row(c, k, v) : rc;
    case KV_GET_BOTH:
        snprintf(sql, sizeof(sql),
                 "SELECT key, value FROM authgate.%s WHERE key = $1 AND value = $2", name);
        rc = pg_cursor_fill(c, sql, 2, vals, lens, 1);
        return rc == AUTHDB_OK ? pg_cursor_row(c, k, v) : rc;
    case KV_NEXT:
    case KV_NEXT_DUP:
        return pg_cursor_next(c, k, v);
    }
    return AUTHDB_EINVAL;
}

static void pg_cursor_close(void *p)
{
    struct pg_cursor *c = p;

    if (c == NULL)
        return;
    PQclear(c->res);
    free(c);
}

const struct kv_backend pg_kv_backend = {
    .scheme = "postgresql:",
    .open = pg_open,
    .close = pg_close,
    .create = pg_create,
    .begin = pg_begin,
    .commit = pg_commit,
    .abort = pg_abort,
    .get = pg_get,
    .put = pg_put,
    .del = pg_del,
    .count = pg_count,
    .clear = pg_clear,
    .cursor_open = pg_cursor_open,
    .cursor_get = pg_cursor_get,
    .cursor_close = pg_cursor_close,
};
