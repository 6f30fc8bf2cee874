/*
 * test_policy.c - table-driven tests of the send-as decision against a real
 * LMDB store (authdb_create in a temp dir, rules written with authdb_write,
 * read back through a read-only AUTHDB_POLICY handle as the milter does).
 *
 * Store used by every row:
 *   alice@example.com  self (implicit), allow alias@example.com,
 *                      allow @lists.example
 *   bob                allow bob@example.com, allow @bücher.example (U-label)
 *   admin@example.com  allow *, deny ceo@example.com
 *   carol@example.com  deny carol@example.com (removes the implicit self)
 *   local domains      example.com, bücher.example
 * Each row names a stage, a login, the envelope and header fields, optional
 * configuration changes, and the exact class, action, codes and a piece of
 * the reply text it must produce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authdb.h"
#include "policy.h"
#include "tu.h"

enum { MAIL = POLICY_STAGE_MAIL, HDRS = POLICY_STAGE_HEADERS };
enum { ST_OPEN = 0, ST_NONE = 1 }; /* store: the handle, or none (unavailable) */
#define ACC AUTHDB_ACT_ACCEPT
#define REJ AUTHDB_ACT_REJECT
#define TMP AUTHDB_ACT_TEMPFAIL
#define QUA AUTHDB_ACT_QUARANTINE
#define HDR AUTHDB_ACT_HEADER

typedef struct confmod {
    int unauth;       /* unauthenticated_action, 0 = default (accept) */
    int protect;      /* 1 = protect_local_domains yes */
    int report;       /* 1 = report_only yes */
    int mismatch;     /* mismatch_action, 0 = default (reject) */
    int malformed;    /* malformed_action */
    int unauth_local; /* unauthenticated_local_action */
} confmod;

typedef struct row {
    const char *name;
    int stage;
    const char *login;
    const char *envfrom;
    const char *from; /* NULL: no From field (unless nfrom says otherwise) */
    const char *sender;
    int nfrom;   /* -1: 1 if from else 0 */
    int nsender; /* -1: 1 if sender else 0 */
    confmod conf;
    int store;
    enum policy_class cls;
    int action;
    int would;
    const char *code, *xcode;
    const char *text; /* must occur in the reply text ("" for none) */
} row;

#define AL "alice@example.com"
#define NOCONF                                                                                     \
    {                                                                                              \
        0, 0, 0, 0, 0, 0                                                                           \
    }
#define PROTECT                                                                                    \
    {                                                                                              \
        0, 1, 0, 0, 0, 0                                                                           \
    }

