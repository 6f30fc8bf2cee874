/*
 * test_manpage.c - docs/authgate-authd.8 documents every configuration
 * key the daemon reads (store and every authd_* key of the authdb table),
 * each as ".It Cm <key>", with "default <value>" in its paragraph giving the
 * table's default (a macro such as Pa or Li may sit between the two; empty
 * defaults excepted).  Usage: test-authd-manpage PAGE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authdb.h"

/* "default", optional macro names, then value, within p[0..len). */
static int has_default(const char *p, size_t len, const char *value)
{
    static const char word[] = "default ";
    const char *end = p + len;
    size_t vl = strlen(value);

    for (const char *at = p; (at = memmem(at, (size_t)(end - at), word, 8)) != NULL; at += 8) {
        const char *v = at + 8;
        while (end - v > 3 && (memcmp(v, "Pa ", 3) == 0 || memcmp(v, "Li ", 3) == 0))
            v += 3;
        if ((size_t)(end - v) >= vl && memcmp(v, value, vl) == 0)
            return 1;
    }
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (buf = calloc(1, (size_t)n + 1)) == NULL ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (f != NULL)
        fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    const authdb_conf_key *k;
    int failed = 0, checked = 0;
    char *page;

    if (argc != 2 || (page = slurp(argv[1])) == NULL) {
        fprintf(stderr, "usage: test-authd-manpage PAGE (readable)\n");
        return 1;
    }
    for (size_t i = 0; (k = authdb_conf_key_at(i)) != NULL; i++) {
        char item[96];
        if (strcmp(k->key, "store") != 0 && strncmp(k->key, "authd_", 6) != 0)
            continue;
        checked++;
        snprintf(item, sizeof(item), "\n.It Cm %s ", k->key);
        char *at = strstr(page, item);
        if (at == NULL) {
            printf("FAIL %s: no \".It Cm %s\" item in %s\n", k->key, k->key, argv[1]);
            failed++;
            continue;
        }
        /* The paragraph: up to the next item or list end. */
        char *end = at + strlen(item);
        char *next = strstr(end, "\n.It ");
        char *el = strstr(end, "\n.El");
        if (next == NULL || (el != NULL && el < next))
            next = el;
        size_t len = next != NULL ? (size_t)(next - at) : strlen(at);
        const char *def = k->default_value != NULL ? k->default_value : "";
        if (def[0] != '\0' && !has_default(at, len, def)) {
            printf("FAIL %s: \"default %s\" not in its paragraph\n", k->key, def);
            failed++;
            continue;
        }
        printf("ok   %s (default \"%s\")\n", k->key, def);
    }
    if (checked < 8) {
        printf("FAIL: only %d keys checked, want store and 7 authd_* keys\n", checked);
        failed++;
    }
    free(page);
    return failed != 0;
}
