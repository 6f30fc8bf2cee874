/*
 * saslcorrupt.c - rl-sasl-corrupt: corrupted SASL exchanges through the
 * real libsasl2 against the authgate plugin, for every mechanism the
 * plugin serves (PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1,
 * SCRAM-SHA-256).  Every corrupted exchange must fail closed: the server
 * never answers SASL_OK.  Run under valgrind (test-sasl-corrupt.sh) for
 * crashes, invalid accesses and leaks.
 *
 * usage: rl-sasl-corrupt [-v] [MECH]...   (default: all six)
 *
 * A scratch store (plugin/tests/teststore.c) holds alice@example.com with
 * every secret; libsasl2 runs in this process with the stock mechanism
 * plugins and libauthgate.so (AUTHGATE_PLUGIN_PATH, plugin/tests/harness.c).
 * For each mechanism, first a clean exchange must succeed (else a failing
 * corruption would prove nothing), and a clean exchange is recorded (run A).
 * Then, for every client message of the exchange (step t), a live exchange
 * runs normally up to t and sends the server a corrupted message instead:
 *   truncated   to 0, 1, n/2, n-1 octets (every length below n for n <= 64)
 *   NUL         a NUL inserted at 0, n/2, n; a byte replaced by NUL there
 *   flipped     one bit flipped at 0, n/2, n-1
 *   oversized   the message followed by 4 KiB and by 64 KiB of 'A'; 64 KiB
 *               of 'A' alone; the message twice; for PLAIN and LOGIN a
 *               4,000-octet login
 *   wrong step  the message of step t-1 again; run A's message of step t
 *               (stale nonces: a replay); run A's message of step t+1; at
 *               step 0 of a server-first mechanism an initial response
 * The exchange then goes on as far as the client can (the client answers
 * the server's next challenge; a client that gives up ends it).
 *
 * A corrupted exchange that still ends in SASL_OK is a failure unless the
 * corruption provably left the credentials as they were (accepted_why):
 * the client's last message of DIGEST-MD5 and SCRAM, an acknowledgement of
 * the server's proof sent after the password was checked, which the
 * server does not read; DIGEST-MD5's initial response (a cached
 * subsequent-authentication answer: when it fails the server falls back to
 * a full exchange, which the real client passes); a NUL appended to the
 * message (libsasl2's mechanisms read C strings).  These are counted
 * apart, not hidden.
 *
 * Output: per mechanism "MECH: ... exchanges N failed-closed F
 * accepted-wrongly A; accepted with the same credentials: ..." and the
 * total; -v: one line per exchange.  Exit 0 when no corrupted exchange was
 * accepted wrongly and every clean exchange succeeded; 1 otherwise; 2 on a
 * setup error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sasl/sasl.h>

#include "harness.h"
#include "teststore.h"

#define RL_CB(f)  ((int (*)(void))(void (*)(void))(f))
#define STEPS_MAX 8
#define LOGIN     "alice@example.com"
#define PASSWORD  "Al1ce-c0rrupt"
#define BIG       65536
#define MSG_MAX   (2 * BIG + 8192)

struct msg {
    size_t len;
    int null; /* no message at all (server-first start) */
    unsigned char *data;
};

struct transcript {
    int n; /* client messages recorded */
    struct msg m[STEPS_MAX];
};

struct client_ctx {
    const char *authid;
    sasl_secret_t *secret;
};

static int cb_simple(void *ctx, int id, const char **result, unsigned *len)
{
    const struct client_ctx *c = ctx;
    const char *v = id == SASL_CB_AUTHNAME ? c->authid : "";

    *result = v;
    if (len != NULL)
        *len = (unsigned)strlen(v);
    return SASL_OK;
}

static int cb_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    const struct client_ctx *c = ctx;
    (void)conn;
    (void)id;
    *psecret = c->secret;
    return SASL_OK;
}

