/*
 * test_query_doc.c - every configuration key authgate-query reads is a key
 * of the shared parser and is documented in authgate-query(8) (".It Cm key
 * No"); every query_* key of the parser is in the list below, so a new one
 * cannot go undocumented.  The line protocol's grammar words and limits
 * the code uses are in the page too.
 * usage: test-query-doc PATH/authgate-query.8
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
#include "query_decide.h"
#include "query_line.h"
#include "query_socketmap.h"

static const char *const keys[] = {
    "store",
    "query_socket",
    "query_user",
    "query_socket_group",
    "query_socket_mode",
    "query_pidfile",
    "query_timeout",
    "query_idle_timeout",
    "query_connections",
    "unauthenticated_action",
    "protect_local_domains",
    "report_only",
    "mismatch_action",
    "malformed_action",
    "unauthenticated_local_action",
    "authserv_id",
    NULL,
};

static char *page;

static int in_list(const char *k)
{
    for (size_t i = 0; keys[i] != NULL; i++)
        if (strcmp(keys[i], k) == 0)
            return 1;
    return 0;
}

static void test_keys_documented(void **state)
{
    char want[128];

    (void)state;
    for (size_t i = 0; keys[i] != NULL; i++) {
        int known = 0;
        for (size_t j = 0; authdb_conf_key_at(j) != NULL; j++)
            known |= strcmp(authdb_conf_key_at(j)->key, keys[i]) == 0;
        if (!known)
            fail_msg("%s: not a key of authgate.conf", keys[i]);
        snprintf(want, sizeof(want), "\n.It Cm %s No", keys[i]);
        if (strstr(page, want) == NULL)
            fail_msg("%s: not documented in authgate-query.8 (want \"%s\")", keys[i], want + 1);
    }
}

static void test_query_keys_listed(void **state)
{
    (void)state;
    for (size_t j = 0; authdb_conf_key_at(j) != NULL; j++) {
        const char *k = authdb_conf_key_at(j)->key;
        if (strncmp(k, "query_", 6) == 0 && !in_list(k))
            fail_msg("%s: a query key missing from this test and the man page", k);
    }
}

/* The numbers and words the page promises are the code's. */
static void test_protocol_documented(void **state)
{
    char n[32];
    const char *words[] = {"mail login=B64 envfrom=B64",
                           "data login=B64 envfrom=B64 headers=B64 [id=B64]",
                           "ACTION CLASS CODE XCODE TEXT", ".Cm senders", NULL};
    const size_t nums[] = {QUERY_LINE_MAX, QUERY_SOCKETMAP_REQUEST_MAX, QUERY_SOCKETMAP_REPLY_MAX,
                           QUERY_HEADERS_TRUNCATED};

    (void)state;
    for (size_t i = 0; words[i] != NULL; i++)
        if (strstr(page, words[i]) == NULL)
            fail_msg("\"%s\" is not in authgate-query.8", words[i]);
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        snprintf(n, sizeof(n), "%zu octets", nums[i]);
        if (strstr(page, n) == NULL)
            fail_msg("the limit \"%s\" is not in authgate-query.8", n);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_documented),
        cmocka_unit_test(test_query_keys_listed),
        cmocka_unit_test(test_protocol_documented),
    };
    FILE *f;
    long n;
    int rc;

    if (argc != 2 || (f = fopen(argv[1], "r")) == NULL) {
        fprintf(stderr, "usage: test-query-doc authgate-query.8 (readable)\n");
        return 1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (page = calloc(1, (size_t)n + 1)) == NULL || fread(page, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "test-query-doc: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(page);
    return rc;
}
