/*
 * fuzz_decision.c - libFuzzer target: the whole end-of-message decision.
 *
 * A real LMDB store is created once in a temp dir (removed at exit) with a
 * few rules and local domains, and opened read-only on the policy
 * environment as the milter does.  Input: one flags octet, then
 * NUL-separated pieces: the MAIL FROM argument, then header fields
 * "Name: value".  The fields go through the header collector, then
 * policy_mail, policy_headers, policy_merge, plan_build and plan_edits,
 * exactly the path of the end-of-message callback.  Flags: bit 0
 * authenticated (login alice@example.com), bit 1 protect_local_domains,
 * bit 2 report_only, bits 3-4 mismatch_action, bit 5 a bare login "bob".
 * Checked: reply texts are printable ASCII; the escaped text has no lone
 * "%"; a pass is accepted; report_only never rejects except on a store
 * failure; rejected or tempfailed messages get no header edits; deletions
 * come before insertions, each name from its highest position down.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authdb.h"
#include "msg.h"
#include "plan.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static authdb *store;
static authdb_conf *defaults;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

static void cleanup(void)
{
    authdb_close(store);
    authdb_conf_free(defaults);
    if (dir[0] != '\0')
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int fill(authdb_txn *txn, void *arg)
{
    int rc;

    (void)arg;
    rc = authdb_rule_add(txn, "alice@example.com", 17, AUTHDB_ALLOW, "alias@example.com", 17);
    if (rc == AUTHDB_OK)
        rc = authdb_rule_add(txn, "alice@example.com", 17, AUTHDB_ALLOW, "@lists.example", 14);
    if (rc == AUTHDB_OK)
        rc = authdb_rule_add(txn, "bob", 3, AUTHDB_ALLOW, "*", 1);
    if (rc == AUTHDB_OK)
        rc = authdb_rule_add(txn, "bob", 3, AUTHDB_DENY, "@example.com", 12);
    if (rc == AUTHDB_OK)
        rc = authdb_domain_add(txn, "example.com", 11);
    if (rc == AUTHDB_OK)
        rc = authdb_domain_add(txn, "xn--bcher-kva.example", 21);
    return rc;
}

static void setup(void)
{
    authdb_create_opts co = {(gid_t)-1, (gid_t)-1, 0, NULL};
    char why[AUTHDB_WHY_MAX], path[128];
    authdb *w = NULL;

    snprintf(dir, sizeof(dir), "/tmp/authgate-fuzz.XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(cleanup);
    snprintf(path, sizeof(path), "%s/store", dir);
    if (authdb_create(path, &co, why, sizeof(why)) != AUTHDB_OK ||
        authdb_open(path, AUTHDB_BOTH | AUTHDB_WRITE, &w, why, sizeof(why)) != AUTHDB_OK ||
        authdb_write(w, fill, NULL) != AUTHDB_OK) {
        fprintf(stderr, "fuzz_decision: store: %s\n", why);
        abort();
    }
    authdb_close(w);
    if (authdb_open(path, AUTHDB_POLICY, &store, why, sizeof(why)) != AUTHDB_OK ||
        authdb_conf_load("/nonexistent/authgate.conf", 1, &defaults, why, sizeof(why)) !=
            AUTHDB_OK) {
        fprintf(stderr, "fuzz_decision: %s\n", why);
        abort();
    }
}

static void check_text(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7F)
            abort();
}

static void check_escaped(const char *s)
{
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n')
            abort();
        if (*s == '%') {
            if (s[1] != '%')
                abort();
            s++;
        }
    }
}

typedef struct edits {
    int inserted;
    unsigned last_del[2]; /* per name: the previous deletion index */
} edits;

static int on_edit(void *arg, enum plan_edit_kind kind, const char *name, unsigned idx,
                   const char *value)
{
    edits *e = arg;
    int which = strcmp(name, MSG_AUTHRES_HEADER) == 0;

    if (kind == PLAN_DELETE) {
        if (e->inserted || idx == 0 || (e->last_del[which] != 0 && idx >= e->last_del[which]))
            abort();
        e->last_del[which] = idx;
    } else {
        e->inserted = 1;
        if (value == NULL || strpbrk(value, "\r\n") != NULL)
            abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int acts[4] = {AUTHDB_ACT_REJECT, AUTHDB_ACT_TEMPFAIL, AUTHDB_ACT_QUARANTINE,
                                AUTHDB_ACT_HEADER};
    authdb_conf conf;
    policy_input in;
    policy_verdict mail, v;
    msg m;
    plan p;
    edits e;
    char *buf, *piece, *end;
    unsigned flags;
    const char *login;

    if (store == NULL)
        setup();
    if (size < 1 || size > 64 * 1024)
        return 0;
    flags = data[0];
    buf = malloc(size);
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    end = buf + size - 1;
    conf = *defaults;
    conf.protect_local_domains = (flags >> 1) & 1;
    conf.report_only = (flags >> 2) & 1;
    conf.mismatch_action = acts[(flags >> 3) & 3];
    login = (flags & 1) ? ((flags & 32) ? "bob" : "alice@example.com") : NULL;

    memset(&in, 0, sizeof(in));
    in.login = login;
    in.envfrom = buf;
    msg_init(&m);
    for (piece = buf + strlen(buf) + 1; piece < end; piece += strlen(piece) + 1) {
        char *colon = strchr(piece, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        msg_header(&m, piece, colon[1] == ' ' ? colon + 2 : colon + 1, "mx.test");
    }
    policy_mail(store, &conf, &in, &mail);
    check_text(mail.text);
    in.nfrom = m.nfrom;
    in.from = msg_from(&m, &in.from_len);
    in.nsender = m.nsender;
    in.sender = msg_sender(&m, &in.sender_len);
    policy_headers(store, &conf, &in, &v);
    check_text(v.text);
    if (v.cls == POLICY_PASS && v.action != AUTHDB_ACT_ACCEPT)
        abort();
    if (conf.report_only && v.cls != POLICY_TEMPFAIL && v.action != AUTHDB_ACT_ACCEPT)
        abort();
    policy_merge(&v, &mail);
    plan_build(&m, &v, "mx.test", login, "PLAIN", &p);
    check_escaped(p.text);
    memset(&e, 0, sizeof(e));
    plan_edits(&p, on_edit, &e);
    if (p.disposition != PLAN_CONTINUE && e.inserted)
        abort();
    if (p.disposition == PLAN_CONTINUE && !e.inserted)
        abort();
    msg_free(&m);
    free(buf);
    return 0;
}
