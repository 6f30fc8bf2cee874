/*
 * test_doc.c - every configuration key authgate-milter reads is a key of
 * the shared parser and is documented in authgate-milter(8) (".It Cm key").
 * Every milter_* key of the parser must be in the list below, so a new one
 * cannot go undocumented.  usage: test-milter-doc PATH/authgate-milter.8
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

static const char *const keys[] = {
    "store",
    "milter_socket",
    "milter_user",
    "milter_pidfile",
    "milter_socket_mode",
    "milter_timeout",
    "authserv_id",
    "unauthenticated_action",
    "protect_local_domains",
    "report_only",
    "mismatch_action",
    "malformed_action",
    "unauthenticated_local_action",
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
            fail_msg("%s: not documented in authgate-milter.8 (want \"%s\")", keys[i], want + 1);
    }
}

static void test_milter_keys_listed(void **state)
{
    (void)state;
    for (size_t j = 0; authdb_conf_key_at(j) != NULL; j++) {
        const char *k = authdb_conf_key_at(j)->key;
        if (strncmp(k, "milter_", 7) == 0 && !in_list(k))
            fail_msg("%s: a milter key missing from this test and the man page", k);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_documented),
        cmocka_unit_test(test_milter_keys_listed),
    };
    FILE *f;
    long n;

    if (argc != 2 || (f = fopen(argv[1], "r")) == NULL) {
        fprintf(stderr, "usage: test-milter-doc authgate-milter.8\n");
        return 1;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    page = calloc(1, (size_t)n + 2);
    page[0] = '\n';
    if (fread(page + 1, 1, (size_t)n, f) != (size_t)n)
        return 1;
    fclose(f);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
