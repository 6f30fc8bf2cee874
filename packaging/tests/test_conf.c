/*
 * test_conf.c - the shipped /etc/authgate/authgate.conf (packaging/
 * authgate.conf) lists every key of the shared parser exactly once, commented
 * out, with its built-in default, and names no other key; loaded as it is,
 * it yields the built-in defaults.
 *
 * usage: test-packaging-conf PATH/authgate.conf
 *
 * A commented key line is "#key = value" or "#key =" (empty default).
 * Diagnostics: cmocka failures saying "got X, want Y".
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

#define MAX_LINES 1024

typedef struct shipped {
    char *text;                 /* the file, split into lines in place */
    const char *key[MAX_LINES]; /* commented key lines: key */
    const char *val[MAX_LINES]; /* and value ("" when empty) */
    unsigned line[MAX_LINES];   /* and line number */
    size_t n;
} shipped;

static const char *conf_path;

/* Read the whole file; NULL on error. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    long len;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = calloc(1, (size_t)len + 1);
    if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
out:
    fclose(f);
    return buf;
}

/* Is s "#word =" or "#word = value" with word made of [a-z0-9_]? */
static int split_key_line(char *s, const char **key, const char **val)
{
    char *p = s + 1, *k = p;

    if (s[0] != '#')
        return 0;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
        p++;
    if (p == k || strncmp(p, " =", 2) != 0)
        return 0;
    *p = '\0';
    p += 2;
    if (*p == ' ')
        p++;
    *key = k;
    *val = p;
    return 1;
}

static int setup(void **state)
{
    shipped *sh = calloc(1, sizeof(*sh));
    char *line, *next;
    unsigned no = 0;

    if (sh == NULL || (sh->text = slurp(conf_path)) == NULL) {
        fprintf(stderr, "cannot read %s\n", conf_path);
        free(sh);
        return -1;
    }
    for (line = sh->text; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        no++;
        if (sh->n < MAX_LINES && split_key_line(line, &sh->key[sh->n], &sh->val[sh->n])) {
            sh->line[sh->n] = no;
            sh->n++;
        }
    }
    *state = sh;
    return 0;
}

static int teardown(void **state)
{
    shipped *sh = *state;

    free(sh->text);
    free(sh);
    return 0;
}

/* Every parser key: exactly one commented line, with the default. */
static void test_every_key_once_with_default(void **state)
{
    const shipped *sh = *state;
    const authdb_conf_key *k;

    for (size_t i = 0; (k = authdb_conf_key_at(i)) != NULL; i++) {
        size_t seen = 0, at = 0;
        for (size_t j = 0; j < sh->n; j++)
            if (strcmp(sh->key[j], k->key) == 0) {
                seen++;
                at = j;
            }
        if (seen != 1)
            fail_msg("%s: got %zu commented lines \"#%s = ...\", want 1", k->key, seen, k->key);
        if (strcmp(sh->val[at], k->default_value) != 0)
            fail_msg("%s (line %u): got default \"%s\", want \"%s\" (the built-in default)", k->key,
                     sh->line[at], sh->val[at], k->default_value);
    }
}

/* No commented line names a key the parser does not know. */
static void test_no_unknown_key(void **state)
{
    const shipped *sh = *state;

    for (size_t j = 0; j < sh->n; j++) {
        int known = 0;
        for (size_t i = 0; authdb_conf_key_at(i) != NULL; i++)
            known |= strcmp(authdb_conf_key_at(i)->key, sh->key[j]) == 0;
        if (!known)
            fail_msg("line %u: got key \"%s\", want a key of authgate.conf(5)", sh->line[j],
                     sh->key[j]);
    }
}

/* As shipped, the file loads and every value is the default. */
static void test_loads_as_defaults(void **state)
{
    authdb_conf *c = NULL, *d = NULL;
    char why[AUTHDB_WHY_MAX];
    const authdb_conf_key *k;
    int rc;

    (void)state;
    rc = authdb_conf_load(conf_path, 0, &c, why, sizeof(why));
    if (rc != AUTHDB_OK)
        fail_msg("loading %s: got %s (%s), want success", conf_path, authdb_strerror(rc), why);
    rc = authdb_conf_load("/nonexistent/authgate.conf", 1, &d, why, sizeof(why));
    assert_int_equal(rc, AUTHDB_OK);
    for (size_t i = 0; (k = authdb_conf_key_at(i)) != NULL; i++) {
        const char *a = (const char *)c + k->offset, *b = (const char *)d + k->offset;
        if (k->type == AUTHDB_CONF_STRING) {
            const char *sa = *(char *const *)(const void *)a, *sb = *(char *const *)(const void *)b;
            if (strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "") != 0)
                fail_msg("%s: got \"%s\", want the default \"%s\"", k->key, sa, sb);
        } else if (memcmp(a, b,
                          k->type == AUTHDB_CONF_BOOL || k->type == AUTHDB_CONF_ACTION
                              ? sizeof(int)
                              : sizeof(unsigned)) != 0) {
            fail_msg("%s: the shipped file changes its value, want the default", k->key);
        }
    }
    authdb_conf_free(c);
    authdb_conf_free(d);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_once_with_default),
        cmocka_unit_test(test_no_unknown_key),
        cmocka_unit_test(test_loads_as_defaults),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: test-packaging-conf PATH/authgate.conf\n");
        return 2;
    }
    conf_path = argv[1];
    return cmocka_run_group_tests(tests, setup, teardown);
}
