/*
 * policy.c - send-as rules and local domains (the policy environment).
 *
 * Interface: authdb_rule_parse, authdb_rule_add, authdb_rule_del,
 * authdb_rule_foreach, authdb_sender_check, authdb_senders_for,
 * authdb_domain_add/del/is_local/foreach; private policy_del_login,
 * policy_has_rules.
 *
 * rules:   key login, value version 1: u8 version, u8 reserved, u16 count,
 *          then count entries of u8 action, u8 kind, u16 length, pattern;
 *          entries sorted by (kind, pattern), patterns unique.
 * ruleidx: dupsort, key pattern, values the logins that have a rule with
 *          it (either action): the reverse map for authdb_senders_for().
 * domains: key A-label domain, value u8 version.
 * Decision (authdb.h has the contract): the most specific matching pattern
 * wins, deny beats allow at equal specificity, self_send adds an implicit
 * address-level allow of the login itself.  Addresses, logins compared for
 * self_send and patterns are all compared with subaddresses stripped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authdb_private.h"

#define RULES_HDR 4
/* Flags of a rules record (byte 1). */
#define RULES_LOGIN 0x01 /* the login exists (has secrets): see policy_mark_login */
#define RULES_KNOWN RULES_LOGIN

struct rule_ent {
    unsigned char action, kind;
    size_t len;
    const char *pat;
};

/* Decode a rules record into ents (max AUTHDB_RULES_MAX; may be NULL to
 * count only); pointers into data.  *flags (may be NULL) gets RULES_*. */
static int rules_decode_flags(const void *data, size_t len, struct rule_ent *ents, size_t *count,
                              unsigned *flags)
{
    const unsigned char *b = data;
    size_t n, o = RULES_HDR;

    if (len < RULES_HDR || b[0] != RECORD_VERSION || (b[1] & ~RULES_KNOWN) != 0)
        return AUTHDB_ECORRUPT;
    if (flags != NULL)
        *flags = b[1];
    n = (size_t)b[2] | ((size_t)b[3] << 8);
    if (n > AUTHDB_RULES_MAX)
        return AUTHDB_ECORRUPT;
    for (size_t i = 0; i < n; i++) {
        size_t pl;
        if (len - o < 4)
            return AUTHDB_ECORRUPT;
        pl = (size_t)b[o + 2] | ((size_t)b[o + 3] << 8);
        if (pl == 0 || pl > AUTHDB_PATTERN_MAX || pl > len - o - 4)
            return AUTHDB_ECORRUPT;
        if ((b[o] != AUTHDB_ALLOW && b[o] != AUTHDB_DENY) || b[o + 1] < AUTHDB_RULE_ADDRESS ||
            b[o + 1] > AUTHDB_RULE_ANY)
            return AUTHDB_ECORRUPT;
        if (ents != NULL) {
            ents[i].action = b[o];
            ents[i].kind = b[o + 1];
            ents[i].len = pl;
            ents[i].pat = (const char *)b + o + 4;
        }
        o += 4 + pl;
    }
    if (o != len)
        return AUTHDB_ECORRUPT;
    *count = n;
    return AUTHDB_OK;
}

static int rules_decode(const void *data, size_t len, struct rule_ent *ents, size_t *count)
{
    return rules_decode_flags(data, len, ents, count, NULL);
}

