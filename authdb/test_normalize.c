/*
 * test_normalize.c - table tests of login, address and domain
 * normalization (normalize.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "authdb.h"

enum kind { LOGIN, ADDR, ADDR_STRIP, DOMAIN };

struct ncase {
    enum kind kind;
    int case_sensitive;
    const char *in;
    int want_rc;
    const char *want; /* expected key when want_rc == AUTHDB_OK */
};

static const struct ncase cases[] = {
    /* case */
    {LOGIN, 0, "Alice", AUTHDB_OK, "alice"},
    {LOGIN, 1, "Alice", AUTHDB_OK, "Alice"},
    {LOGIN, 0, "Alice@Example.COM", AUTHDB_OK, "alice@example.com"},
    {LOGIN, 1, "Alice@Example.COM", AUTHDB_OK, "Alice@example.com"},
    {ADDR, 0, "JOHN.Doe@EXAMPLE.org", AUTHDB_OK, "john.doe@example.org"},
    /* trailing root dot */
    {ADDR, 0, "a@example.org.", AUTHDB_OK, "a@example.org"},
    /* IDNA: U-label and A-label give the same key */
    {ADDR, 0, "user@bücher.example", AUTHDB_OK, "user@xn--bcher-kva.example"},
    {ADDR, 0, "user@XN--BCHER-KVA.example", AUTHDB_OK, "user@xn--bcher-kva.example"},
    {ADDR, 0, "user@BÜCHER.example", AUTHDB_OK, "user@xn--bcher-kva.example"},
    {DOMAIN, 0, "münchen.de", AUTHDB_OK, "xn--mnchen-3ya.de"},
    {DOMAIN, 0, "xn--mnchen-3ya.de", AUTHDB_OK, "xn--mnchen-3ya.de"},
    /* an A-label that does not decode */
    {DOMAIN, 0, "xn--zz.example", AUTHDB_EINVAL, NULL},
    /* subaddresses: stripped only when asked, never from logins */
    {ADDR_STRIP, 0, "bob+lists@example.org", AUTHDB_OK, "bob@example.org"},
    {ADDR, 0, "bob+lists@example.org", AUTHDB_OK, "bob+lists@example.org"},
    {LOGIN, 0, "bob+lists@example.org", AUTHDB_OK, "bob+lists@example.org"},
    {ADDR_STRIP, 0, "+bob@example.org", AUTHDB_OK, "+bob@example.org"},
    {ADDR_STRIP, 0, "bob+a+b@example.org", AUTHDB_OK, "bob@example.org"},
    {ADDR_STRIP, 0, "bob.+x@example.org", AUTHDB_OK, "bob.+x@example.org"},
    /* quoted local parts */
    {ADDR, 0, "\"john\"@example.org", AUTHDB_OK, "john@example.org"},
    {ADDR, 0, "\"John.Doe\"@example.org", AUTHDB_OK, "john.doe@example.org"},
    {ADDR, 0, "\"john doe\"@example.org", AUTHDB_OK, "\"john doe\"@example.org"},
    {ADDR, 0, "\"a@b\"@example.org", AUTHDB_OK, "\"a@b\"@example.org"},
    {ADDR, 0, "\"a\\\"b\"@example.org", AUTHDB_OK, "\"a\\\"b\"@example.org"},
    {ADDR, 0, "\"a\\b\"@example.org", AUTHDB_OK, "ab@example.org"},
    {ADDR_STRIP, 0, "\"x+y z\"@example.org", AUTHDB_OK, "\"x+y z\"@example.org"},
    {ADDR, 0, "\"unterminated@example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "\"a\"b@example.org", AUTHDB_EINVAL, NULL},
    /* UTF-8 local parts (RFC 6532): NFC and case folding */
    {ADDR, 0, "JÖRG@example.org", AUTHDB_OK, "jörg@example.org"},
    {ADDR, 1, "JÖRG@example.org", AUTHDB_OK, "JÖRG@example.org"},
    {ADDR, 0, "Jo\xcc\x88rg@example.org", AUTHDB_OK, "jörg@example.org"}, /* o + U+0308 */
    /* address literals */
    {ADDR, 0, "a@[192.0.2.1]", AUTHDB_OK, "a@[192.0.2.1]"},
    {ADDR, 0, "a@[ipv6:2001:DB8::1]", AUTHDB_OK, "a@[IPv6:2001:db8::1]"},
    {ADDR, 0, "a@[300.1.1.1]", AUTHDB_EINVAL, NULL},
    /* invalid input */
    {LOGIN, 0, "", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "alice", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "@example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a@", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a@b@example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a..b@example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, ".a@example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a.@example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a b@example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a@exa mple.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a@-example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a@example..org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a@exa_mple.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a\tb@example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a\rb@example.org", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a@example.org\n", AUTHDB_EINVAL, NULL},
    {ADDR, 0, "a\xff@example.org", AUTHDB_EINVAL, NULL},     /* not UTF-8 */
    {ADDR, 0, "a\xc2\x85@example.org", AUTHDB_EINVAL, NULL}, /* C1 control NEL */
    {ADDR, 0, "<a@example.org>", AUTHDB_EINVAL, NULL},
    /* limits: 64-octet local part ok, 65 too long */
    {ADDR, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org", AUTHDB_OK,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org"},
    {ADDR, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org",
     AUTHDB_ETOOLONG, NULL},
    {DOMAIN, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
     AUTHDB_EINVAL, NULL}, /* 64-octet label */
};

static const char *kind_name(enum kind k)
{
    return k == LOGIN ? "login" : k == DOMAIN ? "domain" : k == ADDR ? "address" : "address+strip";
}

static void test_table(void **state)
{
    (void)state;
    int failures = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ncase *c = &cases[i];
        authdb_norm n;
        char out[AUTHDB_NAME_BUFSZ];
        size_t olen = 0;
        const char *why = NULL;
        int rc;

        authdb_norm_defaults(&n);
        n.case_sensitive = c->case_sensitive;
        memset(out, 0, sizeof(out));
        switch (c->kind) {
        case LOGIN:
            rc = authdb_norm_login(&n, c->in, strlen(c->in), out, sizeof(out), &olen, &why);
            break;
        case DOMAIN:
            rc = authdb_norm_domain(c->in, strlen(c->in), out, sizeof(out), &olen, &why);
            break;
        default:
            rc = authdb_norm_address(&n, c->in, strlen(c->in), c->kind == ADDR_STRIP, out,
                                     sizeof(out), &olen, &why);
        }
        if (rc != c->want_rc) {
            print_error("case %zu (%s \"%s\"): got rc %d (%s, %s), want %d (%s)\n", i,
                        kind_name(c->kind), c->in, rc, authdb_strerror(rc), why ? why : "-",
                        c->want_rc, authdb_strerror(c->want_rc));
            failures++;
            continue;
        }
        if (rc == AUTHDB_OK && (strcmp(out, c->want) != 0 || olen != strlen(c->want))) {
            print_error("case %zu (%s \"%s\"): got \"%s\" (%zu), want \"%s\"\n", i,
                        kind_name(c->kind), c->in, out, olen, c->want);
            failures++;
        }
        if (rc == AUTHDB_EINVAL && why == NULL) {
            print_error("case %zu (%s \"%s\"): EINVAL without a reason\n", i, kind_name(c->kind),
                        c->in);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Input that is not NUL-terminated must be read only up to its length. */
static void test_length_bound(void **state)
{
    (void)state;
    authdb_norm n;
    char out[AUTHDB_NAME_BUFSZ];
    size_t olen;
    const char buf[] = "alice@example.orgGARBAGE";

    authdb_norm_defaults(&n);
    assert_int_equal(authdb_norm_login(&n, buf, 17, out, sizeof(out), &olen, NULL), AUTHDB_OK);
    assert_string_equal(out, "alice@example.org");
    /* an embedded NUL is a control character, not an end */
    assert_int_equal(authdb_norm_login(&n, "al\0ce", 5, out, sizeof(out), &olen, NULL),
                     AUTHDB_EINVAL);
}

/* Overlong input is refused, never truncated. */
static void test_too_long(void **state)
{
    (void)state;
    authdb_norm n;
    char in[2048], out[AUTHDB_NAME_BUFSZ];
    size_t olen;

    authdb_norm_defaults(&n);
    memset(in, 'a', sizeof(in));
    assert_int_equal(authdb_norm_login(&n, in, sizeof(in), out, sizeof(out), &olen, NULL),
                     AUTHDB_ETOOLONG);
    /* small output buffer */
    assert_int_equal(authdb_norm_login(&n, "alice@example.org", 17, out, 8, &olen, NULL),
                     AUTHDB_ETOOLONG);
}

static void test_delimiters(void **state)
{
    (void)state;
    authdb_norm n;
    char out[AUTHDB_NAME_BUFSZ];
    size_t olen;

    authdb_norm_defaults(&n);
    strcpy(n.subaddress_delims, "+-");
    assert_int_equal(authdb_norm_address(&n, "a-b+c@x.org", 11, 1, out, sizeof(out), &olen, NULL),
                     AUTHDB_OK);
    assert_string_equal(out, "a@x.org");
    strcpy(n.subaddress_delims, "");
    assert_int_equal(authdb_norm_address(&n, "a+b@x.org", 9, 1, out, sizeof(out), &olen, NULL),
                     AUTHDB_OK);
    assert_string_equal(out, "a+b@x.org");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_length_bound),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_delimiters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
