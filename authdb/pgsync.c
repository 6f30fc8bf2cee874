/*
 * pgsync.c - a node's store directory follows the central PostgreSQL store.
 *
 * Interface (authdb_pg.h): authdb_sync_connect, authdb_sync_close,
 * authdb_sync_listen, authdb_sync_wait, authdb_sync_round,
 * authdb_sync_central_seq, authdb_sync_state_get.
 *
 * A round:
 *  1. One REPEATABLE READ READ ONLY snapshot of the central store: its
 *     schema, id, horizon and newest change seq H; then either the current
 *     value (or absence) of every key changed in (node seq, H], or, for a
 *     full load, every row.  Full load when the node follows nothing yet,
 *     another central store, is behind the horizon (pruned log) or ahead
 *     of H (the center was restored from a backup), or on request.
 *  2. One write transaction per environment on the node (store_write_sync:
 *     secrets commit first with the journal of the policy changes, then
 *     policy; see authdb_write), holding every accepted value, the
 *     deletions, and "sync:seq" = H and "sync:central" in each
 *     environment's meta.  Readers see the old or the new state of each
 *     environment; a kill between the two commits is completed by the next
 *     write open of the node (the next round opens it first), so the node
 *     is then entirely at the old or the new round.
 *  3. Every value is validated as authdb would have written it, under the
 *     normalization settings the round itself applies: keys normalized
 *     (logins, domains), records decoding (secrets with a hash, rules with
 *     normalized, sorted patterns), settings canonical, sizes bounded.  A
 *     rejected key keeps the node's previous value and is reported through
 *     the log callback and the result's count.
 * The rule index (policy_ruleidx) is never copied: the node derives it
 * from the rules records it accepted, so it always matches them.
 * Mirrored meta keys: "s:<setting>" and "dummy_hash"; the others (format,
 * schema, store_id, created) belong to each store.
 * Drift: a forced local write on a managed node sets "sync:drift"
 * (store.c); a round then applies nothing and returns AUTHDB_EMANAGED until
 * one with AUTHDB_SYNC_RESYNC (a full load) replaces the node's content.
 */
#include <endian.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "pg_private.h"

#define SYNC_VALUE_MAX (512u << 10) /* no authdb record is near this */

struct authdb_sync {
    PGconn *conn;
};

/* The rows read for one DB: key (col 0) and value (col 1, NULL when the
 * key is gone), ordered by key. */
struct sync_rows {
    enum kv_db db;
    PGresult *res;
};

struct sync_apply {
    const authdb_sync_opts *o;
    int full;
    uint64_t seq;
    char central[65];
    struct sync_rows rows[KV_DB_COUNT];
    size_t nrows;
    authdb_sync_result *r;
    char *why;
    size_t whylen;
};

static void sync_log(const authdb_sync_opts *o, int prio, const char *fmt, const char *a,
                     const char *b, const char *c)
{
    char msg[1024];

    if (o == NULL || o->log == NULL)
        return;
    snprintf(msg, sizeof(msg), fmt, a, b, c);
    o->log(o->log_arg, prio, msg);
}

/* ------------------------------------------------------------ connection */

