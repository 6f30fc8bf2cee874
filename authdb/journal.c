/*
 * journal.c - the roll-forward journal that makes one authdb_write one
 * transaction across the two LMDB environments.
 *
 * Interface (authdb_private.h): journal_note, journal_free, journal_finish,
 * journal_check, journal_replay, journal_pending, journal_roll_forward.
 *
 * The two environments commit one after the other, secrets first.  When a
 * write changed both, every change it made to the policy environment is
 * recorded here as it happens (kv_put, kv_del, kv_clear call journal_note)
 * and the list is stored, before the commits, in the secrets environment's
 * meta DB under JOURNAL_KEY with a new sequence number; the policy
 * environment gets meta JOURNAL_APPLIED = that number in the same
 * transaction.  A crash between the two commits leaves the journal in
 * secrets with a number policy has not applied: the next writer replays
 * it into its policy transaction before anything else (roll forward).
 *
 * Why in secrets: the journal holds policy data only (rules, notes,
 * settings), which the secrets group may read anyway.  The other way round
 * a journal of secrets kept in policy/ would hand password hashes to the
 * milter's group.
 *
 * Format (all integers little-endian), a header then count ops:
 *   header  magic "AGJ1" | u16 version (1) | u16 0 | u64 seq | u32 count
 *   op      u8 kind | u8 db | u16 0 | u32 klen | u32 vlen | key | value
 * kind: JOURNAL_PUT (key, value), JOURNAL_DEL (key, every value),
 * JOURNAL_DEL_PAIR (one key/value pair of a dupsort DB), JOURNAL_CLEAR (no
 * key, no value).  db is a policy-environment enum kv_db.  The value is
 * read back from a file: journal_check verifies every length, kind and db
 * before journal_replay touches anything.  Replay is idempotent: puts
 * write full values, deletes of what is gone are no-ops.
 *
 * Diagnostics: AUTHDB_ECORRUPT for a malformed journal (journal_check
 * fills a sentence), AUTHDB_ENOMEM when the list cannot grow (the write
 * fails); journal_roll_forward logs the completion at LOG_NOTICE.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "authdb_private.h"

#define JOURNAL_MAGIC    "AGJ1"
#define JOURNAL_VERSION  1
#define JOURNAL_HDR      20 /* magic 4, version 2, pad 2, seq 8, count 4 */
#define JOURNAL_OP_HDR   12 /* kind 1, db 1, pad 2, klen 4, vlen 4 */
#define JOURNAL_MAX      (1UL << 30)
#define JOURNAL_KEY_MAX  511 /* LMDB's key size limit */
#define JOURNAL_INIT_CAP 4096

static void put16(unsigned char *p, uint16_t v)
{
    v = htole16(v);
    memcpy(p, &v, sizeof(v));
}

static void put32(unsigned char *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

static void put64(unsigned char *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, sizeof(v));
}

static uint16_t get16(const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return le16toh(v);
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return le32toh(v);
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return le64toh(v);
}

static int journal_db_ok(unsigned db)
{
    return db < KV_DB_COUNT && kv_env_of((enum kv_db)db) == ENV_POLICY;
}

/* Room for need more octets: grow by doubling up to JOURNAL_MAX. */
static int journal_reserve(struct store_journal *j, size_t need)
{
    size_t cap;
    unsigned char *p;

    if (need > JOURNAL_MAX || j->len > JOURNAL_MAX - need)
        return AUTHDB_ENOMEM;
    if (j->len + need <= j->cap)
        return AUTHDB_OK;
    cap = j->cap ? j->cap : JOURNAL_INIT_CAP;
    while (cap < j->len + need)
        cap = cap > JOURNAL_MAX / 2 ? JOURNAL_MAX : cap * 2;
    if ((p = realloc(j->buf, cap)) == NULL)
        return AUTHDB_ENOMEM;
    j->buf = p;
    j->cap = cap;
    return AUTHDB_OK;
}

