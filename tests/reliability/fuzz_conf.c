/*
 * fuzz_conf.c - libFuzzer target: authgate.conf, the one configuration
 * parser every program shares (authdb/conf.c).  The input is written to a
 * memfd and loaded through its /proc/self/fd path, as a file would be.
 * Invariants: success or an error with a sentence naming the file; on
 * success every string key is set and NUL-terminated; the same input
 * loads to the same result twice (no state kept between loads).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "authdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int conf_fd = -1;

static int load(const char *path, authdb_conf **c, char *why, size_t whylen)
{
    return authdb_conf_load(path, 0, c, why, whylen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], why[512], why2[512];
    authdb_conf *c = NULL, *d = NULL;
    int rc, rc2;

    if (conf_fd < 0 && (conf_fd = memfd_create("authgate.conf", 0)) < 0)
        abort();
    if (ftruncate(conf_fd, 0) != 0 || pwrite(conf_fd, data, size, 0) != (ssize_t)size)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", conf_fd);
    rc = load(path, &c, why, sizeof(why));
    rc2 = load(path, &d, why2, sizeof(why2));
    if (rc != rc2 || (c == NULL) != (d == NULL))
        abort();
    if (rc != AUTHDB_OK) {
        if (c != NULL || strncmp(why, path, strlen(path)) != 0 || strcmp(why, why2) != 0)
            abort();
    } else {
        if (c == NULL || c->store == NULL || c->milter_socket == NULL || c->authd_socket == NULL)
            abort();
        if (strcmp(c->store, d->store) != 0 || c->authd_timeout != d->authd_timeout ||
            c->milter_timeout != d->milter_timeout)
            abort();
    }
    authdb_conf_free(c);
    authdb_conf_free(d);
    return 0;
}
