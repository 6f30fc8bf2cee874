/*
 * test_conf.c - authgate.conf parsing (conf.c): defaults, every value type,
 * and errors that name file and line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tu.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_defaults_and_values(void **state)
{
    (void)state;
    char dir[256], path[300], why[AUTHDB_WHY_MAX];
    authdb_conf *c;

    tu_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/authgate.conf", dir);
    /* missing default file: defaults */
    assert_int_equal(authdb_conf_load(path, 1, &c, why, sizeof(why)), AUTHDB_OK);
    assert_string_equal(c->store, "/var/lib/authgate");
    assert_int_equal(c->unauthenticated_action, AUTHDB_ACT_ACCEPT);
    assert_int_equal(c->report_only, 0);
    assert_int_equal(c->authd_socket_mode, 0660);
    authdb_conf_free(c);
    /* missing explicit file: an error naming it */
    assert_int_equal(authdb_conf_load(path, 0, &c, why, sizeof(why)), 2 /* ENOENT */);
    assert_null(c);
    assert_non_null(strstr(why, path));

    write_file(path, "# comment\n"
                     "\n"
                     "store = /srv/authgate\n"
                     "  report_only = yes\n"
                     "authserv_id = \"mx.example.org # not a comment\"\n"
                     "mismatch_action = quarantine\n"
                     "authd_socket_mode = 0600\n"
                     "authd_threads=8\n"
                     "unauthenticated_action = reject\n");
    assert_int_equal(authdb_conf_load(path, 0, &c, why, sizeof(why)), AUTHDB_OK);
    assert_string_equal(c->store, "/srv/authgate");
    assert_int_equal(c->report_only, 1);
    assert_string_equal(c->authserv_id, "mx.example.org # not a comment");
    assert_int_equal(c->mismatch_action, AUTHDB_ACT_QUARANTINE);
    assert_int_equal(c->authd_socket_mode, 0600);
    assert_int_equal(c->authd_threads, 8);
    assert_int_equal(c->unauthenticated_action, AUTHDB_ACT_REJECT);
    authdb_conf_free(c);
}

struct bad {
    const char *text;
    const char *why; /* substring expected in the diagnostic */
};

static void test_errors(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"nosuchkey = 1\n", ":1: unknown key"},
        {"store = /a\nstore = /b\n", ":2: store is set twice"},
        {"report_only = maybe\n", ":1: report_only: expected yes or no"},
        {"authd_threads = 0\n", "out of range"},
        {"authd_threads = 12x\n", "expected a number"},
        {"authd_socket_mode = 0999\n", "octal"},
        {"mismatch_action = accept\n", "not allowed"},
        {"unauthenticated_action = quarantine\n", "not allowed"},
        {"store /x\n", ":1: expected key = value"},
        {"\n\nstore = \"/x\n", ":3: unterminated"},
        {" = 3\n", "empty key"},
    };
    char dir[256], path[300], why[AUTHDB_WHY_MAX];
    authdb_conf *c;

    tu_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/authgate.conf", dir);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i].text);
        int rc = authdb_conf_load(path, 0, &c, why, sizeof(why));
        if (rc == AUTHDB_OK || strstr(why, bad[i].why) == NULL || strstr(why, path) == NULL)
            fail_msg("case %zu: got rc %d \"%s\", want an error containing \"%s\"", i, rc, why,
                     bad[i].why);
        assert_null(c);
    }
    /* an over-long line */
    char *big = malloc(10000);
    memset(big, 'a', 9999);
    big[9999] = '\0';
    write_file(path, big);
    free(big);
    assert_int_equal(authdb_conf_load(path, 0, &c, why, sizeof(why)), AUTHDB_ETOOLONG);
    assert_non_null(strstr(why, ":1: line longer"));
}

/* Every key has a default that parses and a description. */
static void test_table(void **state)
{
    (void)state;
    const authdb_conf_key *k;
    size_t n = 0;

    for (size_t i = 0; (k = authdb_conf_key_at(i)) != NULL; i++, n++) {
        assert_non_null(k->default_value);
        assert_true(strlen(k->description) > 10);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(authdb_conf_key_at(j)->key, k->key);
    }
    assert_true(n >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_table),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
