/*
 * test_mailbox.c - table-driven tests of the From/Sender parser.
 *
 * Each row is one cmocka test: a field body and what mailbox_parse() must
 * make of it (the defect, or the addr-specs, display names and embedded
 * addresses, each list joined with "|").  Rows cover the legitimate forms
 * that must pass and every hazard class of DESIGN.md section 3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailbox.h"

typedef struct row {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    enum defect defect;
    const char *addrs;    /* "a@b|c@d" (when no defect) */
    const char *displays; /* "Alice|" */
    const char *embedded; /* "x@y|..." */
} row;

static const row rows[] = {
    /* --- legitimate forms --- */
    {"plain addr-spec", "alice@example.com", 0, DEFECT_NONE, "alice@example.com", "", ""},
    {"angle, no name", "<alice@example.com>", 0, DEFECT_NONE, "alice@example.com", "", ""},
    {"atom display name", "Alice Smith <alice@example.com>", 0, DEFECT_NONE, "alice@example.com",
     "Alice Smith", ""},
    {"quoted display name with comma", "\"Smith, Alice\" <alice@example.com>", 0, DEFECT_NONE,
     "alice@example.com", "Smith, Alice", ""},
    {"quoted-pair in display name", "\"Alice \\\"Al\\\" Smith\" <a@example.com>", 0, DEFECT_NONE,
     "a@example.com", "Alice \"Al\" Smith", ""},
    {"obs-phrase dot", "John Q. Public <jqp@example.com>", 0, DEFECT_NONE, "jqp@example.com",
     "John Q. Public", ""},
    {"folded CRLF", "Alice Smith\r\n <alice@example.com>", 0, DEFECT_NONE, "alice@example.com",
     "Alice Smith", ""},
    {"folded LF (Postfix)", "Alice\n\t<alice@example.com>", 0, DEFECT_NONE, "alice@example.com",
     "Alice", ""},
    {"folded inside quoted name", "\"Alice\r\n Smith\" <a@example.com>", 0, DEFECT_NONE,
     "a@example.com", "Alice Smith", ""},
    {"trailing line break", "alice@example.com\r\n", 0, DEFECT_NONE, "alice@example.com", "", ""},
    {"leading whitespace", "   alice@example.com", 0, DEFECT_NONE, "alice@example.com", "", ""},
    {"comment after addr-spec", "alice@example.com (Alice Smith)", 0, DEFECT_NONE,
     "alice@example.com", "", ""},
    {"nested comments", "Alice (the (real) one) <alice@example.com>", 0, DEFECT_NONE,
     "alice@example.com", "Alice", ""},
    {"CFWS around @", "<alice (x) @ (y) example.com>", 0, DEFECT_NONE, "alice@example.com", "", ""},
    {"subaddress", "Alice <alice+news@example.com>", 0, DEFECT_NONE, "alice+news@example.com",
     "Alice", ""},
    {"upper case kept as written", "ALICE@Example.COM", 0, DEFECT_NONE, "ALICE@Example.COM", "",
     ""},
    {"quoted local part", "\"john doe\"@example.com", 0, DEFECT_NONE, "\"john doe\"@example.com",
     "", ""},
    {"quoted local part with pair", "<\"a\\\"b\"@example.com>", 0, DEFECT_NONE,
     "\"a\\\"b\"@example.com", "", ""},
    {"domain literal", "<alice@[192.0.2.1]>", 0, DEFECT_NONE, "alice@[192.0.2.1]", "", ""},
    {"two mailboxes", "a@example.com, Bob <b@example.org>", 0, DEFECT_NONE,
     "a@example.com|b@example.org", "|Bob", ""},
    {"UTF-8 display name (RFC 6532)", "Jörg Müller <joerg@example.de>", 0, DEFECT_NONE,
     "joerg@example.de", "Jörg Müller", ""},
    {"UTF-8 address (RFC 6532)", "José <josé@exämple.com>", 0, DEFECT_NONE, "josé@exämple.com",
     "José", ""},
    {"A-label domain", "<a@xn--bcher-kva.example>", 0, DEFECT_NONE, "a@xn--bcher-kva.example", "",
     ""},
    {"RFC 2047 Q", "=?UTF-8?Q?J=C3=B6rg?= <j@example.de>", 0, DEFECT_NONE, "j@example.de", "Jörg",
     ""},
    {"RFC 2047 B", "=?utf-8?b?SsO2cmc=?= <j@example.de>", 0, DEFECT_NONE, "j@example.de", "Jörg",
     ""},
    {"RFC 2047 adjacent words joined", "=?utf-8?q?J=C3?= =?utf-8?q?=B6rg?= <j@example.de>", 0,
     DEFECT_NONE, "j@example.de", "Jörg", ""},
    {"RFC 2047 Q underscore", "=?us-ascii?q?John_Smith?= <j@example.com>", 0, DEFECT_NONE,
     "j@example.com", "John Smith", ""},
    {"RFC 2047 iso-8859-1", "=?iso-8859-1?q?Andr=E9?= <a@example.fr>", 0, DEFECT_NONE,
     "a@example.fr", "André", ""},
    {"RFC 2047 iso-8859-1 as cp1252", "=?ISO-8859-1?Q?O=92Brien?= <o@example.ie>", 0, DEFECT_NONE,
     "o@example.ie",
     "O\xe2\x80\x99"
     "Brien",
     ""},
    {"RFC 2231 language tag", "=?utf-8*en?q?Alice?= <a@example.com>", 0, DEFECT_NONE,
     "a@example.com", "Alice", ""},
    {"RFC 2047 mixed with text", "Dr. =?utf-8?q?J=C3=B6rg?= Smith <j@example.de>", 0, DEFECT_NONE,
     "j@example.de", "Dr. Jörg Smith", ""},
    {"own address as display name", "\"alice@example.com\" <alice@example.com>", 0, DEFECT_NONE,
     "alice@example.com", "alice@example.com", "alice@example.com"},
    {"Outlook quoted name", "\"'alice@example.com'\" <alice@example.com>", 0, DEFECT_NONE,
     "alice@example.com", "'alice@example.com'", "alice@example.com"},
    {"name with @ but no domain dot", "\"Bob@Home\" <bob@example.com>", 0, DEFECT_NONE,
     "bob@example.com", "Bob@Home", ""},

    /* --- addresses in display names and comments (CERT VU#517845) --- */
    {"address in quoted name", "\"ceo@bank.example\" <x@evil.example>", 0, DEFECT_NONE,
     "x@evil.example", "ceo@bank.example", "ceo@bank.example"},
    {"address in comment", "x@evil.example (ceo@bank.example)", 0, DEFECT_NONE, "x@evil.example",
     "", "ceo@bank.example"},
    {"address in nested comment", "(a (b (ceo@bank.example))) <x@evil.example>", 0, DEFECT_NONE,
     "x@evil.example", "", "ceo@bank.example"},
    {"address in quoted-pair comment", "x@evil.example (ceo\\@bank.example)", 0, DEFECT_NONE,
     "x@evil.example", "", "ceo@bank.example"},
    {"angle address in name", "\"CEO <ceo@bank.example>\" <x@evil.example>", 0, DEFECT_NONE,
     "x@evil.example", "CEO <ceo@bank.example>", "ceo@bank.example"},
    {"address in B-encoded name", "=?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?= <x@evil.example>", 0,
     DEFECT_NONE, "x@evil.example", "ceo@bank.example", "ceo@bank.example"},
    {"encoded-word inside quotes", "\"=?utf-8?q?ceo=40bank.example?=\" <x@evil.example>", 0,
     DEFECT_NONE, "x@evil.example", "ceo@bank.example", "ceo@bank.example"},
    {"address split over encoded-words",
     "=?utf-8?q?ceo?= =?utf-8?q?=40bank.example?= <x@e.example>", 0, DEFECT_NONE, "x@e.example",
     "ceo@bank.example", "ceo@bank.example"},
    {"address in encoded comment", "x@e.example (=?utf-8?q?ceo=40bank.example?=)", 0, DEFECT_NONE,
     "x@e.example", "", "ceo@bank.example"},
    {"UTF-7 hidden @", "=?utf-7?q?ceo+AEA-bank.example?= <x@e.example>", 0, DEFECT_NONE,
     "x@e.example", "ceo@bank.example", "ceo@bank.example"},
    {"UTF-16 hidden address", "=?utf-16be?b?AGMAZQBvAEAAYgAuAGUAeA==?= <x@e.example>", 0,
     DEFECT_NONE, "x@e.example", "ceo@b.ex", "ceo@b.ex"},
    {"unknown charset still scanned", "=?x-nonsense?q?ceo=40bank.example?= <x@e.example>", 0,
     DEFECT_NONE, "x@e.example", "ceo@bank.example", "ceo@bank.example"},
    {"fullwidth confusables", "\"ｃｅｏ＠ｂａｎｋ．ｅｘａｍｐｌｅ\" <x@e.example>", 0, DEFECT_NONE,
     "x@e.example", "ｃｅｏ＠ｂａｎｋ．ｅｘａｍｐｌｅ", "ceo@bank.example"},
    {"ideographic full stop", "\"ceo@bank。example\" <x@e.example>", 0, DEFECT_NONE, "x@e.example",
     "ceo@bank。example", "ceo@bank.example"},
    {"zero-width space inside", "\"ceo@ba\xe2\x80\x8bnk.example\" <x@e.example>", 0, DEFECT_NONE,
     "x@e.example", "ceo@ba\xe2\x80\x8bnk.example", "ceo@bank.example"},
    {"U-label in name", "\"ceo@bücher.example\" <x@e.example>", 0, DEFECT_NONE, "x@e.example",
     "ceo@bücher.example", "ceo@bücher.example"},
    {"trailing sentence dot", "\"write to ceo@bank.example.\" <x@e.example>", 0, DEFECT_NONE,
     "x@e.example", "write to ceo@bank.example.", "ceo@bank.example"},

    /* --- hostile or malformed: refused --- */
    {"empty", "", 0, DEFECT_EMPTY, NULL, NULL, NULL},
    {"only a comment", " (nobody) ", 0, DEFECT_EMPTY, NULL, NULL, NULL},
    {"display name only", "Alice Smith", 0, DEFECT_NOADDR, NULL, NULL, NULL},
    {"group", "Friends: a@example.com, b@example.com;", 0, DEFECT_GROUP, NULL, NULL, NULL},
    {"empty group", "undisclosed-recipients:;", 0, DEFECT_GROUP, NULL, NULL, NULL},
    {"group after a mailbox", "a@example.com, g: b@example.com;", 0, DEFECT_GROUP, NULL, NULL,
     NULL},
    {"semicolon list", "a@example.com; b@example.com", 0, DEFECT_GROUP, NULL, NULL, NULL},
    {"obsolete route", "<@bank.example:x@evil.example>", 0, DEFECT_ROUTE, NULL, NULL, NULL},
    {"obsolete route list", "<@a.example,@b.example:x@evil.example>", 0, DEFECT_ROUTE, NULL, NULL,
     NULL},
    {"obsolete route leading comma", "<,@a.example:x@evil.example>", 0, DEFECT_ROUTE, NULL, NULL,
     NULL},
    {"encoded-word as local part", "=?utf-8?q?ceo?=@bank.example", 0, DEFECT_ENCWORD, NULL, NULL,
     NULL},
    {"encoded-word in angle", "<=?utf-8?b?Y2Vv?=@bank.example>", 0, DEFECT_ENCWORD, NULL, NULL,
     NULL},
    {"encoded-word as domain", "<ceo@=?utf-8?q?bank.example?=>", 0, DEFECT_ENCWORD, NULL, NULL,
     NULL},
    {"encoded-word in quoted local", "<\"=?utf-8?q?ceo?=\"@bank.example>", 0, DEFECT_ENCWORD, NULL,
     NULL, NULL},
    {"quoted local part with @", "\"ceo@bank.example\"@evil.example", 0, DEFECT_QUOTED_AT, NULL,
     NULL, NULL},
    {"quoted local part with @ in angle", "CEO <\"ceo@bank.example\"@evil.example>", 0,
     DEFECT_QUOTED_AT, NULL, NULL, NULL},
    {"unquoted address as name", "ceo@bank.example <x@evil.example>", 0, DEFECT_SYNTAX, NULL, NULL,
     NULL},
    {"second angle address", "<ceo@bank.example> <x@evil.example>", 0, DEFECT_SYNTAX, NULL, NULL,
     NULL},
    {"text after angle address", "<x@evil.example> ceo@bank.example", 0, DEFECT_SYNTAX, NULL, NULL,
     NULL},
    {"address glued to angle", "ceo@bank.example<x@evil.example>", 0, DEFECT_SYNTAX, NULL, NULL,
     NULL},
    {"obs-local-part mixed quotes", "\"ceo\".admin@bank.example", 0, DEFECT_OBSOLETE, NULL, NULL,
     NULL},
    {"whitespace inside dot-atom", "ceo . admin@bank.example", 0, DEFECT_OBSOLETE, NULL, NULL,
     NULL},
    {"comment inside domain", "<ceo@bank(x).example>", 0, DEFECT_OBSOLETE, NULL, NULL, NULL},
    {"NUL after address", "x@evil.example\0ceo@bank.example", 32, DEFECT_NUL, NULL, NULL, NULL},
    {"NUL in quoted name", "\"ceo\0\" <x@evil.example>", 23, DEFECT_NUL, NULL, NULL, NULL},
    {"control character", "Alice\x07 <a@example.com>", 0, DEFECT_CTRL, NULL, NULL, NULL},
    {"DEL", "Alice\x7f <a@example.com>", 0, DEFECT_CTRL, NULL, NULL, NULL},
    {"C1 control in UTF-8", "Alice\xc2\x85 <a@example.com>", 0, DEFECT_CTRL, NULL, NULL, NULL},
    {"bare CR", "x@evil.example\rFrom: ceo@bank.example", 0, DEFECT_EOL, NULL, NULL, NULL},
    {"bare LF (header injection)", "x@evil.example\nFrom: ceo@bank.example", 0, DEFECT_EOL, NULL,
     NULL, NULL},
    {"malformed UTF-8", "Al\xffice <a@example.com>", 0, DEFECT_UTF8, NULL, NULL, NULL},
    {"overlong UTF-8 @",
     "ceo\xc1\x80"
     "bank.example",
     0, DEFECT_UTF8, NULL, NULL, NULL},
    {"unterminated quote", "\"Alice <a@example.com>", 0, DEFECT_UNTERMINATED, NULL, NULL, NULL},
    {"unterminated comment", "a@example.com (Alice", 0, DEFECT_UNTERMINATED, NULL, NULL, NULL},
    {"unterminated literal", "<a@[192.0.2.1>", 0, DEFECT_UNTERMINATED, NULL, NULL, NULL},
    {"stray backslash", "ceo\\@bank.example", 0, DEFECT_CHAR, NULL, NULL, NULL},
    {"unbalanced parenthesis", "a@example.com)", 0, DEFECT_CHAR, NULL, NULL, NULL},
    {"control in encoded-word", "=?utf-8?q?Alice=0D=0AX?= <a@example.com>", 0, DEFECT_DECODED_CTRL,
     NULL, NULL, NULL},
    {"NUL in encoded-word", "=?utf-8?b?YQBi?= <a@example.com>", 0, DEFECT_DECODED_CTRL, NULL, NULL,
     NULL},
    {"bidi override hides address",
     "\"\xe2\x80\xae"
     "elpmaxe.knab@oec\" <x@e.example>",
     0, DEFECT_BIDI, NULL, NULL, NULL},
    {"trailing comma", "a@example.com,", 0, DEFECT_SYNTAX, NULL, NULL, NULL},
    {"empty list element", "a@example.com,,b@example.com", 0, DEFECT_SYNTAX, NULL, NULL, NULL},
    {"empty angle", "<>", 0, DEFECT_SYNTAX, NULL, NULL, NULL},
    {"missing local part", "@bank.example", 0, DEFECT_SYNTAX, NULL, NULL, NULL},
    {"missing domain", "ceo@", 0, DEFECT_SYNTAX, NULL, NULL, NULL},
    {"double dot domain", "<ceo@bank..example>", 0, DEFECT_SYNTAX, NULL, NULL, NULL},
    {"trailing dot domain", "ceo@bank.example.", 0, DEFECT_SYNTAX, NULL, NULL, NULL},
    {"space in literal", "<a@[ 192.0.2.1]>", 0, DEFECT_SYNTAX, NULL, NULL, NULL},
};

