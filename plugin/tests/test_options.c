/*
 * test_options.c - options.c: the plugin's settings, table-driven.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin_private.h"

/* A fake getopt: key=value pairs, NULL-terminated. */
struct fake_opts {
    const char *kv[8];
};

static int fake_get(void *arg, const char *key, char *buf, size_t bufsz)
{
    const struct fake_opts *o = arg;
    int r = 0;
    size_t i;

    for (i = 0; o->kv[i] != NULL; i += 2) {
        if (strcmp(o->kv[i], key) != 0)
            continue;
        if (strlen(o->kv[i + 1]) >= bufsz) {
            r = -1;
        } else {
            memcpy(buf, o->kv[i + 1], strlen(o->kv[i + 1]) + 1);
            r = 1;
        }
    }
    return r;
}

struct options_case {
    struct fake_opts in;
    int active, writable;
    const char *store;
    const char *error; /* substring of options.error, "" for none */
};

static const struct options_case options_cases[] = {
    /* Not configured for this application: inert. */
    {{{NULL}}, 0, 0, OPTIONS_DEFAULT_STORE, ""},
    {{{"auxprop_plugin", "sasldb", NULL}}, 0, 0, OPTIONS_DEFAULT_STORE, ""},
    {{{"auxprop_plugin", "authgatex sasldb", NULL}}, 0, 0, OPTIONS_DEFAULT_STORE, ""},
    /* Named in auxprop_plugin (any case, any position): default store. */
    {{{"auxprop_plugin", "authgate", NULL}}, 1, 0, OPTIONS_DEFAULT_STORE, ""},
    {{{"auxprop_plugin", "sasldb  AuthGate", NULL}}, 1, 0, OPTIONS_DEFAULT_STORE, ""},
    {{{"auxprop_plugin", "\tauthgate\t", NULL}}, 1, 0, OPTIONS_DEFAULT_STORE, ""},
    /* authgate_store alone activates. */
    {{{"authgate_store", "/srv/ag", NULL}}, 1, 0, "/srv/ag", ""},
    {{{"authgate_store", "/srv/ag", "authgate_writable", "yes", NULL}}, 1, 1, "/srv/ag", ""},
    {{{"authgate_store", "/srv/ag", "authgate_writable", "On", NULL}}, 1, 1, "/srv/ag", ""},
    {{{"authgate_store", "/srv/ag", "authgate_writable", "1", NULL}}, 1, 1, "/srv/ag", ""},
    {{{"authgate_store", "/srv/ag", "authgate_writable", "no", NULL}}, 1, 0, "/srv/ag", ""},
    {{{"authgate_store", "/srv/ag", "authgate_writable", "false", NULL}}, 1, 0, "/srv/ag", ""},
    /* Bad values: active, failing closed with a reason. */
    {{{"authgate_store", "relative/dir", NULL}}, 1, 0, "relative/dir", "absolute"},
    {{{"authgate_store", "", NULL}}, 1, 0, "", "absolute"},
    {{{"authgate_store", "/srv/ag", "authgate_writable", "maybe", NULL}},
     1,
     0,
     "/srv/ag",
     "yes or no"},
};

static void test_options_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(options_cases) / sizeof(options_cases[0]); i++) {
        const struct options_case *c = &options_cases[i];
        options o;

        options_load(fake_get, (void *)&c->in, &o);
        if (o.active != c->active || o.writable != c->writable || strcmp(o.store, c->store) != 0 ||
            (c->error[0] == '\0' ? o.error[0] != '\0' : strstr(o.error, c->error) == NULL))
            fail_msg("case %zu: got active %d writable %d store \"%s\" error \"%s\"; "
                     "want %d %d \"%s\" \"%s\"",
                     i, o.active, o.writable, o.store, o.error, c->active, c->writable, c->store,
                     c->error);
    }
}

static void test_options_store_too_long(void **state)
{
    char longpath[OPTIONS_PATH_MAX + 10];
    struct fake_opts in = {{"authgate_store", longpath, NULL}};
    options o;

    (void)state;
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    options_load(fake_get, &in, &o);
    if (!o.active || strstr(o.error, "too long") == NULL)
        fail_msg("got active %d error \"%s\"; want active 1, error \"path too long\"", o.active,
                 o.error);
}

static void test_options_bool(void **state)
{
    static const struct {
        const char *in;
        int want;
    } cases[] = {{"yes", 1}, {"YES", 1}, {"y", 1},     {"on", 1},  {"true", 1},  {"t", 1},
                 {"1", 1},   {"no", 0},  {"N", 0},     {"off", 0}, {"false", 0}, {"0", 0},
                 {"", -1},   {"2", -1},  {"yess", -1}, {NULL, -1}};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = options_bool(cases[i].in);
        if (got != cases[i].want)
            fail_msg("options_bool(\"%s\"): got %d, want %d", cases[i].in ? cases[i].in : "NULL",
                     got, cases[i].want);
    }
}

/* Every key of the option table is documented in docs/authgate.7 as an
 * ".It Cm key" entry (the page's path comes from meson). */
static void test_options_documented(void **state)
{
    const char *page = getenv("AUTHGATE_MAN_PAGE");
    char text[65536];
    char want[128];
    size_t n = 0, i;
    FILE *f;

    (void)state;
    assert_non_null(page);
    f = fopen(page, "r");
    if (f == NULL)
        fail_msg("cannot open %s", page);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    for (i = 0; options_key_at(i) != NULL; i++) {
        snprintf(want, sizeof(want), "\n.It Cm %s", options_key_at(i));
        if (strstr(text, want) == NULL)
            fail_msg("%s does not document option %s (no \"%s\")", page, options_key_at(i),
                     want + 1);
    }
    assert_true(i >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_table),
        cmocka_unit_test(test_options_store_too_long),
        cmocka_unit_test(test_options_bool),
        cmocka_unit_test(test_options_documented),
    };
    return cmocka_run_group_tests_name("plugin-options", tests, NULL, NULL);
}