int journal_note(authdb_txn *txn, enum journal_kind kind, enum kv_db db, const void *key,
                 size_t klen, const void *val, size_t vlen)
{
    struct store_journal *j = &txn->jr;
    unsigned char *p;
    int rc;

    /* Only LMDB writes of a handle with both environments need one; the
     * records of applied-seq itself are made after journal_finish. */
    if (txn->bt != NULL || txn->t[ENV_SECRETS] == NULL || kv_env_of(db) != ENV_POLICY || j->closed)
        return AUTHDB_OK;
    if (j->failed)
        return AUTHDB_ENOMEM;
    rc = klen > JOURNAL_KEY_MAX || vlen > JOURNAL_MAX ? AUTHDB_ENOMEM : AUTHDB_OK;
    if (rc == AUTHDB_OK && j->len == 0)
        rc = journal_reserve(j, JOURNAL_HDR);
    if (rc == AUTHDB_OK && j->len == 0) {
        memset(j->buf, 0, JOURNAL_HDR);
        j->len = JOURNAL_HDR;
    }
    if (rc == AUTHDB_OK && j->ops == UINT32_MAX)
        rc = AUTHDB_ENOMEM;
    if (rc == AUTHDB_OK)
        rc = journal_reserve(j, JOURNAL_OP_HDR + klen + vlen);
    if (rc != AUTHDB_OK) {
        j->failed = 1;
        return rc;
    }
    p = j->buf + j->len;
    p[0] = (unsigned char)kind;
    p[1] = (unsigned char)db;
    put16(p + 2, 0);
    put32(p + 4, (uint32_t)klen);
    put32(p + 8, (uint32_t)vlen);
    if (klen > 0)
        memcpy(p + JOURNAL_OP_HDR, key, klen);
    if (vlen > 0)
        memcpy(p + JOURNAL_OP_HDR + klen, val, vlen);
    j->len += JOURNAL_OP_HDR + klen + vlen;
    j->ops++;
    return AUTHDB_OK;
}

void journal_free(struct store_journal *j)
{
    free(j->buf);
    memset(j, 0, sizeof(*j));
}

int journal_finish(struct store_journal *j, uint64_t seq, const void **out, size_t *outlen)
{
    if (j->failed)
        return AUTHDB_ENOMEM;
    if (j->len == 0) {
        if (journal_reserve(j, JOURNAL_HDR) != AUTHDB_OK)
            return AUTHDB_ENOMEM;
        j->len = JOURNAL_HDR;
    }
    memcpy(j->buf, JOURNAL_MAGIC, 4);
    put16(j->buf + 4, JOURNAL_VERSION);
    put16(j->buf + 6, 0);
    put64(j->buf + 8, seq);
    put32(j->buf + 16, j->ops);
    j->closed = 1;
    *out = j->buf;
    *outlen = j->len;
    return AUTHDB_OK;
}

/* op: the op's index, or -1 for the header. */
static int journal_bad(char *why, size_t whylen, const char *what, long op)
{
    char at[32] = "";

    if (op >= 0)
        snprintf(at, sizeof(at), " (op %ld)", op);
    if (why != NULL && whylen > 0)
        snprintf(why, whylen,
                 "the journal of an interrupted change (secrets meta \"%s\") is corrupt: %s%s",
                 JOURNAL_KEY, what, at);
    return AUTHDB_ECORRUPT;
}

static int journal_header(const void *data, size_t len, uint64_t *seq, uint32_t *count, char *why,
                          size_t whylen)
{
    const unsigned char *p = data;

    if (len < JOURNAL_HDR || memcmp(p, JOURNAL_MAGIC, 4) != 0)
        return journal_bad(why, whylen, "bad header", -1);
    if (get16(p + 4) != JOURNAL_VERSION || get16(p + 6) != 0)
        return journal_bad(why, whylen, "unknown version", -1);
    *seq = get64(p + 8);
    *count = get32(p + 16);
    return AUTHDB_OK;
}

static int journal_walk(authdb_txn *txn, const void *data, size_t len, uint64_t *seq, char *why,
                        size_t whylen)
{
    const unsigned char *p = data;
    size_t off = JOURNAL_HDR;
    uint32_t count, i;
    uint64_t s;
    int rc = journal_header(data, len, &s, &count, why, whylen);

    if (rc != AUTHDB_OK)
        return rc;
    if (seq != NULL)
        *seq = s;
    for (i = 0; i < count && rc == AUTHDB_OK; i++) {
        unsigned kind, db;
        uint32_t klen, vlen;
        const unsigned char *key, *val;

        if (len - off < JOURNAL_OP_HDR)
            return journal_bad(why, whylen, "truncated op header", (long)i);
        kind = p[off];
        db = p[off + 1];
        klen = get32(p + off + 4);
        vlen = get32(p + off + 8);
        if (get16(p + off + 2) != 0 || !journal_db_ok(db))
            return journal_bad(why, whylen, "bad database", (long)i);
        off += JOURNAL_OP_HDR;
        if (klen > JOURNAL_KEY_MAX || len - off < klen || len - off - klen < vlen)
            return journal_bad(why, whylen, "length past the end", (long)i);
        key = p + off;
        val = p + off + klen;
        off += (size_t)klen + vlen;
        switch (kind) {
        case JOURNAL_PUT:
        case JOURNAL_DEL_PAIR:
            if (klen == 0)
                return journal_bad(why, whylen, "empty key", (long)i);
            break;
        case JOURNAL_DEL:
            if (klen == 0 || vlen != 0)
                return journal_bad(why, whylen, "malformed delete", (long)i);
            break;
        case JOURNAL_CLEAR:
            if (klen != 0 || vlen != 0)
                return journal_bad(why, whylen, "malformed clear", (long)i);
            break;
        default:
            return journal_bad(why, whylen, "unknown op", (long)i);
        }
        if (txn == NULL)
            continue;
        switch (kind) {
        case JOURNAL_PUT:
            rc = kv_put(txn, (enum kv_db)db, key, klen, val, vlen, 0);
            break;
        case JOURNAL_DEL:
            rc = kv_del(txn, (enum kv_db)db, key, klen, NULL, 0);
            break;
        case JOURNAL_DEL_PAIR:
            rc = kv_del(txn, (enum kv_db)db, key, klen, val, vlen);
            break;
        default:
            rc = kv_clear(txn, (enum kv_db)db);
            break;
        }
        if (rc == AUTHDB_NOTFOUND || rc == AUTHDB_EEXIST)
            rc = AUTHDB_OK;
    }
    if (rc == AUTHDB_OK && off != len)
        return journal_bad(why, whylen, "trailing data", -1);
    return rc;
}