static int cb_realm(void *ctx, int id, const char **avail, const char **result)
{
    (void)ctx;
    (void)id;
    *result = avail != NULL && avail[0] != NULL ? avail[0] : "";
    return SASL_OK;
}

static void secprops(sasl_conn_t *c)
{
    sasl_security_properties_t sp;

    memset(&sp, 0, sizeof(sp));
    sasl_setprop(c, SASL_SEC_PROPS, &sp);
}

/* A corruption: what to send instead of the client's message at step t. */
enum op_kind {
    OP_NONE,
    OP_TRUNC,
    OP_INSNUL,
    OP_SETNUL,
    OP_FLIP,
    OP_APPEND,
    OP_ALONE,
    OP_TWICE,
    OP_BIGLOGIN,
    OP_PREV,
    OP_STALE,
    OP_NEXT,
    OP_INITIAL
};
static const char *const op_names[] = {
    "none",  "truncate",  "insert-nul", "set-nul",      "flip",      "append",          "alone",
    "twice", "big-login", "previous",   "stale-replay", "next-step", "initial-response"};

struct op {
    enum op_kind kind;
    int step;
    size_t arg;
};

/* Build the corrupted message from the client's real one (m: may be NULL
 * with len 0).  Returns 0, or -1 when the op does not apply. */
static int corrupt(const struct op *o, const unsigned char *m, size_t n, int is_null,
                   const struct transcript *a, const struct msg *prev, const char *mech,
                   unsigned char *out, size_t *outlen, int *outnull)
{
    size_t k;

    *outnull = 0;
    switch (o->kind) {
    case OP_TRUNC:
        if (o->arg >= n || is_null)
            return -1;
        memcpy(out, m, o->arg);
        *outlen = o->arg;
        return 0;
    case OP_INSNUL:
        if (o->arg > n || is_null)
            return -1;
        memcpy(out, m, o->arg);
        out[o->arg] = '\0';
        memcpy(out + o->arg + 1, m + o->arg, n - o->arg);
        *outlen = n + 1;
        return 0;
    case OP_SETNUL:
    case OP_FLIP:
        if (o->arg >= n || is_null)
            return -1;
        memcpy(out, m, n);
        if (o->kind == OP_SETNUL) {
            if (out[o->arg] == '\0')
                return -1;
            out[o->arg] = '\0';
        } else {
            out[o->arg] ^= 0x01;
        }
        *outlen = n;
        return 0;
    case OP_APPEND:
        memcpy(out, m, n);
        memset(out + n, 'A', o->arg);
        *outlen = n + o->arg;
        return 0;
    case OP_ALONE:
        memset(out, 'A', o->arg);
        *outlen = o->arg;
        return 0;
    case OP_TWICE:
        if (n == 0)
            return -1;
        memcpy(out, m, n);
        memcpy(out + n, m, n);
        *outlen = 2 * n;
        return 0;
    case OP_BIGLOGIN:
        /* PLAIN at step 0: "\0<login>\0<pw>"; LOGIN at step 1: the login */
        if (strcmp(mech, "PLAIN") == 0 && o->step == 0) {
            out[0] = '\0';
            memset(out + 1, 'a', 4000);
            memcpy(out + 4001, "@example.com", 12);
            out[4013] = '\0';
            memcpy(out + 4014, PASSWORD, strlen(PASSWORD));
            *outlen = 4014 + strlen(PASSWORD);
            return 0;
        }
        if (strcmp(mech, "LOGIN") == 0 && o->step == 1) {
            memset(out, 'a', 4000);
            *outlen = 4000;
            return 0;
        }
        return -1;
    case OP_PREV:
        if (prev == NULL)
            return -1;
        memcpy(out, prev->data, prev->len);
        *outlen = prev->len;
        *outnull = prev->null;
        return 0;
    case OP_STALE:
    case OP_NEXT:
        k = (size_t)o->step + (o->kind == OP_NEXT ? 1 : 0);
        if ((int)k >= a->n || a->m[k].null)
            return -1;
        if (o->kind == OP_STALE && a->m[k].len == n && memcmp(a->m[k].data, m, n) == 0)
            return -1; /* the same message: not a replay */
        memcpy(out, a->m[k].data, a->m[k].len);
        *outlen = a->m[k].len;
        return 0;
    case OP_INITIAL:
        if (!is_null || a->n < 2)
            return -1;
        memcpy(out, a->m[1].data, a->m[1].len);
        *outlen = a->m[1].len;
        return 0;
    default:
        if (!is_null)
            memcpy(out, m, n);
        *outlen = n;
        *outnull = is_null;
        return 0;
    }
}

