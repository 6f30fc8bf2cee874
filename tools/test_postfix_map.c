/*
 * test_postfix_map.c - table-driven tests of the Postfix text table
 * parser: comments, continuation lines, separators, limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postfix_map.h"

/* Entries as "L<line>:<key>=<item>|<item>", errors as "X<line>", in order. */
struct collect {
    char log[4096];
};

static void put(struct collect *c, const char *s)
{
    size_t n = strlen(c->log);
    snprintf(c->log + n, sizeof(c->log) - n, "%s", s);
}

static void collect_entry(const postfix_map_entry *e, void *arg)
{
    struct collect *c = arg;
    const char *p = e->value, *end = e->value + e->valuelen, *item;
    char buf[512];
    size_t len, n = 0;

    snprintf(buf, sizeof(buf), "L%u:%.*s=", e->line, (int)e->keylen, e->key);
    put(c, buf);
    while (postfix_map_next(&p, end, &item, &len)) {
        snprintf(buf, sizeof(buf), "%s%.*s", n++ ? "|" : "", (int)len, item);
        put(c, buf);
    }
    if (n != e->nvalues)
        fail_msg("nvalues %zu, items %zu", e->nvalues, n);
    put(c, " ");
}

static void collect_error(unsigned line, const char *why, void *arg)
{
    struct collect *c = arg;
    char buf[32];

    assert_non_null(why);
    snprintf(buf, sizeof(buf), "X%u ", line);
    put(c, buf);
}

struct map_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen */
    const char *want;
};

static const struct map_case cases[] = {
    {"simple", "alice@example.com alice\n@example.org bob, carol\n", 0,
     "L1:alice@example.com=alice L2:@example.org=bob|carol "},
    {"comments and blanks", "# c\n\n   \n  # indented comment\na b\n", 0, "L5:a=b "},
    {"continuation", "key a,\n  b\n\tc\nnext d\n", 0, "L1:key=a|b|c L4:next=d "},
    {"comment inside continuation", "key a,\n# note\n  b\n", 0, "L1:key=a|b "},
    {"separators", "k a,,b , c\td\n", 0, "L1:k=a|b|c|d "},
    {"no final newline", "k v", 0, "L1:k=v "},
    {"crlf", "k v\r\nl w\r\n", 0, "L1:k=v L2:l=w "},
    {"orphan continuation", "  x y\nk v\n", 0, "X1 L2:k=v "},
    {"key without value", "lonely\nk v\n", 0, "X1 L2:k=v "},
    {"only commas", "k , ,\n", 0, "X1 "},
    {"inline hash is data", "k v # not a comment\n", 0, "L1:k=v|#|not|a|comment "},
    {"nul byte", "k v\0w\nl x\n", 10, "X1 L2:l=x "},
    {"empty", "", 0, ""},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct collect c;
        memset(&c, 0, sizeof(c));
        assert_int_equal(postfix_map_parse(cases[i].in,
                                           cases[i].len ? cases[i].len : strlen(cases[i].in),
                                           collect_entry, collect_error, &c),
                         0);
        if (strcmp(c.log, cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name, c.log, cases[i].want);
    }
}

static void test_limits(void **state)
{
    size_t n = POSTFIX_MAP_LINE_MAX + 10;
    char *big = malloc(n + 16);
    struct collect c;

    (void)state;
    assert_non_null(big);
    /* one logical line over the limit, then a good one */
    memset(big, 'a', n);
    memcpy(big, "k ", 2);
    memcpy(big + n, "\nl v\n", 5);
    memset(&c, 0, sizeof(c));
    assert_int_equal(postfix_map_parse(big, n + 5, collect_entry, collect_error, &c), 0);
    if (strcmp(c.log, "X1 L2:l=v ") != 0)
        fail_msg("long line: got \"%s\"", c.log);
    /* 1001 values */
    memcpy(big, "k ", 2);
    for (size_t i = 0; i < 1001; i++)
        memcpy(big + 2 + 2 * i, "a,", 2);
    big[2 + 2 * 1001] = '\n';
    memset(&c, 0, sizeof(c));
    assert_int_equal(postfix_map_parse(big, 3 + 2 * 1001, collect_entry, collect_error, &c), 0);
    if (strcmp(c.log, "X1 ") != 0)
        fail_msg("1001 values: got \"%s\"", c.log);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