static const row rows[] = {
    /* ---- MAIL FROM, authenticated ---- */
    {"mail: self", MAIL, AL, "<alice@example.com>", NULL, NULL, -1, -1, NOCONF, ST_OPEN,
     POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: allowed alias", MAIL, AL, "<alias@example.com>", NULL, NULL, -1, -1, NOCONF, ST_OPEN,
     POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: subaddress stripped", MAIL, AL, "<alice+lists@example.com>", NULL, NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: address case differs", MAIL, AL, "<ALICE@Example.COM>", NULL, NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: login case differs", MAIL, "Alice@EXAMPLE.com", "<alice@example.com>", NULL, NULL, -1,
     -1, NOCONF, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: domain rule", MAIL, AL, "<anyone@lists.example>", NULL, NULL, -1, -1, NOCONF, ST_OPEN,
     POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: domain rule excludes subdomain", MAIL, AL, "<x@sub.lists.example>", NULL, NULL, -1, -1,
     NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "553", "5.7.1",
     "Sender address <x@sub.lists.example> rejected: not owned by login alice@example.com"},
    {"mail: someone else", MAIL, AL, "<bob@example.com>", NULL, NULL, -1, -1, NOCONF, ST_OPEN,
     POLICY_MISMATCH, REJ, 0, "553", "5.7.1",
     "Sender address <bob@example.com> rejected: not owned by login alice@example.com"},
    {"mail: null sender passes to headers", MAIL, AL, "<>", NULL, NULL, -1, -1, NOCONF, ST_OPEN,
     POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: IDN A-label vs U-label rule", MAIL, "bob", "<x@xn--bcher-kva.example>", NULL, NULL, -1,
     -1, NOCONF, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: IDN U-label upper case", MAIL, "bob", "<x@BÜCHER.example>", NULL, NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: bare login explicit rule", MAIL, "bob", "<bob@example.com>", NULL, NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: bare login no self", MAIL, "bob", "<bob@example.net>", NULL, NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_MISMATCH, REJ, 0, "553", "5.7.1", "not owned by login bob"},
    {"mail: wildcard rule", MAIL, "admin@example.com", "<x@else.example>", NULL, NULL, -1, -1,
     NOCONF, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: deny beats wildcard", MAIL, "admin@example.com", "<ceo@example.com>", NULL, NULL, -1,
     -1, NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "553", "5.7.1", "<ceo@example.com>"},
    {"mail: deny removes self", MAIL, "carol@example.com", "<carol@example.com>", NULL, NULL, -1,
     -1, NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "553", "5.7.1", "login carol@example.com"},
    {"mail: unknown address login may send as itself", MAIL, "eve@example.org", "<eve@example.org>",
     NULL, NULL, -1, -1, NOCONF, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail: source route is malformed", MAIL, AL, "<@relay.example:alice@example.com>", NULL, NULL,
     -1, -1, NOCONF, ST_OPEN, POLICY_MALFORMED, REJ, 0, "553", "5.1.7", "malformed address"},
    {"mail: unparseable address", MAIL, AL, "<alice@@example.com>", NULL, NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_MALFORMED, REJ, 0, "553", "5.1.7", "<alice@@example.com>"},
    {"mail: reply escapes 8-bit octets", MAIL, AL, "<bob\xc3\xa9@example.com>", NULL, NULL, -1, -1,
     NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "553", "5.7.1", "<bob\\xC3\\xA9@example.com>"},
    {"mail: mismatch_action tempfail",
     MAIL,
     AL,
     "<bob@example.com>",
     NULL,
     NULL,
     -1,
     -1,
     {0, 0, 0, TMP, 0, 0},
     ST_OPEN,
     POLICY_MISMATCH,
     TMP,
     0,
     "451",
     "4.7.1",
     "bob@example.com"},
    {"mail: mismatch_action quarantine",
     MAIL,
     AL,
     "<bob@example.com>",
     NULL,
     NULL,
     -1,
     -1,
     {0, 0, 0, QUA, 0, 0},
     ST_OPEN,
     POLICY_MISMATCH,
     QUA,
     0,
     "",
     "",
     "bob@example.com"},
    {"mail: report_only",
     MAIL,
     AL,
     "<bob@example.com>",
     NULL,
     NULL,
     -1,
     -1,
     {0, 0, 1, 0, 0, 0},
     ST_OPEN,
     POLICY_MISMATCH,
     ACC,
     REJ,
     "553",
     "5.7.1",
     "bob@example.com"},
    {"mail: store unavailable", MAIL, AL, "<alice@example.com>", NULL, NULL, -1, -1, NOCONF,
     ST_NONE, POLICY_TEMPFAIL, TMP, 0, "451", "4.3.0", "try again later"},
    {"mail: store unavailable, report_only still tempfails",
     MAIL,
     AL,
     "<alice@example.com>",
     NULL,
     NULL,
     -1,
     -1,
     {0, 0, 1, 0, 0, 0},
     ST_NONE,
     POLICY_TEMPFAIL,
     TMP,
     0,
     "451",
     "4.3.0",
     ""},
    /* ---- MAIL FROM, unauthenticated ---- */
    {"mail unauth: accepted by default", MAIL, NULL, "<x@example.com>", NULL, NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail unauth: empty login is unauthenticated",
     MAIL,
     "",
     "<x@example.com>",
     NULL,
     NULL,
     -1,
     -1,
     {REJ, 0, 0, 0, 0, 0},
     ST_OPEN,
     POLICY_UNAUTH,
     REJ,
     0,
     "530",
     "5.7.0",
     "Authentication required"},
    {"mail unauth: reject",
     MAIL,
     NULL,
     "<x@remote.example>",
     NULL,
     NULL,
     -1,
     -1,
     {REJ, 0, 0, 0, 0, 0},
     ST_OPEN,
     POLICY_UNAUTH,
     REJ,
     0,
     "530",
     "5.7.0",
     "Authentication required"},
    {"mail unauth: protect local domain", MAIL, NULL, "<ceo@example.com>", NULL, NULL, -1, -1,
     PROTECT, ST_OPEN, POLICY_UNAUTH_LOCAL, REJ, 0, "553", "5.7.1",
     "Sender address <ceo@example.com> rejected: authentication required for a local domain"},
    {"mail unauth: protect, A-label of a U-label local domain", MAIL, NULL,
     "<x@xn--bcher-kva.example>", NULL, NULL, -1, -1, PROTECT, ST_OPEN, POLICY_UNAUTH_LOCAL, REJ, 0,
     "553", "5.7.1", ""},
    {"mail unauth: protect, remote domain", MAIL, NULL, "<x@remote.example>", NULL, NULL, -1, -1,
     PROTECT, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail unauth: protect, null sender", MAIL, NULL, "<>", NULL, NULL, -1, -1, PROTECT, ST_OPEN,
     POLICY_PASS, ACC, 0, "", "", ""},
    {"mail unauth: protect, unqualified sender", MAIL, NULL, "<postmaster>", NULL, NULL, -1, -1,
     PROTECT, ST_OPEN, POLICY_UNAUTH_LOCAL, REJ, 0, "553", "5.7.1", "<postmaster>"},
    {"mail unauth: no store needed", MAIL, NULL, "<x@example.com>", NULL, NULL, -1, -1, NOCONF,
     ST_NONE, POLICY_PASS, ACC, 0, "", "", ""},
    {"mail unauth: protect needs the store", MAIL, NULL, "<x@example.com>", NULL, NULL, -1, -1,
     PROTECT, ST_NONE, POLICY_TEMPFAIL, TMP, 0, "451", "4.3.0", ""},

    /* ---- headers, authenticated: must pass ---- */
    {"hdr: From self", HDRS, AL, "<alice@example.com>", "alice@example.com", NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr: folded, comments, quoted name", HDRS, AL, "<alice@example.com>",
     "\"Smith, Alice\" (work)\r\n\t<alice@example.com> (sent from phone)", NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr: own address as display name", HDRS, AL, "<>",
     "\"alice@example.com\" <alice@example.com>", NULL, -1, -1, NOCONF, ST_OPEN, POLICY_PASS, ACC,
     0, "", "", ""},
    {"hdr: display names an allowed domain", HDRS, AL, "<>",
     "\"team@lists.example\" <alice@example.com>", NULL, -1, -1, NOCONF, ST_OPEN, POLICY_PASS, ACC,
     0, "", "", ""},
    {"hdr: UTF-8 display name", HDRS, AL, "<>", "Älice Ñoño <alice@example.com>", NULL, -1, -1,
     NOCONF, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr: RFC 2047 display name", HDRS, AL, "<>", "=?utf-8?q?=C3=84lice?= <alice@example.com>",
     NULL, -1, -1, NOCONF, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr: subaddress", HDRS, AL, "<>", "Alice <alice+news@example.com>", NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr: case differs", HDRS, AL, "<>", "ALICE@Example.Com", NULL, -1, -1, NOCONF, ST_OPEN,
     POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr: IDN U-label From", HDRS, "bob", "<>", "Bob <b@bücher.example>", NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr: IDN A-label From", HDRS, "bob", "<>", "Bob <b@xn--bcher-kva.example>", NULL, -1, -1,
     NOCONF, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr: quoted local part equal to dot-atom", HDRS, AL, "<>", "<\"alice\"@example.com>", NULL,
     -1, -1, NOCONF, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr: two authors with Sender", HDRS, AL, "<>", "alice@example.com, alias@example.com",
     "alice@example.com", -1, -1, NOCONF, ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    /* ---- headers, authenticated: mismatch ---- */
    {"hdr: From someone else", HDRS, AL, "<alice@example.com>", "Bob <bob@example.com>", NULL, -1,
     -1, NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "550", "5.7.1",
     "From address <bob@example.com> rejected: not owned by login alice@example.com"},
    {"hdr: MAIL FROM:<> does not exempt", HDRS, AL, "<>", "ceo@example.com", NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_MISMATCH, REJ, 0, "550", "5.7.1", "<ceo@example.com>"},
    {"hdr: address in display name", HDRS, AL, "<>", "\"ceo@bank.example\" <alice@example.com>",
     NULL, -1, -1, NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "550", "5.7.1",
     "From display name claims <ceo@bank.example>, which login alice@example.com may not use"},
    {"hdr: address in comment", HDRS, AL, "<>", "alice@example.com (ceo@bank.example)", NULL, -1,
     -1, NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "550", "5.7.1", "<ceo@bank.example>"},
    {"hdr: local colleague in encoded name", HDRS, AL, "<>",
     "=?utf-8?b?Ym9iQGV4YW1wbGUuY29t?= <alice@example.com>", NULL, -1, -1, NOCONF, ST_OPEN,
     POLICY_MISMATCH, REJ, 0, "550", "5.7.1", "<bob@example.com>"},
    {"hdr: fullwidth confusable in name", HDRS, AL, "<>",
     "\"ｃｅｏ＠ｂａｎｋ．ｅｘａｍｐｌｅ\" <alice@example.com>", NULL, -1, -1, NOCONF, ST_OPEN,
     POLICY_MISMATCH, REJ, 0, "550", "5.7.1", "<ceo@bank.example>"},
    {"hdr: U-label address in name", HDRS, AL, "<>", "\"x@bücher.example\" <alice@example.com>",
     NULL, -1, -1, NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "550", "5.7.1",
     "<x@b\\xC3\\xBCcher.example>"},
    {"hdr: unnormalizable address in name", HDRS, AL, "<>",
     "\"x@-bad-.example\" <alice@example.com>", NULL, -1, -1, NOCONF, ST_OPEN, POLICY_MISMATCH, REJ,
     0, "550", "5.7.1", "<x@-bad-.example>"},
    {"hdr: one of two authors not allowed", HDRS, AL, "<>", "alice@example.com, bob@example.com",
     "alice@example.com", -1, -1, NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "550", "5.7.1",
     "From address <bob@example.com>"},
    {"hdr: Sender not allowed", HDRS, AL, "<>", "alice@example.com", "bob@example.com", -1, -1,
     NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0, "550", "5.7.1",
     "Sender address <bob@example.com> rejected: not owned by login alice@example.com"},
    {"hdr: Sender display name claims", HDRS, AL, "<>", "alice@example.com",
     "\"ceo@bank.example\" <alice@example.com>", -1, -1, NOCONF, ST_OPEN, POLICY_MISMATCH, REJ, 0,
     "550", "5.7.1", "Sender display name claims <ceo@bank.example>"},
    {"hdr: invalid login", HDRS, "bad login", "<>", "alice@example.com", NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_MISMATCH, REJ, 0, "550", "5.7.1", "not a valid login"},
    {"hdr: mismatch_action header",
     HDRS,
     AL,
     "<>",
     "bob@example.com",
     NULL,
     -1,
     -1,
     {0, 0, 0, HDR, 0, 0},
     ST_OPEN,
     POLICY_MISMATCH,
     HDR,
     0,
     "",
     "",
     "bob@example.com"},
    {"hdr: report_only",
     HDRS,
     AL,
     "<>",
     "bob@example.com",
     NULL,
     -1,
     -1,
     {0, 0, 1, 0, 0, 0},
     ST_OPEN,
     POLICY_MISMATCH,
     ACC,
     REJ,
     "550",
     "5.7.1",
     "bob@example.com"},
    /* ---- headers, authenticated: malformed ---- */
    {"hdr: no From", HDRS, AL, "<alice@example.com>", NULL, NULL, -1, -1, NOCONF, ST_OPEN,
     POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "no From header field"},
    {"hdr: two From fields", HDRS, AL, "<>", "alice@example.com", NULL, 2, -1, NOCONF, ST_OPEN,
     POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "2 From header fields"},
    {"hdr: From too long to keep", HDRS, AL, "<>", NULL, NULL, 1, -1, NOCONF, ST_OPEN,
     POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "From header field too long"},
    {"hdr: group syntax", HDRS, AL, "<>", "Friends: alice@example.com;", NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "malformed From header: group syntax"},
    {"hdr: obsolete route", HDRS, AL, "<>", "<@example.com:ceo@bank.example>", NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "obsolete source route"},
    {"hdr: encoded-word as address", HDRS, AL, "<>", "=?utf-8?q?ceo?=@example.com", NULL, -1, -1,
     NOCONF, ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1",
     "encoded-word where an address belongs"},
    {"hdr: quoted local part with @", HDRS, AL, "<>", "\"ceo@bank.example\"@lists.example", NULL,
     -1, -1, NOCONF, ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1",
     "quoted local part containing @"},
    {"hdr: bidi override", HDRS, AL, "<>",
     "\"\xe2\x80\xae"
     "elpmaxe.knab@oec\" <alice@example.com>",
     NULL, -1, -1, NOCONF, ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "bidirectional"},
    {"hdr: two authors without Sender", HDRS, AL, "<>", "alice@example.com, alias@example.com",
     NULL, -1, -1, NOCONF, ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1",
     "several From mailboxes need a Sender header field"},
    {"hdr: two Sender fields", HDRS, AL, "<>", "alice@example.com", "alice@example.com", -1, 2,
     NOCONF, ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "2 Sender header fields"},
    {"hdr: Sender with two mailboxes", HDRS, AL, "<>", "alice@example.com",
     "alice@example.com, alias@example.com", -1, -1, NOCONF, ST_OPEN, POLICY_MALFORMED, REJ, 0,
     "550", "5.7.1", "Sender header field holds 2 mailboxes"},
    {"hdr: malformed checked before mismatch", HDRS, AL, "<>", "bob@example.com", "undisclosed:;",
     -1, -1, NOCONF, ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "malformed Sender header"},
    {"hdr: address part fails normalization", HDRS, AL, "<>", "alice@-bad-.example", NULL, -1, -1,
     NOCONF, ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1",
     "<alice@-bad-.example> is malformed"},
    {"hdr: malformed_action quarantine",
     HDRS,
     AL,
     "<>",
     "Friends:;",
     NULL,
     -1,
     -1,
     {0, 0, 0, 0, QUA, 0},
     ST_OPEN,
     POLICY_MALFORMED,
     QUA,
     0,
     "",
     "",
     "group syntax"},
    {"hdr: store unavailable", HDRS, AL, "<>", "alice@example.com", NULL, -1, -1, NOCONF, ST_NONE,
     POLICY_TEMPFAIL, TMP, 0, "451", "4.3.0", ""},
    /* ---- headers, unauthenticated ---- */
    {"hdr unauth: not protected", HDRS, NULL, "<>", "ceo@example.com", NULL, -1, -1, NOCONF,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr unauth: local From", HDRS, NULL, "<x@remote.example>", "CEO <ceo@example.com>", NULL, -1,
     -1, PROTECT, ST_OPEN, POLICY_UNAUTH_LOCAL, REJ, 0, "550", "5.7.1",
     "From address <ceo@example.com> rejected: authentication required for a local domain"},
    {"hdr unauth: local From, U-label", HDRS, NULL, "<>", "x@BÜCHER.example", NULL, -1, -1, PROTECT,
     ST_OPEN, POLICY_UNAUTH_LOCAL, REJ, 0, "550", "5.7.1", ""},
    {"hdr unauth: remote From", HDRS, NULL, "<>", "x@remote.example", NULL, -1, -1, PROTECT,
     ST_OPEN, POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr unauth: local Sender", HDRS, NULL, "<>", "x@remote.example", "ceo@example.com", -1, -1,
     PROTECT, ST_OPEN, POLICY_UNAUTH_LOCAL, REJ, 0, "550", "5.7.1", "Sender address"},
    {"hdr unauth: several From fields", HDRS, NULL, "<>", "x@remote.example", NULL, 2, -1, PROTECT,
     ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "2 From header fields"},
    {"hdr unauth: unparseable From", HDRS, NULL, "<>", "x@remote.example\nFrom: ceo@example.com",
     NULL, -1, -1, PROTECT, ST_OPEN, POLICY_MALFORMED, REJ, 0, "550", "5.7.1", "line break"},
    {"hdr unauth: display names are not checked", HDRS, NULL, "<>",
     "\"ceo@example.com via List\" <list@remote.example>", NULL, -1, -1, PROTECT, ST_OPEN,
     POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr unauth: no From is fine", HDRS, NULL, "<>", NULL, NULL, -1, -1, PROTECT, ST_OPEN,
     POLICY_PASS, ACC, 0, "", "", ""},
    {"hdr unauth: unauthenticated_local_action quarantine",
     HDRS,
     NULL,
     "<>",
     "ceo@example.com",
     NULL,
     -1,
     -1,
     {0, 1, 0, 0, 0, QUA},
     ST_OPEN,
     POLICY_UNAUTH_LOCAL,
     QUA,
     0,
     "",
     "",
     ""},
};

typedef struct fixture {
    char dir[512];
    authdb *h;
    authdb_conf *defaults;
} fixture;

static fixture fx;

static int group_setup(void **state)
{
    static const struct tu_rule rules[] = {
        {"alice@example.com", AUTHDB_ALLOW, "alias@example.com"},
        {"alice@example.com", AUTHDB_ALLOW, "@lists.example"},
        {"bob", AUTHDB_ALLOW, "bob@example.com"},
        {"bob", AUTHDB_ALLOW, "@bücher.example"},
        {"admin@example.com", AUTHDB_ALLOW, "*"},
        {"admin@example.com", AUTHDB_DENY, "ceo@example.com"},
        {"carol@example.com", AUTHDB_DENY, "carol@example.com"},
        {NULL, 0, NULL},
    };
    char why[AUTHDB_WHY_MAX];
    authdb *w = NULL;
    int rc;

    (void)state;
    tu_new_store(fx.dir, sizeof(fx.dir), NULL);
    rc = authdb_open(fx.dir, AUTHDB_BOTH | AUTHDB_WRITE, &w, why, sizeof(why));
    if (rc != AUTHDB_OK)
        fail_msg("open for writing: %s", why);
    assert_int_equal(tu_add_rules(w, rules), AUTHDB_OK);
    assert_int_equal(tu_domain(w, "example.com", 1), AUTHDB_OK);
    assert_int_equal(tu_domain(w, "bücher.example", 1), AUTHDB_OK);
    authdb_close(w);
    /* The milter's view: policy only, read-only. */
    rc = authdb_open(fx.dir, AUTHDB_POLICY, &fx.h, why, sizeof(why));
    if (rc != AUTHDB_OK)
        fail_msg("open read-only: %s", why);
    rc = authdb_conf_load("/nonexistent/authgate.conf", 1, &fx.defaults, why, sizeof(why));
    if (rc != AUTHDB_OK)
        fail_msg("default configuration: %s", why);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    authdb_close(fx.h);
    authdb_conf_free(fx.defaults);
    tu_cleanup();
    return 0;
}

static void apply(authdb_conf *c, const confmod *m)
{
    if (m->unauth)
        c->unauthenticated_action = m->unauth;
    if (m->protect)
        c->protect_local_domains = 1;
    if (m->report)
        c->report_only = 1;
    if (m->mismatch)
        c->mismatch_action = m->mismatch;
    if (m->malformed)
        c->malformed_action = m->malformed;
    if (m->unauth_local)
        c->unauthenticated_local_action = m->unauth_local;
}

static void run_row(void **state)
{
    const row *r = *state;
    authdb_conf conf = *fx.defaults;
    policy_input in;
    policy_verdict v;

    apply(&conf, &r->conf);
    memset(&in, 0, sizeof(in));
    in.login = r->login;
    in.envfrom = r->envfrom;
    in.nfrom = r->nfrom >= 0 ? (size_t)r->nfrom : (r->from != NULL);
    in.from = r->from;
    in.from_len = r->from ? strlen(r->from) : 0;
    in.nsender = r->nsender >= 0 ? (size_t)r->nsender : (r->sender != NULL);
    in.sender = r->sender;
    in.sender_len = r->sender ? strlen(r->sender) : 0;
    if (r->stage == MAIL)
        policy_mail(r->store == ST_OPEN ? fx.h : NULL, &conf, &in, &v);
    else
        policy_headers(r->store == ST_OPEN ? fx.h : NULL, &conf, &in, &v);
    if (v.cls != r->cls)
        fail_msg("class: got %s, want %s (reason: %s)", policy_class_name(v.cls),
                 policy_class_name(r->cls), v.reason);
    if (v.action != r->action)
        fail_msg("action: got %s, want %s", policy_action_name(v.action),
                 policy_action_name(r->action));
    if (v.would != r->would)
        fail_msg("would: got %s, want %s", policy_action_name(v.would),
                 policy_action_name(r->would));
    if (strcmp(v.code, r->code) != 0 || strcmp(v.xcode, r->xcode) != 0)
        fail_msg("codes: got \"%s %s\", want \"%s %s\"", v.code, v.xcode, r->code, r->xcode);
    if (strstr(v.text, r->text) == NULL)
        fail_msg("text: got \"%s\", want it to contain \"%s\"", v.text, r->text);
    for (const char *p = v.text; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
            fail_msg("text holds octet 0x%02x: \"%s\"", (unsigned char)*p, v.text);
    if (v.reason[0] == '\0')
        fail_msg("no log reason");
}

/* The rule that decided is reported for the log. */
static void test_rule_reported(void **state)
{
    authdb_conf conf = *fx.defaults;
    policy_input in = {"alice@example.com", "<anyone@lists.example>", 0, 0, 0, 0, 0, 0};
    policy_verdict v;

    (void)state;
    policy_mail(fx.h, &conf, &in, &v);
    if (strcmp(v.rule, "allow @lists.example") != 0)
        fail_msg("rule: got \"%s\", want \"allow @lists.example\"", v.rule);
    in.envfrom = "<alice@example.com>";
    policy_mail(fx.h, &conf, &in, &v);
    if (strcmp(v.rule, "self") != 0)
        fail_msg("rule: got \"%s\", want \"self\"", v.rule);
    in.envfrom = "<bob@example.com>";
    policy_mail(fx.h, &conf, &in, &v);
    if (strcmp(v.rule, "none") != 0)
        fail_msg("rule: got \"%s\", want \"none\"", v.rule);
}

/* A deferred MAIL verdict (quarantine) survives a passing header check;
 * a header reject beats it. */
static void test_merge(void **state)
{
    authdb_conf conf = *fx.defaults;
    policy_input in = {
        "alice@example.com", "<bob@example.com>", 1, "alice@example.com", 17, 0, NULL, 0};
    policy_verdict mail, hdr;

    (void)state;
    conf.mismatch_action = AUTHDB_ACT_QUARANTINE;
    policy_mail(fx.h, &conf, &in, &mail);
    assert_int_equal(mail.action, AUTHDB_ACT_QUARANTINE);
    policy_headers(fx.h, &conf, &in, &hdr);
    assert_int_equal(hdr.cls, POLICY_PASS);
    policy_merge(&hdr, &mail);
    if (hdr.action != AUTHDB_ACT_QUARANTINE)
        fail_msg("merged: got %s, want quarantine", policy_action_name(hdr.action));
    conf.mismatch_action = AUTHDB_ACT_REJECT;
    in.from = "ceo@example.com";
    in.from_len = strlen(in.from);
    policy_headers(fx.h, &conf, &in, &hdr);
    policy_merge(&hdr, &mail);
    if (hdr.action != AUTHDB_ACT_REJECT)
        fail_msg("merged: got %s, want reject", policy_action_name(hdr.action));
}

int main(void)
{
    size_t n = sizeof(rows) / sizeof(rows[0]);
    struct CMUnitTest *t = calloc(n + 2, sizeof(*t));
    int rc;

    for (size_t i = 0; i < n; i++) {
        t[i].name = rows[i].name;
        t[i].test_func = run_row;
        t[i].initial_state = (void *)&rows[i];
    }
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_rule_reported);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_merge);
    rc = _cmocka_run_group_tests("policy", t, n, group_setup, group_teardown);
    free(t);
    return rc;
}