int authdb_sync_connect(const char *conninfo, authdb_sync **out, char *why, size_t whylen)
{
    authdb_sync *s;
    int rc;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return AUTHDB_ENOMEM;
    rc = pgconn_open(conninfo, "authgate-sync", &s->conn, why, whylen);
    if (rc != AUTHDB_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return AUTHDB_OK;
}

void authdb_sync_close(authdb_sync *s)
{
    if (s == NULL)
        return;
    PQfinish(s->conn);
    free(s);
}

int authdb_sync_listen(authdb_sync *s)
{
    char err[256];
    return pgconn_cmd(s->conn, "LISTEN " PG_CHANNEL, err, sizeof(err));
}

static int sync_drain(authdb_sync *s)
{
    PGnotify *n;
    int got = 0;

    while ((n = PQnotifies(s->conn)) != NULL) {
        got = 1;
        PQfreemem(n);
    }
    return got;
}

int authdb_sync_wait(authdb_sync *s, int timeout_ms)
{
    struct pollfd p;
    int r;

    if (PQconsumeInput(s->conn) == 0)
        return AUTHDB_EREMOTE;
    if (sync_drain(s))
        return 1;
    p.fd = PQsocket(s->conn);
    p.events = POLLIN;
    if (p.fd < 0)
        return AUTHDB_EREMOTE;
    r = poll(&p, 1, timeout_ms);
    if (r <= 0)
        return 0; /* timeout, or a signal: the caller decides */
    if (PQconsumeInput(s->conn) == 0)
        return AUTHDB_EREMOTE;
    return sync_drain(s);
}

int authdb_sync_central_seq(authdb_sync *s, uint64_t *seq, char *why, size_t whylen)
{
    PGresult *r;
    int rc;

    *seq = 0;
    rc = pgconn_exec(s->conn, "SELECT coalesce(max(seq), 0) FROM authgate.changes", 0, NULL, NULL,
                     0, &r, why, whylen);
    if (rc == AUTHDB_OK) {
        *seq = pgconn_u64(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

/* ------------------------------------------------------------ node state */

static uint64_t meta_u64(authdb_txn *txn, int which, const char *key)
{
    kv_val v;
    uint64_t x = 0;

    if (store_meta_get(txn, which, key, &v) == AUTHDB_OK && v.size == sizeof(x)) {
        memcpy(&x, v.data, sizeof(x));
        x = le64toh(x);
    }
    return x;
}

static int state_read(authdb_txn *txn, authdb_sync_state *out)
{
    kv_val v;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = store_meta_get(txn, ENV_POLICY, SYNC_META_CENTRAL, &v);
    if (rc == AUTHDB_OK && v.size < sizeof(out->central))
        memcpy(out->central, v.data, v.size);
    else if (rc != AUTHDB_NOTFOUND && rc != AUTHDB_OK)
        return rc;
    out->seq_policy = meta_u64(txn, ENV_POLICY, SYNC_META_SEQ);
    out->seq_secrets = meta_u64(txn, ENV_SECRETS, SYNC_META_SEQ);
    for (int i = 0; i < ENV_COUNT; i++)
        if (store_meta_get(txn, i, SYNC_META_DRIFT, &v) == AUTHDB_OK && v.size == 8) {
            int64_t t;
            memcpy(&t, v.data, sizeof(t));
            out->drift = t > 0 ? t : 1;
        }
    return AUTHDB_OK;
}

int authdb_sync_state_get(authdb *node, authdb_sync_state *out)
{
    authdb_txn *txn;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!store_is_lmdb(node))
        return AUTHDB_EINVAL;
    rc = authdb_read_begin(node, AUTHDB_BOTH, &txn);
    if (rc != AUTHDB_OK)
        return rc;
    rc = state_read(txn, out);
    authdb_txn_end(txn);
    return rc;
}

/* ------------------------------------------------------------ validation */

static int is_mirrored_meta(const char *key, size_t len)
{
    return (len > 2 && memcmp(key, "s:", 2) == 0) ||
           (len == 10 && memcmp(key, "dummy_hash", 10) == 0);
}

/* NULL when value may be stored under key in db, else a reason. */
static const char *sync_check(authdb_txn *txn, enum kv_db db, const char *key, size_t klen,
                              const char *val, size_t vlen)
{
    char out[AUTHDB_NAME_BUFSZ], canon[AUTHDB_SETTING_MAX + 1], name[64];
    const char *why = NULL;
    authdb_norm n;
    authdb_user u;
    size_t ol;

    if (vlen > SYNC_VALUE_MAX)
        return "value larger than any record authdb writes";
    if (klen == 0 || memchr(key, '\0', klen) != NULL)
        return "empty key or NUL in key";
    switch (db) {
    case KV_SECRETS_META:
    case KV_POLICY_META:
        if (memchr(val, '\0', vlen) != NULL || vlen > AUTHDB_SETTING_MAX)
            return "setting value too long or with NUL";
        memcpy(canon, val, vlen);
        canon[vlen] = '\0';
        if (klen == 10 && memcmp(key, "dummy_hash", 10) == 0)
            return pwhash_valid(canon, NULL) == AUTHDB_OK ? NULL : "not a crypt(3) hash";
        snprintf(name, sizeof(name), "%.*s", (int)(klen - 2), key + 2);
        if (klen - 2 >= sizeof(name) || authdb_setting_info_find(name) == NULL)
            return "unknown setting";
        if (!(authdb_setting_info_find(name)->envs & (1u << kv_env_of(db))))
            return "setting does not belong to this environment";
        if (authdb_setting_check(name, canon, out, sizeof(out), &why) != AUTHDB_OK)
            return why != NULL ? why : "invalid setting value";
        return strcmp(out, canon) == 0 ? NULL : "setting value not in canonical form";
    case KV_DOMAINS:
        if (vlen != 1 || ((const unsigned char *)val)[0] != RECORD_VERSION)
            return "domain record is not version 1";
        if (klen > AUTHDB_DOMAIN_MAX ||
            authdb_norm_domain(key, klen, out, sizeof(out), &ol, &why) != AUTHDB_OK)
            return "not a valid domain";
        return ol == klen && memcmp(out, key, klen) == 0 ? NULL : "domain not in normalized form";
    default:
        break;
    }
    /* users and rules: the key is a login normalized by the store. */
    if (settings_read_norm(txn, &n) != AUTHDB_OK)
        return "cannot read the node's normalization settings";
    if (klen > AUTHDB_LOGIN_MAX ||
        authdb_norm_login(&n, key, klen, out, sizeof(out), &ol, &why) != AUTHDB_OK)
        return "not a valid login";
    if (ol != klen || memcmp(out, key, klen) != 0)
        return "login not in normalized form";
    if (db == KV_USERS) {
        if (secret_header(val, vlen, &u) != AUTHDB_OK)
            return "secrets record does not decode";
        return (u.kinds & (1u << AUTHDB_SECRET_HASH)) ? NULL : "secrets record without a hash";
    }
    if (policy_rules_check(&n, val, vlen, &why) != AUTHDB_OK)
        return why;
    return NULL;
}

/* --------------------------------------------------------------- apply */

struct idx_arg {
    authdb_txn *txn;
    const char *login;
    size_t llen;
    int add;
};

static int idx_pattern(const char *pat, size_t plen, void *arg)
{
    struct idx_arg *a = arg;
    int rc;

    if (a->add) {
        rc = kv_put(a->txn, KV_RULEIDX, pat, plen, a->login, a->llen, KV_NODUPDATA);
        return rc == AUTHDB_EEXIST ? AUTHDB_OK : rc;
    }
    rc = kv_del(a->txn, KV_RULEIDX, pat, plen, a->login, a->llen);
    return rc == AUTHDB_NOTFOUND ? AUTHDB_OK : rc;
}

/* Apply one key: val NULL deletes it.  Rules keep the index in step
 * unless rebuild (a full load rebuilds it at the end). */
static int apply_key(struct sync_apply *a, authdb_txn *txn, enum kv_db db, const char *key,
                     size_t klen, const char *val, size_t vlen, int rebuild)
{
    struct idx_arg ia = {txn, key, klen, 0};
    char esc[200], why[160];
    const char *bad;
    void *old = NULL;
    size_t oldlen = 0;
    kv_val cur;
    int rc, have;

    if ((db == KV_SECRETS_META || db == KV_POLICY_META) && !is_mirrored_meta(key, klen))
        return AUTHDB_OK;
    if (val != NULL && (bad = sync_check(txn, db, key, klen, val, vlen)) != NULL) {
        a->r->rejected++;
        snprintf(why, sizeof(why), "%s", bad);
        sync_log(a->o, LOG_ERR,
                 "rejected %s key \"%s\" from the central store: %s (kept the node's "
                 "value)",
                 kv_db_name(db), authdb_log_escape(key, klen, esc, sizeof(esc)), why);
        return AUTHDB_OK;
    }
    rc = kv_get(txn, db, key, klen, &cur);
    if (rc != AUTHDB_OK && rc != AUTHDB_NOTFOUND)
        return rc;
    have = rc == AUTHDB_OK;
    if (val == NULL ? !have : (have && cur.size == vlen && memcmp(cur.data, val, vlen) == 0))
        return AUTHDB_OK; /* already so */
    if (db == KV_RULES && have && !rebuild) {
        if ((old = malloc(cur.size ? cur.size : 1)) == NULL)
            return AUTHDB_ENOMEM;
        memcpy(old, cur.data, cur.size);
        oldlen = cur.size;
    }
    rc = val != NULL ? kv_put(txn, db, key, klen, val, vlen, 0)
                     : kv_del(txn, db, key, klen, NULL, 0);
    if (rc == AUTHDB_OK && old != NULL)
        rc = policy_rules_patterns(old, oldlen, idx_pattern, &ia);
    if (rc == AUTHDB_OK && db == KV_RULES && val != NULL && !rebuild) {
        ia.add = 1;
        rc = policy_rules_patterns(val, vlen, idx_pattern, &ia);
    }
    if (rc == AUTHDB_OK && (db == KV_SECRETS_META || db == KV_POLICY_META)) {
        txn->norm_ok = 0; /* settings changed: later keys use them */
        txn->self_send = -1;
    }
    if (rc == AUTHDB_OK)
        a->r->written++;
    free(old);
    return rc;
}

static int key_cmp(const void *k, size_t kl, const char *rk, size_t rkl)
{
    size_t m = kl < rkl ? kl : rkl;
    int c = memcmp(k, rk, m);
    return c != 0 ? c : (kl > rkl) - (kl < rkl);
}

/* Is key among the central rows (sorted bytewise, like LMDB)? */
static int rows_have(const PGresult *res, const void *key, size_t klen)
{
    int lo = 0, hi = PQntuples(res) - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = key_cmp(key, klen, PQgetvalue(res, mid, 0), (size_t)PQgetlength(res, mid, 0));
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return 0;
}

/* Full load of one DB: delete what the center lacks, then apply its rows. */
static int apply_full_db(struct sync_apply *a, authdb_txn *txn, const struct sync_rows *sr)
{
    struct {
        char *k;
        size_t n;
    } *gone = NULL;
    size_t ngone = 0, cap = 0;
    kv_cursor *c = NULL;
    kv_val k = {0}, v = {0};
    int rc;

    rc = kv_cursor_open(txn, sr->db, &c);
    for (int r = rc == AUTHDB_OK ? kv_cursor_get(c, &k, &v, KV_FIRST) : AUTHDB_NOTFOUND;
         r == AUTHDB_OK && rc == AUTHDB_OK; r = kv_cursor_get(c, &k, &v, KV_NEXT)) {
        if ((sr->db == KV_SECRETS_META || sr->db == KV_POLICY_META) &&
            !is_mirrored_meta(k.data, k.size))
            continue;
        if (rows_have(sr->res, k.data, k.size))
            continue;
        if (ngone == cap) {
            void *nv = realloc(gone, (cap = cap ? cap * 2 : 64) * sizeof(*gone));
            if (nv == NULL) {
                rc = AUTHDB_ENOMEM;
                break;
            }
            gone = nv;
        }
        if ((gone[ngone].k = malloc(k.size)) == NULL) {
            rc = AUTHDB_ENOMEM;
            break;
        }
        memcpy(gone[ngone].k, k.data, k.size);
        gone[ngone++].n = k.size;
    }
    kv_cursor_close(c);
    for (size_t i = 0; i < ngone && rc == AUTHDB_OK; i++)
        rc = apply_key(a, txn, sr->db, gone[i].k, gone[i].n, NULL, 0, 1);
    for (size_t i = 0; i < ngone; i++)
        free(gone[i].k);
    free(gone);
    for (int i = 0; i < PQntuples(sr->res) && rc == AUTHDB_OK; i++)
        rc =
            apply_key(a, txn, sr->db, PQgetvalue(sr->res, i, 0), (size_t)PQgetlength(sr->res, i, 0),
                      PQgetvalue(sr->res, i, 1), (size_t)PQgetlength(sr->res, i, 1), 1);
    return rc;
}

/* After a full load: the index is exactly what the rules records imply. */
static int rebuild_index(authdb_txn *txn)
{
    kv_cursor *c = NULL;
    kv_val k = {0}, v = {0};
    struct idx_arg ia = {txn, NULL, 0, 1};
    int rc = kv_clear(txn, KV_RULEIDX);

    if (rc == AUTHDB_OK)
        rc = kv_cursor_open(txn, KV_RULES, &c);
    for (int r = rc == AUTHDB_OK ? kv_cursor_get(c, &k, &v, KV_FIRST) : AUTHDB_NOTFOUND;
         r == AUTHDB_OK && rc == AUTHDB_OK; r = kv_cursor_get(c, &k, &v, KV_NEXT)) {
        ia.login = k.data;
        ia.llen = k.size;
        rc = policy_rules_patterns(v.data, v.size, idx_pattern, &ia);
    }
    kv_cursor_close(c);
    return rc;
}

static int apply_fn(authdb_txn *txn, void *arg)
{
    struct sync_apply *a = arg;
    authdb_sync_state st;
    uint64_t seq = htole64(a->seq);
    int rc;

    a->r->written = a->r->rejected = 0; /* run again after map growth */
    rc = state_read(txn, &st);
    if (rc != AUTHDB_OK)
        return rc;
    if (st.drift != 0 && !(a->o->flags & AUTHDB_SYNC_RESYNC))
        return AUTHDB_EMANAGED;
    /* Settings first: keys are validated under the settings applied. */
    for (size_t i = 0; i < a->nrows && rc == AUTHDB_OK; i++) {
        const struct sync_rows *sr = &a->rows[i];
        if (a->full)
            rc = apply_full_db(a, txn, sr);
        else
            for (int j = 0; j < PQntuples(sr->res) && rc == AUTHDB_OK; j++)
                rc = apply_key(a, txn, sr->db, PQgetvalue(sr->res, j, 0),
                               (size_t)PQgetlength(sr->res, j, 0),
                               PQgetisnull(sr->res, j, 1) ? NULL : PQgetvalue(sr->res, j, 1),
                               (size_t)PQgetlength(sr->res, j, 1), 0);
    }
    if (rc == AUTHDB_OK && a->full)
        rc = rebuild_index(txn);
    for (int i = 0; i < ENV_COUNT && rc == AUTHDB_OK; i++) {
        rc = store_meta_put(txn, i, SYNC_META_SEQ, &seq, sizeof(seq));
        if (rc == AUTHDB_OK)
            rc = store_meta_put(txn, i, SYNC_META_CENTRAL, a->central, strlen(a->central));
        if (rc == AUTHDB_OK && st.drift != 0) {
            rc = kv_del(txn, kv_meta_of(i), SYNC_META_DRIFT, strlen(SYNC_META_DRIFT), NULL, 0);
            rc = rc == AUTHDB_NOTFOUND ? AUTHDB_OK : rc;
        }
    }
    return rc;
}

/* ------------------------------------------------------------ the round */

static void be64(uint64_t x, char out[8])
{
    x = htobe64(x);
    memcpy(out, &x, 8);
}

/* Read what the round needs inside the snapshot. */
static int sync_fetch(authdb_sync *s, struct sync_apply *a, uint64_t from, char *why, size_t whylen)
{
    static const enum kv_db order[] = {KV_SECRETS_META, KV_POLICY_META, KV_USERS, KV_RULES,
                                       KV_DOMAINS};
    char sql[400], lo[8], hi[8];
    const char *vals[3];
    int lens[3] = {0, 8, 8}, rc = AUTHDB_OK;

    be64(from, lo);
    be64(a->seq, hi);
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && rc == AUTHDB_OK; i++) {
        enum kv_db db = order[i];
        const char *name = kv_db_name(db);
        PGresult *r;
        if (kv_env_of(db) == ENV_SECRETS && !(a->o->flags & AUTHDB_SYNC_SECRETS))
            continue;
        if (a->full) {
            snprintf(sql, sizeof(sql), "SELECT key, value FROM authgate.%s ORDER BY key", name);
            rc = pgconn_exec(s->conn, sql, 0, NULL, NULL, 1, &r, why, whylen);
        } else {
            snprintf(sql, sizeof(sql),
                     "SELECT c.key, t.value FROM (SELECT DISTINCT key FROM authgate.changes"
                     " WHERE tbl = $1 AND seq > $2 AND seq <= $3) c"
                     " LEFT JOIN authgate.%s t ON t.key = c.key ORDER BY c.key",
                     name);
            vals[0] = name;
            lens[0] = (int)strlen(name);
            vals[1] = lo;
            vals[2] = hi;
            rc = pgconn_exec(s->conn, sql, 3, vals, lens, 1, &r, why, whylen);
        }
        if (rc == AUTHDB_OK) {
            a->rows[a->nrows].db = db;
            a->rows[a->nrows++].res = r;
            a->r->keys += (size_t)PQntuples(r);
        }
    }
    return rc;
}

int authdb_sync_round(authdb_sync *s, authdb *node, const authdb_sync_opts *o,
                      authdb_sync_result *r, char *why, size_t whylen)
{
    struct sync_apply a;
    authdb_sync_state st;
    PGresult *res = NULL;
    char err[256], hex[32];
    uint64_t from, horizon;
    unsigned version;
    int rc;

    memset(&a, 0, sizeof(a));
    memset(r, 0, sizeof(*r));
    why[0] = '\0';
    a.o = o;
    a.r = r;
    rc = authdb_sync_state_get(node, &st);
    if (rc != AUTHDB_OK) {
        snprintf(why, whylen, "%s: cannot read the sync state: %s", authdb_path(node),
                 authdb_strerror(rc));
        return rc;
    }
    if (st.drift != 0 && !(o->flags & AUTHDB_SYNC_RESYNC)) {
        snprintf(why, whylen,
                 "%s was written locally (authgatectl --force) since it was last synced: not "
                 "following the central store until authgatectl sync --once --resync",
                 authdb_path(node));
        return AUTHDB_EMANAGED;
    }
    from = st.seq_policy;
    if ((o->flags & AUTHDB_SYNC_SECRETS) && st.seq_secrets < from)
        from = st.seq_secrets;
    rc = pgconn_cmd(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgschema_check(s->conn, &version, why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgconn_exec(s->conn,
                         "SELECT (SELECT through FROM authgate.horizon),"
                         " (SELECT coalesce(max(seq), 0) FROM authgate.changes),"
                         " (SELECT encode(value, 'escape') FROM authgate.policy_meta"
                         "  WHERE key = 'store_id'::bytea)",
                         0, NULL, NULL, 0, &res, why, whylen);
    if (rc != AUTHDB_OK)
        goto out;
    horizon = pgconn_u64(res, 0, 0);
    a.seq = pgconn_u64(res, 0, 1);
    snprintf(a.central, sizeof(a.central), "%s", PQgetvalue(res, 0, 2));
    r->central_seq = a.seq;
    a.full = (o->flags & AUTHDB_SYNC_RESYNC) || st.central[0] == '\0' ||
             strcmp(st.central, a.central) != 0 || from == 0 || from < horizon || from > a.seq;
    if (a.full && st.central[0] != '\0' && !(o->flags & AUTHDB_SYNC_RESYNC)) {
        snprintf(hex, sizeof(hex), "%llu", (unsigned long long)from);
        sync_log(o, LOG_WARNING,
                 "full load: the node (central store %s, seq %s) cannot follow the central "
                 "store %s incrementally",
                 st.central, hex, a.central);
    }
    if (!a.full && from == a.seq) {
        r->applied_seq = from;
        goto out; /* up to date */
    }
    r->full = a.full;
    rc = sync_fetch(s, &a, from, why, whylen);
    if (rc != AUTHDB_OK)
        goto out;
    pgconn_cmd(s->conn, "COMMIT", err, sizeof(err));
    a.why = why;
    a.whylen = whylen;
    rc = store_write_sync(node, apply_fn, &a);
    if (rc == AUTHDB_EMANAGED)
        snprintf(why, whylen,
                 "%s was written locally since it was last synced: run authgatectl "
                 "sync --once --resync",
                 authdb_path(node));
    else if (rc != AUTHDB_OK)
        snprintf(why, whylen, "%s: cannot apply the changes: %s", authdb_path(node),
                 authdb_strerror(rc));
    else
        r->applied_seq = a.seq;
out:
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        pgconn_cmd(s->conn, "ROLLBACK", err, sizeof(err));
    PQclear(res);
    for (size_t i = 0; i < a.nrows; i++)
        PQclear(a.rows[i].res);
    if (rc == AUTHDB_EREMOTE || PQstatus(s->conn) != CONNECTION_OK)
        rc = AUTHDB_EREMOTE;
    return rc;
}