/* "a|b|c": the n-th piece equals want. */
static void check_list(const char *what, const char *joined, size_t n,
                       const char *(*get)(const mailbox_list *, size_t), const mailbox_list *l)
{
    char buf[4096];
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "|" : "", get(l, i));
    if (strcmp(buf, joined) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", what, buf, joined);
}

static const char *get_addr(const mailbox_list *l, size_t i)
{
    return l->mb[i].addr;
}
static const char *get_display(const mailbox_list *l, size_t i)
{
    return l->mb[i].display;
}
static const char *get_embedded(const mailbox_list *l, size_t i)
{
    return l->embedded[i];
}

static void run_row(void **state)
{
    const row *r = *state;
    size_t len = r->len ? r->len : strlen(r->in);
    mailbox_list l;
    int rc = mailbox_parse(r->in, len, &l);

    if (rc < 0)
        fail_msg("out of memory");
    if (l.defect != r->defect)
        fail_msg("defect: got %s (at %zu), want %s", defect_name(l.defect), l.where,
                 defect_name(r->defect));
    if (rc != (r->defect == DEFECT_NONE ? 0 : 1))
        fail_msg("return: got %d, want %d", rc, r->defect == DEFECT_NONE ? 0 : 1);
    if (r->defect == DEFECT_NONE) {
        check_list("addresses", r->addrs, l.n, get_addr, &l);
        check_list("display names", r->displays, l.n, get_display, &l);
        check_list("embedded", r->embedded, l.nembedded, get_embedded, &l);
    } else if (l.n != 0 || l.nembedded != 0) {
        fail_msg("a refused field must list nothing: got %zu mailboxes", l.n);
    }
    mailbox_list_free(&l);
}