static void msg_set(struct msg *d, const char *p, unsigned len, int is_null)
{
    d->null = is_null;
    d->len = is_null ? 0 : len;
    if (!is_null && len > 0)
        memcpy(d->data, p, len);
}

/* One exchange.  With o->kind == OP_NONE the clean exchange (recorded into
 * rec if not NULL).  Returns the server's last code; *corrupted 1 when the
 * op applied; *steps the client messages the server got. */
static int exchange(const char *mech, const struct op *o, const struct transcript *a,
                    struct transcript *rec, int *applied, int *steps, unsigned char *buf)
{
    struct client_ctx cc = {LOGIN, NULL};
    sasl_callback_t cbs[] = {
        {SASL_CB_AUTHNAME, RL_CB(cb_simple), &cc},
        {SASL_CB_USER, RL_CB(cb_simple), &cc},
        {SASL_CB_PASS, RL_CB(cb_pass), &cc},
        {SASL_CB_GETREALM, RL_CB(cb_realm), &cc},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *s = NULL, *cl = NULL;
    const char *cout = NULL, *sout = NULL, *chosen = NULL;
    unsigned coutlen = 0, soutlen = 0;
    struct msg prev = {0, 1, buf + MSG_MAX};
    int crc, srv = SASL_FAIL, t = 0, is_null, outnull;
    size_t outlen;

    *applied = 0;
    *steps = 0;
    cc.secret = calloc(1, sizeof(sasl_secret_t) + sizeof(PASSWORD));
    if (cc.secret == NULL)
        return SASL_NOMEM;
    cc.secret->len = strlen(PASSWORD);
    memcpy(cc.secret->data, PASSWORD, strlen(PASSWORD));
    if (sasl_server_new("smtp", "mx.test", NULL, NULL, NULL, NULL, 0, &s) != SASL_OK ||
        sasl_client_new("smtp", "mx.test", NULL, NULL, cbs, 0, &cl) != SASL_OK)
        goto out;
    secprops(s);
    secprops(cl);
    crc = sasl_client_start(cl, mech, NULL, &cout, &coutlen, &chosen);
    if (crc != SASL_OK && crc != SASL_CONTINUE)
        goto out;
    for (;;) {
        const char *send = cout;
        unsigned sendlen = coutlen;

        is_null = t == 0 && cout == NULL;
        if (rec != NULL && t < STEPS_MAX) {
            msg_set(&rec->m[t], cout, coutlen, is_null);
            rec->n = t + 1;
        }
        if (o->kind != OP_NONE && o->step == t) {
            if (corrupt(o, (const unsigned char *)cout, coutlen, is_null, a, t > 0 ? &prev : NULL,
                        mech, buf, &outlen, &outnull) == 0) {
                *applied = 1;
                send = outnull ? NULL : (const char *)buf;
                sendlen = (unsigned)outlen;
                is_null = outnull;
            }
        }
        if (t > 0 || !(t == 0 && cout == NULL))
            msg_set(&prev, cout, coutlen, t == 0 && cout == NULL);
        (*steps)++;
        if (t == 0)
            srv = sasl_server_start(s, mech, is_null ? NULL : send, is_null ? 0 : sendlen, &sout,
                                    &soutlen);
        else
            srv = sasl_server_step(s, send, sendlen, &sout, &soutlen);
        if (srv != SASL_CONTINUE || ++t >= STEPS_MAX)
            break;
        crc = sasl_client_step(cl, sout, soutlen, NULL, &cout, &coutlen);
        if (crc != SASL_OK && crc != SASL_CONTINUE)
            break; /* the client gives up: the server never finishes */
    }
out:
    sasl_dispose(&cl);
    sasl_dispose(&s);
    explicit_bzero(cc.secret, sizeof(sasl_secret_t) + sizeof(PASSWORD));
    free(cc.secret);
    return srv;
}

/* Why an accepted corrupted exchange did not authenticate anything the
 * password did not prove: 0 when nothing explains it (a failure). */
enum why_ok { OK_NOT = 0, OK_POST, OK_REAUTH, OK_TRAILNUL };
static const char *const why_names[] = {"", "post-verification acknowledgement",
                                        "DIGEST-MD5 reauth fallback", "trailing NUL"};

static enum why_ok accepted_why(const char *mech, const struct op *o, const struct transcript *a)
{
    int scram = strncmp(mech, "SCRAM-", 6) == 0, digest = strcmp(mech, "DIGEST-MD5") == 0;

