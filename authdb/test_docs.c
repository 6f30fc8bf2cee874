/*
 * test_docs.c - every authgate.conf key and every store setting is
 * documented in authgate.conf(5) (as ".It Cm <key>").
 * usage: test-authdb-docs PATH-TO-authgate.conf.5
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authdb.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        return NULL;
    buf = calloc(1, (size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int documented(const char *page, const char *key)
{
    char needle[128];
    snprintf(needle, sizeof(needle), ".It Cm %s\n", key);
    if (strstr(page, needle) != NULL)
        return 1;
    snprintf(needle, sizeof(needle), ".It Cm %s No", key);
    return strstr(page, needle) != NULL;
}

int main(int argc, char **argv)
{
    char *page;
    int missing = 0, n = 0;

    if (argc != 2 || (page = slurp(argv[1])) == NULL) {
        fprintf(stderr, "usage: test-authdb-docs authgate.conf.5 (cannot read it)\n");
        return 1;
    }
    for (size_t i = 0; authdb_conf_key_at(i) != NULL; i++, n++)
        if (!documented(page, authdb_conf_key_at(i)->key)) {
            fprintf(stderr, "authgate.conf key %s: not documented in %s\n",
                    authdb_conf_key_at(i)->key, argv[1]);
            missing++;
        }
    for (size_t i = 0; authdb_setting_info_at(i) != NULL; i++, n++)
        if (!documented(page, authdb_setting_info_at(i)->key)) {
            fprintf(stderr, "store setting %s: not documented in %s\n",
                    authdb_setting_info_at(i)->key, argv[1]);
            missing++;
        }
    printf("%d keys and settings, %d undocumented\n", n, missing);
    free(page);
    return missing == 0 ? 0 : 1;
}