/* Limits: built at run time, so they are rows of their own. */
static void test_too_long(void **state)
{
    char *f = malloc(MAILBOX_FIELD_MAX + 2);
    mailbox_list l;

    (void)state;
    memset(f, 'a', MAILBOX_FIELD_MAX + 1);
    memcpy(f, "x@y.example (", 13);
    f[MAILBOX_FIELD_MAX] = ')';
    /* exactly the maximum parses */
    assert_int_equal(mailbox_parse(f, MAILBOX_FIELD_MAX + 0, &l), 1); /* unterminated comment */
    assert_int_equal(l.defect, DEFECT_UNTERMINATED);
    mailbox_list_free(&l);
    f[MAILBOX_FIELD_MAX - 1] = ')';
    assert_int_equal(mailbox_parse(f, MAILBOX_FIELD_MAX, &l), 0);
    mailbox_list_free(&l);
    /* one more octet is refused, never truncated */
    assert_int_equal(mailbox_parse(f, MAILBOX_FIELD_MAX + 1, &l), 1);
    if (l.defect != DEFECT_TOOLONG)
        fail_msg("got %s, want too-long", defect_name(l.defect));
    mailbox_list_free(&l);
    free(f);
}

static void test_too_many(void **state)
{
    char f[MAILBOX_FIELD_MAX];
    size_t len = 0;
    mailbox_list l;

    (void)state;
    for (int i = 0; i < MAILBOX_LIST_MAX; i++)
        len += (size_t)snprintf(f + len, sizeof(f) - len, "%sa%d@example.com", i ? "," : "", i);
    assert_int_equal(mailbox_parse(f, len, &l), 0);
    assert_int_equal(l.n, MAILBOX_LIST_MAX);
    mailbox_list_free(&l);
    len += (size_t)snprintf(f + len, sizeof(f) - len, ",one@more.example");
    assert_int_equal(mailbox_parse(f, len, &l), 1);
    if (l.defect != DEFECT_TOOMANY)
        fail_msg("got %s, want too-many", defect_name(l.defect));
    mailbox_list_free(&l);
}