    /* The client's last message of DIGEST-MD5 and SCRAM answers the
     * server's proof (rspauth, server-final): the password was checked at
     * the step before, and the server reads nothing from it. */
    if ((scram || digest) && o->step == a->n - 1 && o->step >= 2)
        return OK_POST;
    /* DIGEST-MD5's client offers a cached digest-response as initial
     * response (RFC 2831 subsequent authentication); a corrupted one fails
     * and the server starts a full exchange, which the client then passes. */
    if (digest && o->step == 0)
        return OK_REAUTH;
    /* A NUL appended to the message: libsasl2's mechanisms read the
     * fields as C strings, so the credentials are the same. */
    if (o->kind == OP_INSNUL && o->arg == a->m[o->step].len)
        return OK_TRAILNUL;
    return OK_NOT;
}

int main(int argc, char **argv)
{
    static const char *const mechs[] = {"PLAIN",      "LOGIN",       "CRAM-MD5",
                                        "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"};
    harness h;
    int verbose = argc > 1 && strcmp(argv[1], "-v") == 0, rc = 2, bad = 0, ran = 0;
    int first = verbose ? 2 : 1;
    unsigned long tot_n = 0, tot_fail = 0, tot_acc = 0, tot_post = 0;
    unsigned char *buf = malloc(2 * MSG_MAX);
    struct transcript *a = calloc(1, sizeof(*a));

    if (buf == NULL || a == NULL)
        return 2;
    for (int i = 0; i < STEPS_MAX; i++)
        if ((a->m[i].data = malloc(MSG_MAX)) == NULL)
            return 2;
    if (harness_setup(&h) != 0) {
        fprintf(stderr, "rl-sasl-corrupt: cannot make the scratch tree\n");
        return 2;
    }
    h.min_level = SASL_LOG_ERR;
    if (teststore_create(h.store, "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5 PLAIN",
                         "mx.test") != 0 ||
        teststore_put(h.store, LOGIN, PASSWORD, NULL) != 0 ||
        harness_conf(&h, "rl",
                     "pwcheck_method: auxprop\nauxprop_plugin: authgate\nauthgate_store: %s\n"
                     "mech_list: PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256\n",
                     h.store) != 0 ||
        harness_init(&h, "rl") != SASL_OK) {
        fprintf(stderr, "rl-sasl-corrupt: store or sasl_server_init failed\n");
        goto out;
    }
    for (size_t mi = 0; mi < sizeof(mechs) / sizeof(mechs[0]); mi++) {
        const char *mech = mechs[mi];
        struct op none = {OP_NONE, -1, 0};
        int wanted = first >= argc;

        for (int ai = first; ai < argc; ai++)
            wanted |= strcmp(argv[ai], mech) == 0;
        if (!wanted)
            continue;
        ran++;
        unsigned long n = 0, failed = 0, acc = 0, why[4] = {0, 0, 0, 0};
        int applied, steps, r;

        r = exchange(mech, &none, NULL, a, &applied, &steps, buf);
        if (r != SASL_OK) {
            printf("%s: the clean exchange failed: %s\n", mech, sasl_errstring(r, NULL, NULL));
            bad = 1;
            continue;
        }
        for (int t = 0; t < a->n; t++) {
            struct op ops[64];
            int nops = 0;
            size_t len = a->m[t].len;
            size_t pts[] = {0, len / 2, len > 0 ? len - 1 : 0};

            if (len <= 64) {
                for (size_t k = 0; k < len; k++)
                    ops[nops++] = (struct op){OP_TRUNC, t, k};
            } else {
                size_t tl[] = {0, 1, len / 2, len - 1};
                for (size_t k = 0; k < 4; k++)
                    ops[nops++] = (struct op){OP_TRUNC, t, tl[k]};
            }
            for (size_t k = 0; k < 3; k++) {
                ops[nops++] = (struct op){OP_INSNUL, t, k == 2 ? len : pts[k]};
                ops[nops++] = (struct op){OP_SETNUL, t, pts[k]};
                ops[nops++] = (struct op){OP_FLIP, t, pts[k]};
            }
            ops[nops++] = (struct op){OP_APPEND, t, 4096};
            ops[nops++] = (struct op){OP_APPEND, t, BIG};
            ops[nops++] = (struct op){OP_ALONE, t, BIG};
            ops[nops++] = (struct op){OP_TWICE, t, 0};
            ops[nops++] = (struct op){OP_BIGLOGIN, t, 0};
            ops[nops++] = (struct op){OP_PREV, t, 0};
            ops[nops++] = (struct op){OP_STALE, t, 0};
            ops[nops++] = (struct op){OP_NEXT, t, 0};
            ops[nops++] = (struct op){OP_INITIAL, t, 0};
            for (int k = 0; k < nops; k++) {
                struct transcript *none_rec = NULL;
                r = exchange(mech, &ops[k], a, none_rec, &applied, &steps, buf);
                if (!applied)
                    continue;
                n++;
                if (r == SASL_OK) {
                    enum why_ok w = accepted_why(mech, &ops[k], a);
                    why[w]++;
                    if (w == OK_NOT) {
                        acc++;
                        bad = 1;
                        printf("%s: step %d %s(%zu): ACCEPTED\n", mech, t, op_names[ops[k].kind],
                               ops[k].arg);
                    }
                } else {
                    failed++;
                }
                if (verbose)
                    printf("%s: step %d %s(%zu): %s after %d messages\n", mech, t,
                           op_names[ops[k].kind], ops[k].arg, sasl_errstring(r, NULL, NULL), steps);
            }
        }
        printf("%s: %d client messages; exchanges %lu failed-closed %lu accepted-wrongly %lu; "
               "accepted with the same credentials: %s %lu, %s %lu, %s %lu\n",
               mech, a->n, n, failed, acc, why_names[OK_POST], why[OK_POST], why_names[OK_REAUTH],
               why[OK_REAUTH], why_names[OK_TRAILNUL], why[OK_TRAILNUL]);
        tot_n += n;
        tot_fail += failed;
        tot_acc += acc;
        tot_post += why[OK_POST] + why[OK_REAUTH] + why[OK_TRAILNUL];
    }
    printf("sasl-corrupt: mechanisms %d exchanges %lu failed-closed %lu accepted-wrongly %lu "
           "accepted-same-credentials %lu\n",
           ran, tot_n, tot_fail, tot_acc, tot_post);
    rc = bad ? 1 : 0;
out:
    harness_teardown(&h);
    for (int i = 0; i < STEPS_MAX; i++)
        free(a->m[i].data);
    free(a);
    free(buf);
    return rc;
}