int journal_check(const void *data, size_t len, uint64_t *seq, char *why, size_t whylen)
{
    return journal_walk(NULL, data, len, seq, why, whylen);
}

int journal_replay(authdb_txn *txn, const void *data, size_t len, char *why, size_t whylen)
{
    int rc = journal_walk(NULL, data, len, NULL, why, whylen);
    return rc == AUTHDB_OK ? journal_walk(txn, data, len, NULL, why, whylen) : rc;
}

int journal_applied(authdb_txn *txn, uint64_t *seq)
{
    kv_val v;
    uint64_t s;
    int rc = store_meta_get(txn, ENV_POLICY, JOURNAL_APPLIED, &v);

    *seq = 0;
    if (rc == AUTHDB_NOTFOUND)
        return AUTHDB_OK;
    if (rc != AUTHDB_OK)
        return rc;
    if (v.size != sizeof(s))
        return AUTHDB_ECORRUPT;
    memcpy(&s, v.data, sizeof(s));
    *seq = le64toh(s);
    return AUTHDB_OK;
}

int journal_pending(authdb_txn *txn, kv_val *journal, uint64_t *seq, uint64_t *applied, char *why,
                    size_t whylen)
{
    uint32_t count;
    int rc;

    *seq = 0;
    *applied = 0;
    if (!store_has_env(txn, ENV_SECRETS) || !store_has_env(txn, ENV_POLICY) || txn->bt != NULL)
        return AUTHDB_NOTFOUND;
    rc = journal_applied(txn, applied);
    if (rc != AUTHDB_OK) {
        if (rc == AUTHDB_ECORRUPT && why != NULL && whylen > 0)
            snprintf(why, whylen, "policy meta \"%s\" is malformed", JOURNAL_APPLIED);
        return rc;
    }
    rc = store_meta_get(txn, ENV_SECRETS, JOURNAL_KEY, journal);
    if (rc == AUTHDB_OK)
        rc = journal_header(journal->data, journal->size, seq, &count, why, whylen);
    if (rc != AUTHDB_OK || *seq == *applied)
        return rc == AUTHDB_OK ? AUTHDB_NOTFOUND : rc;
    /* Pending: check all of it (an applied one is not read again). */
    return journal_check(journal->data, journal->size, seq, why, whylen);
}

int journal_roll_forward(authdb_txn *txn, char *why, size_t whylen)
{
    kv_val j;
    uint64_t seq, applied;
    int rc;

    rc = journal_pending(txn, &j, &seq, &applied, why, whylen);
    /* The next journal's number follows both (a journal older than what
     * policy applied cannot be: numbers only grow). */
    txn->jseq = seq > applied ? seq : applied;
    if (rc == AUTHDB_NOTFOUND)
        return AUTHDB_OK;
    if (rc != AUTHDB_OK)
        return rc;
    /* j points into the secrets environment's txn, which replay does not
     * write: it stays valid. */
    rc = journal_replay(txn, j.data, j.size, why, whylen);
    if (rc == AUTHDB_OK) {
        uint64_t le = htole64(seq);
        rc = store_meta_put(txn, ENV_POLICY, JOURNAL_APPLIED, &le, sizeof(le));
    }
    if (rc == AUTHDB_OK)
        authdb_logf(txn->h->log, LOG_NOTICE,
                    "completed a change interrupted between the environments (seq %llu)",
                    (unsigned long long)seq);
    return rc;
}