static int ent_cmp(const void *a, const void *b)
{
    const struct rule_ent *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c;

    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    c = memcmp(x->pat, y->pat, m);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static int rules_encode(struct rule_ent *ents, size_t n, unsigned flags, unsigned char **out,
                        size_t *outlen)
{
    size_t need = RULES_HDR, o = RULES_HDR;
    unsigned char *b;

    if (n > 1) /* ents may be NULL when empty */
        qsort(ents, n, sizeof(*ents), ent_cmp);
    for (size_t i = 0; i < n; i++)
        need += 4 + ents[i].len;
    b = malloc(need);
    if (b == NULL)
        return AUTHDB_ENOMEM;
    b[0] = RECORD_VERSION;
    b[1] = (unsigned char)flags;
    b[2] = (unsigned char)(n & 0xff);
    b[3] = (unsigned char)(n >> 8);
    for (size_t i = 0; i < n; i++) {
        b[o] = ents[i].action;
        b[o + 1] = ents[i].kind;
        b[o + 2] = (unsigned char)(ents[i].len & 0xff);
        b[o + 3] = (unsigned char)(ents[i].len >> 8);
        memcpy(b + o + 4, ents[i].pat, ents[i].len);
        o += 4 + ents[i].len;
    }
    *out = b;
    *outlen = o;
    return AUTHDB_OK;
}

int authdb_rule_parse(const authdb_norm *n, const char *pattern, size_t len, authdb_rule *out,
                      const char **why)
{
    size_t ol;
    int rc;

    len = ADB_STRLEN(pattern, len);
    memset(out, 0, sizeof(*out));
    out->action = AUTHDB_ALLOW;
    if (len == 1 && pattern[0] == '*') {
        out->kind = AUTHDB_RULE_ANY;
        strcpy(out->pattern, "*");
        return AUTHDB_OK;
    }
    if (len > 0 && pattern[0] == '@') {
        out->kind = AUTHDB_RULE_DOMAIN;
        out->pattern[0] = '@';
        return authdb_norm_domain(pattern + 1, len - 1, out->pattern + 1, sizeof(out->pattern) - 1,
                                  &ol, why);
    }
    out->kind = AUTHDB_RULE_ADDRESS;
    rc = authdb_norm_address(n, pattern, len, 1, out->pattern, sizeof(out->pattern), &ol, why);
    if (rc == AUTHDB_EINVAL && why != NULL && *why != NULL &&
        strcmp(*why, "address has no domain") == 0)
        *why = "a pattern is an address, @domain or *";
    return rc;
}

/* Keys for a write: the login and the rule, normalized by the store. */
static int rule_keys(authdb_txn *txn, const char *login, size_t len, const char *pattern,
                     size_t plen, char *key, size_t *klen, authdb_rule *r)
{
    authdb_norm n;
    const char *why;
    int rc = settings_read_norm(txn, &n);

    if (rc == AUTHDB_OK)
        rc = authdb_norm_login(&n, login, ADB_STRLEN(login, len), key, AUTHDB_NAME_BUFSZ, klen,
                               &why);
    if (rc == AUTHDB_OK && pattern != NULL)
        rc = authdb_rule_parse(&n, pattern, plen, r, &why);
    return rc;
}

/* Write a login's record; one with no rules and no flags is deleted. */
static int rules_put(authdb_txn *txn, const char *key, size_t klen, struct rule_ent *ents, size_t n,
                     unsigned flags)
{
    unsigned char *rec;
    size_t rlen;
    int rc;

    if (n == 0 && flags == 0) {
        rc = kv_del(txn, KV_RULES, key, klen, NULL, 0);
        return rc == AUTHDB_NOTFOUND ? AUTHDB_OK : rc;
    }
    rc = rules_encode(ents, n, flags, &rec, &rlen);
    if (rc != AUTHDB_OK)
        return rc;
    rc = kv_put(txn, KV_RULES, key, klen, rec, rlen, 0);
    free(rec);
    return rc;
}

static int index_update(authdb_txn *txn, const char *pat, size_t plen, const char *key, size_t klen,
                        int add)
{
    int rc;

    if (add) {
        rc = kv_put(txn, KV_RULEIDX, pat, plen, key, klen, KV_NODUPDATA);
        return rc == AUTHDB_EEXIST ? AUTHDB_OK : rc;
    }
    rc = kv_del(txn, KV_RULEIDX, pat, plen, key, klen);
    return rc == AUTHDB_NOTFOUND ? AUTHDB_OK : rc;
}

/* Load a login's rules into a fresh array with one spare slot.  The
 * record is copied (*copy, caller frees): the store's pointers die at the
 * next update in a write txn. */
static int rules_load(authdb_txn *txn, const char *key, size_t klen, struct rule_ent **ents,
                      size_t *n, unsigned *flags, void **copy)
{
    kv_val v;
    int rc;

    *n = 0;
    *flags = 0;
    *copy = NULL;
    *ents = calloc(AUTHDB_RULES_MAX + 1, sizeof(**ents));
    if (*ents == NULL)
        return AUTHDB_ENOMEM;
    rc = kv_get(txn, KV_RULES, key, klen, &v);
    if (rc == AUTHDB_NOTFOUND)
        return AUTHDB_OK;
    if (rc != AUTHDB_OK)
        return rc;
    *copy = malloc(v.size ? v.size : 1);
    if (*copy == NULL)
        return AUTHDB_ENOMEM;
    memcpy(*copy, v.data, v.size);
    return rules_decode_flags(*copy, v.size, *ents, n, flags);
}

/* One login's rules record opened for change in a write txn: the entries
 * (with a spare slot), the flags, and the pattern looked for. */
struct rules_edit {
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen, n, at; /* at: index of the pattern's entry, or n */
    unsigned flags;
    authdb_rule r;
    struct rule_ent *ents;
    void *copy;
};

static void rules_edit_end(struct rules_edit *e)
{
    free(e->ents);
    free(e->copy);
}

/* Open the record of a normalized key (pattern NULL) or of a login and
 * pattern given by the caller (normalized here, e->at found). */
static int rules_edit_begin(authdb_txn *txn, const char *login, size_t len, const char *pattern,
                            size_t plen, struct rules_edit *e)
{
    int rc;

    memset(e, 0, sizeof(*e));
    if (!store_is_write(txn))
        return AUTHDB_ERDONLY;
    if (!store_has_env(txn, ENV_POLICY))
        return AUTHDB_ENOENV;
    if (pattern != NULL) {
        rc = rule_keys(txn, login, len, pattern, plen, e->key, &e->klen, &e->r);
    } else if (len < sizeof(e->key)) {
        memcpy(e->key, login, len);
        e->key[len] = '\0';
        e->klen = len;
        rc = AUTHDB_OK;
    } else {
        rc = AUTHDB_ETOOLONG;
    }
    if (rc == AUTHDB_OK)
        rc = rules_load(txn, e->key, e->klen, &e->ents, &e->n, &e->flags, &e->copy);
    for (e->at = 0; rc == AUTHDB_OK && pattern != NULL && e->at < e->n; e->at++) {
        const struct rule_ent *x = &e->ents[e->at];
        if (x->kind == e->r.kind && x->len == strlen(e->r.pattern) &&
            memcmp(x->pat, e->r.pattern, x->len) == 0)
            break;
    }
    return rc;
}

int authdb_rule_add(authdb_txn *txn, const char *login, size_t len, enum authdb_rule_action action,
                    const char *pattern, size_t plen)
{
    struct rules_edit e;
    int rc;

    if (action != AUTHDB_ALLOW && action != AUTHDB_DENY)
        return AUTHDB_EINVAL;
    rc = rules_edit_begin(txn, login, len, pattern, plen, &e);
    if (rc != AUTHDB_OK || (e.at < e.n && e.ents[e.at].action == action))
        goto out; /* an error, or already there */
    if (e.at == e.n) {
        if (e.n >= AUTHDB_RULES_MAX) {
            rc = AUTHDB_ELIMIT;
            goto out;
        }
        e.ents[e.n].kind = (unsigned char)e.r.kind;
        e.ents[e.n].pat = e.r.pattern;
        e.ents[e.n].len = strlen(e.r.pattern);
        e.n++;
    }
    e.ents[e.at].action = (unsigned char)action;
    rc = rules_put(txn, e.key, e.klen, e.ents, e.n, e.flags);
    if (rc == AUTHDB_OK)
        rc = index_update(txn, e.r.pattern, strlen(e.r.pattern), e.key, e.klen, 1);
out:
    rules_edit_end(&e);
    return rc;
}

int authdb_rule_del(authdb_txn *txn, const char *login, size_t len, const char *pattern,
                    size_t plen)
{
    struct rules_edit e;
    int rc = rules_edit_begin(txn, login, len, pattern, plen, &e);

    if (rc == AUTHDB_OK && e.at == e.n)
        rc = AUTHDB_NOTFOUND;
    if (rc != AUTHDB_OK)
        goto out;
    memmove(e.ents + e.at, e.ents + e.at + 1, (e.n - e.at - 1) * sizeof(*e.ents));
    e.n--;
    rc = rules_put(txn, e.key, e.klen, e.ents, e.n, e.flags);
    if (rc == AUTHDB_OK)
        rc = index_update(txn, e.r.pattern, strlen(e.r.pattern), e.key, e.klen, 0);
out:
    rules_edit_end(&e);
    return rc;
}

int policy_del_login(authdb_txn *txn, const char *key, size_t klen)
{
    struct rules_edit e;
    int rc = rules_edit_begin(txn, key, klen, NULL, 0, &e);

    if (rc == AUTHDB_OK && e.copy == NULL)
        rc = AUTHDB_NOTFOUND; /* no record at all */
    for (size_t i = 0; i < e.n && rc == AUTHDB_OK; i++)
        rc = index_update(txn, e.ents[i].pat, e.ents[i].len, key, klen, 0);
    if (rc == AUTHDB_OK)
        rc = kv_del(txn, KV_RULES, key, klen, NULL, 0);
    rules_edit_end(&e);
    return rc;
}

/* Record in the policy environment that a login exists (authdb_user_put):
 * its rules record carries RULES_LOGIN, so that authdb_senders_for lists
 * an address as its own user only when there is such a login. */
int policy_mark_login(authdb_txn *txn, const char *key, size_t klen)
{
    struct rules_edit e;
    int rc = rules_edit_begin(txn, key, klen, NULL, 0, &e);

    if (rc == AUTHDB_OK && !(e.flags & RULES_LOGIN))
        rc = rules_put(txn, key, klen, e.ents, e.n, e.flags | RULES_LOGIN);
    rules_edit_end(&e);
    return rc;
}

/* Does the policy environment know login key (RULES_LOGIN)?  1, 0, or a
 * negative status. */
int policy_login_known(authdb_txn *txn, const char *key, size_t klen)
{
    kv_val v;
    size_t n;
    unsigned flags;
    int rc = kv_get(txn, KV_RULES, key, klen, &v);

    if (rc == AUTHDB_NOTFOUND)
        return 0;
    if (rc == AUTHDB_OK)
        rc = rules_decode_flags(v.data, v.size, NULL, &n, &flags);
    if (rc != AUTHDB_OK)
        return rc;
    return (flags & RULES_LOGIN) != 0;
}

int policy_has_rules(authdb_txn *txn, int *any)
{
    size_t n;
    int rc = kv_count(txn, KV_RULES, &n);

    *any = rc == AUTHDB_OK && n > 0;
    return rc;
}

/* Is rec a rules record authdb could have written under norm n: every
 * pattern normalized and of its kind, entries sorted and unique?  *why
 * gets a static reason. */
int policy_rules_check(const authdb_norm *n, const void *rec, size_t len, const char **why)
{
    struct rule_ent *ents;
    authdb_rule r;
    const char *w;
    size_t cnt;
    int rc;

    ents = calloc(AUTHDB_RULES_MAX, sizeof(*ents));
    if (ents == NULL)
        return AUTHDB_ENOMEM;
    unsigned flags = 0;
    *why = "malformed rules record";
    rc = rules_decode_flags(rec, len, ents, &cnt, &flags);
    if (rc == AUTHDB_OK && cnt == 0 && !(flags & RULES_LOGIN)) {
        *why = "empty rules record (a login with no rules that does not exist has no record)";
        rc = AUTHDB_ECORRUPT;
    }
    for (size_t i = 0; i < cnt && rc == AUTHDB_OK; i++) {
        if (i > 0 && ent_cmp(&ents[i - 1], &ents[i]) >= 0) {
            *why = "rules not sorted or repeated";
            rc = AUTHDB_ECORRUPT;
        } else if (authdb_rule_parse(n, ents[i].pat, ents[i].len, &r, &w) != AUTHDB_OK) {
            *why = "a pattern is not a valid address, @domain or *";
            rc = AUTHDB_ECORRUPT;
        } else if ((unsigned)r.kind != ents[i].kind || strlen(r.pattern) != ents[i].len ||
                   memcmp(r.pattern, ents[i].pat, ents[i].len) != 0) {
            *why = "a pattern is not in normalized form or not of its kind";
            rc = AUTHDB_ECORRUPT;
        }
    }
    free(ents);
    return rc;
}

/* The index entries a rules record implies: cb(pattern, plen, arg) for
 * each rule (authgate-sync rebuilds a node's index from its records). */
int policy_rules_patterns(const void *rec, size_t len, int (*cb)(const char *, size_t, void *),
                          void *arg)
{
    struct rule_ent *ents;
    size_t n;
    int rc;

    ents = calloc(AUTHDB_RULES_MAX, sizeof(*ents));
    if (ents == NULL)
        return AUTHDB_ENOMEM;
    rc = rules_decode(rec, len, ents, &n);
    for (size_t i = 0; i < n && rc == AUTHDB_OK; i++)
        rc = cb(ents[i].pat, ents[i].len, arg);
    free(ents);
    return rc;
}

static int emit_rules(const char *login, const kv_val *v, authdb_rule_cb cb, void *arg)
{
    struct rule_ent *ents;
    size_t n;
    authdb_rule r;
    int rc;

    ents = calloc(AUTHDB_RULES_MAX, sizeof(*ents));
    if (ents == NULL)
        return AUTHDB_ENOMEM;
    rc = rules_decode(v->data, v->size, ents, &n);
    for (size_t i = 0; i < n && rc == AUTHDB_OK; i++) {
        memset(&r, 0, sizeof(r));
        r.action = ents[i].action;
        r.kind = ents[i].kind;
        memcpy(r.pattern, ents[i].pat, ents[i].len);
        rc = cb(login, &r, arg);
    }
    free(ents);
    return rc;
}

struct rule_visit {
    authdb_rule_cb cb;
    void *arg;
};

static int rule_visit(const char *key, size_t klen, const kv_val *v, void *arg)
{
    struct rule_visit *rv = arg;
    (void)klen;
    return emit_rules(key, v, rv->cb, rv->arg);
}

int authdb_rule_foreach(authdb *h, authdb_txn *txn, const char *login, size_t len,
                        authdb_rule_cb cb, void *arg)
{
    struct rule_visit rv = {cb, arg};
    authdb_txn *use;
    char key[AUTHDB_NAME_BUFSZ];
    size_t klen;
    kv_val v = {0};
    int own, rc;

    rc = store_read_one(h, txn, AUTHDB_POLICY, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    if (login != NULL) {
        rc = rule_keys(use, login, len, NULL, 0, key, &klen, NULL);
        if (rc == AUTHDB_OK)
            rc = kv_get(use, KV_RULES, key, klen, &v);
        if (rc == AUTHDB_OK)
            rc = emit_rules(key, &v, cb, arg);
    } else {
        rc = kv_foreach(use, KV_RULES, AUTHDB_LOGIN_MAX, rule_visit, &rv);
    }
    if (own)
        authdb_txn_end(use);
    return rc;
}

/* --------------------------------------------------------------- decide */

static int self_send_on(authdb_txn *txn, int *on)
{
    kv_val v;
    int rc;

    if (txn->self_send >= 0) {
        *on = txn->self_send;
        return AUTHDB_OK;
    }
    rc = store_meta_get(txn, ENV_POLICY, "s:self_send", &v);
    if (rc == AUTHDB_NOTFOUND)
        *on = 1;
    else if (rc == AUTHDB_OK)
        *on = v.size == 3 && memcmp(v.data, "yes", 3) == 0;
    else
        return rc;
    txn->self_send = *on;
    return AUTHDB_OK;
}

/* Decide for normalized login key and normalized, stripped address. */
static int decide(authdb_txn *txn, const authdb_norm *n, const char *key, size_t klen,
                  const char *addr, size_t alen, authdb_verdict *out)
{
    struct rule_ent *ents = NULL, *win[4][3] = {{0}};
    size_t cnt = 0, at;
    kv_val v;
    char self[AUTHDB_NAME_BUFSZ];
    size_t slen = klen;
    int rc, on, self_hit = 0, best = 0;
    const char *dom = NULL;

    memset(out, 0, sizeof(*out));
    memcpy(out->address, addr, alen + 1);
    if (norm_split(addr, alen, &at) == AUTHDB_OK)
        dom = addr + at + 1;
    rc = self_send_on(txn, &on);
    if (rc != AUTHDB_OK)
        return rc;
    if (on && norm_split(key, klen, &at) == AUTHDB_OK) {
        memcpy(self, key, klen + 1);
        norm_strip_subaddress(n, self, &slen);
        self_hit = slen == alen && memcmp(self, addr, alen) == 0;
    }
    rc = kv_get(txn, KV_RULES, key, klen, &v);
    if (rc == AUTHDB_OK)
        rc = rules_decode(v.data, v.size, NULL, &cnt);
    if (rc == AUTHDB_OK && cnt > 0) {
        ents = calloc(cnt, sizeof(*ents));
        if (ents == NULL)
            return AUTHDB_ENOMEM;
        rc = rules_decode(v.data, v.size, ents, &cnt);
    } else if (rc == AUTHDB_NOTFOUND) {
        rc = AUTHDB_OK;
    }
    if (rc != AUTHDB_OK)
        goto out;
    /* win[level][action]: level 3 address, 2 domain, 1 any. */
    for (size_t i = 0; i < cnt; i++) {
        struct rule_ent *r = &ents[i];
        int lvl = 0;
        if (r->kind == AUTHDB_RULE_ANY)
            lvl = 1;
        else if (r->kind == AUTHDB_RULE_DOMAIN && dom != NULL && r->len - 1 == strlen(dom) &&
                 memcmp(r->pat + 1, dom, r->len - 1) == 0)
            lvl = 2;
        else if (r->kind == AUTHDB_RULE_ADDRESS && r->len == alen &&
                 memcmp(r->pat, addr, alen) == 0)
            lvl = 3;
        if (lvl > 0) {
            win[lvl][r->action] = r;
            if (lvl > best)
                best = lvl;
        }
    }
    if (self_hit && best < 3)
        best = 3;
    if (best == 0)
        goto out; /* default: not allowed */
    out->matched = 1;
    if (win[best][AUTHDB_DENY] != NULL) {
        struct rule_ent *r = win[best][AUTHDB_DENY];
        out->allowed = 0;
        out->rule.action = AUTHDB_DENY;
        out->rule.kind = r->kind;
        memcpy(out->rule.pattern, r->pat, r->len);
    } else if (win[best][AUTHDB_ALLOW] != NULL) {
        struct rule_ent *r = win[best][AUTHDB_ALLOW];
        out->allowed = 1;
        out->rule.action = AUTHDB_ALLOW;
        out->rule.kind = r->kind;
        memcpy(out->rule.pattern, r->pat, r->len);
    } else {
        out->allowed = 1; /* only the implicit self rule */
        out->implicit_self = 1;
        out->rule.action = AUTHDB_ALLOW;
        out->rule.kind = AUTHDB_RULE_ADDRESS;
        memcpy(out->rule.pattern, addr, alen + 1);
    }
out:
    free(ents);
    return rc;
}

int authdb_sender_check(authdb *h, authdb_txn *txn, const char *login, size_t llen,
                        const char *address, size_t alen, authdb_verdict *out, const char **why)
{
    authdb_txn *use;
    authdb_norm n;
    char key[AUTHDB_NAME_BUFSZ], addr[AUTHDB_NAME_BUFSZ];
    size_t klen, al;
    const char *w;
    int own, rc;

    if (why == NULL)
        why = &w;
    memset(out, 0, sizeof(*out));
    rc = store_read_one(h, txn, AUTHDB_POLICY, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = settings_read_norm(use, &n);
    if (rc == AUTHDB_OK)
        rc = authdb_norm_login(&n, login, ADB_STRLEN(login, llen), key, sizeof(key), &klen, why);
    if (rc == AUTHDB_OK)
        rc = authdb_norm_address(&n, address, ADB_STRLEN(address, alen), 1, addr, sizeof(addr), &al,
                                 why);
    if (rc == AUTHDB_OK)
        rc = decide(use, &n, key, klen, addr, al, out);
    if (own)
        authdb_txn_end(use);
    return rc;
}

struct login_list {
    char **v;
    size_t n, cap;
};

static int list_add(struct login_list *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, cap * sizeof(*nv));
        if (nv == NULL)
            return AUTHDB_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n] = strndup(s, len);
    if (l->v[l->n] == NULL)
        return AUTHDB_ENOMEM;
    l->n++;
    return AUTHDB_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int index_collect(authdb_txn *txn, const char *pat, size_t plen, struct login_list *l)
{
    kv_cursor *c = NULL;
    kv_val k = {plen, pat}, v = {0};
    int rc = kv_cursor_open(txn, KV_RULEIDX, &c);

    if (rc != AUTHDB_OK)
        return rc;
    for (rc = kv_cursor_get(c, &k, &v, KV_SET_KEY); rc == AUTHDB_OK;
         rc = kv_cursor_get(c, &k, &v, KV_NEXT_DUP)) {
        if (v.size > AUTHDB_LOGIN_MAX) {
            rc = AUTHDB_ECORRUPT;
            break;
        }
        rc = list_add(l, v.data, v.size);
        if (rc != AUTHDB_OK)
            break;
    }
    kv_cursor_close(c);
    return rc == AUTHDB_NOTFOUND ? AUTHDB_OK : rc;
}

int authdb_senders_for(authdb *h, authdb_txn *txn, const char *address, size_t alen,
                       authdb_login_cb cb, void *arg, const char **why)
{
    authdb_txn *use;
    authdb_norm n;
    struct login_list l = {0};
    char addr[AUTHDB_NAME_BUFSZ], dpat[AUTHDB_NAME_BUFSZ + 1];
    size_t al, at;
    authdb_verdict vd;
    const char *w;
    int own, rc;

    if (why == NULL)
        why = &w;
    rc = store_read_one(h, txn, AUTHDB_POLICY, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = settings_read_norm(use, &n);
    if (rc == AUTHDB_OK)
        rc = authdb_norm_address(&n, address, ADB_STRLEN(address, alen), 1, addr, sizeof(addr), &al,
                                 why);
    if (rc != AUTHDB_OK)
        goto out;
    norm_split(addr, al, &at);
    snprintf(dpat, sizeof(dpat), "@%s", addr + at + 1);
    rc = index_collect(use, addr, al, &l);
    if (rc == AUTHDB_OK)
        rc = index_collect(use, dpat, strlen(dpat), &l);
    if (rc == AUTHDB_OK)
        rc = index_collect(use, "*", 1, &l);
    if (rc == AUTHDB_OK) {
        /* the address as its own login, when such a login exists */
        int known = policy_login_known(use, addr, al);
        if (known < 0)
            rc = known;
        else if (known)
            rc = list_add(&l, addr, al);
    }
    if (rc != AUTHDB_OK)
        goto out;
    if (l.n > 1) /* an empty list has no array (qsort wants one) */
        qsort(l.v, l.n, sizeof(*l.v), str_cmp);
    for (size_t i = 0; i < l.n && rc == AUTHDB_OK; i++) {
        if (i > 0 && strcmp(l.v[i], l.v[i - 1]) == 0)
            continue;
        rc = decide(use, &n, l.v[i], strlen(l.v[i]), addr, al, &vd);
        if (rc == AUTHDB_OK && vd.allowed)
            rc = cb(l.v[i], arg);
    }
out:
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    if (own)
        authdb_txn_end(use);
    return rc;
}

/* -------------------------------------------------------------- domains */

static int domain_key(const char *domain, size_t len, char *key, size_t *klen)
{
    const char *why;
    return authdb_norm_domain(domain, ADB_STRLEN(domain, len), key, AUTHDB_DOMAIN_MAX + 1, klen,
                              &why);
}

int authdb_domain_add(authdb_txn *txn, const char *domain, size_t len)
{
    char key[AUTHDB_DOMAIN_MAX + 1];
    unsigned char ver = RECORD_VERSION;
    size_t klen;
    int rc;

    if (!store_is_write(txn))
        return AUTHDB_ERDONLY;
    rc = store_has_env(txn, ENV_POLICY) ? AUTHDB_OK : AUTHDB_ENOENV;
    if (rc == AUTHDB_OK)
        rc = domain_key(domain, len, key, &klen);
    if (rc == AUTHDB_OK)
        rc = kv_put(txn, KV_DOMAINS, key, klen, &ver, 1, KV_NOOVERWRITE);
    return rc;
}

int authdb_domain_del(authdb_txn *txn, const char *domain, size_t len)
{
    char key[AUTHDB_DOMAIN_MAX + 1];
    size_t klen;
    int rc;

    if (!store_is_write(txn))
        return AUTHDB_ERDONLY;
    rc = store_has_env(txn, ENV_POLICY) ? AUTHDB_OK : AUTHDB_ENOENV;
    if (rc == AUTHDB_OK)
        rc = domain_key(domain, len, key, &klen);
    if (rc == AUTHDB_OK)
        rc = kv_del(txn, KV_DOMAINS, key, klen, NULL, 0);
    return rc;
}

int authdb_domain_is_local(authdb *h, authdb_txn *txn, const char *domain, size_t len)
{
    authdb_txn *use;
    char key[AUTHDB_DOMAIN_MAX + 1];
    size_t klen;
    kv_val v;
    int own, rc;

    rc = domain_key(domain, len, key, &klen);
    if (rc != AUTHDB_OK)
        return rc;
    rc = store_read_one(h, txn, AUTHDB_POLICY, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = kv_get(use, KV_DOMAINS, key, klen, &v);
    if (rc == AUTHDB_OK && (v.size < 1 || ((const unsigned char *)v.data)[0] != RECORD_VERSION))
        rc = AUTHDB_ECORRUPT;
    if (own)
        authdb_txn_end(use);
    return rc;
}

struct domain_visit {
    authdb_domain_cb cb;
    void *arg;
};

static int domain_visit(const char *key, size_t klen, const kv_val *v, void *arg)
{
    struct domain_visit *dv = arg;
    (void)klen;
    (void)v;
    return dv->cb(key, dv->arg);
}

int authdb_domain_foreach(authdb *h, authdb_txn *txn, authdb_domain_cb cb, void *arg)
{
    struct domain_visit dv = {cb, arg};
    authdb_txn *use;
    int own, rc;

    rc = store_read_one(h, txn, AUTHDB_POLICY, &use, &own);
    if (rc != AUTHDB_OK)
        return rc;
    rc = kv_foreach(use, KV_DOMAINS, AUTHDB_DOMAIN_MAX, domain_visit, &dv);
    if (own)
        authdb_txn_end(use);
    return rc;
}