static void test_nesting(void **state)
{
    char f[256];
    size_t len = 0;
    mailbox_list l;

    (void)state;
    len += (size_t)snprintf(f, sizeof(f), "a@example.com ");
    for (int i = 0; i < MAILBOX_NEST_MAX; i++)
        f[len++] = '(';
    for (int i = 0; i < MAILBOX_NEST_MAX; i++)
        f[len++] = ')';
    assert_int_equal(mailbox_parse(f, len, &l), 0);
    mailbox_list_free(&l);
    memmove(f + 15, f + 14, len - 14);
    f[14] = '(';
    f[++len] = ')';
    len++;
    assert_int_equal(mailbox_parse(f, len, &l), 1);
    if (l.defect != DEFECT_NESTING)
        fail_msg("got %s, want nesting", defect_name(l.defect));
    mailbox_list_free(&l);
}

static void test_too_many_embedded(void **state)
{
    char f[MAILBOX_FIELD_MAX];
    size_t len = 0;
    mailbox_list l;

    (void)state;
    len += (size_t)snprintf(f, sizeof(f), "x@e.example (");
    for (int i = 0; i <= MAILBOX_EMBEDDED_MAX; i++)
        len += (size_t)snprintf(f + len, sizeof(f) - len, " a%d@b.example", i);
    f[len++] = ')';
    assert_int_equal(mailbox_parse(f, len, &l), 1);
    if (l.defect != DEFECT_EMBEDDED)
        fail_msg("got %s, want embedded", defect_name(l.defect));
    mailbox_list_free(&l);
}

int main(void)
{
    size_t n = sizeof(rows) / sizeof(rows[0]);
    struct CMUnitTest *t = calloc(n + 4, sizeof(*t));
    int rc;

    for (size_t i = 0; i < n; i++) {
        t[i].name = rows[i].name;
        t[i].test_func = run_row;
        t[i].initial_state = (void *)&rows[i];
    }
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_too_long);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_too_many);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_nesting);
    t[n++] = (struct CMUnitTest)cmocka_unit_test(test_too_many_embedded);
    rc = _cmocka_run_group_tests("mailbox_parse", t, n, NULL, NULL);
    free(t);
    return rc;
}
