/*
 * fuzz_norm.c - libFuzzer target: login, address, domain and pattern
 * normalization.  Invariants checked: results are NUL-terminated, within
 * AUTHDB_LOGIN_MAX, and normalizing a result again gives the same result
 * (a key is a fixed point).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fixed_point(const authdb_norm *n, int addr, int strip, const char *out, size_t olen)
{
    char again[AUTHDB_NAME_BUFSZ];
    size_t alen;
    int rc;

    if (olen > AUTHDB_LOGIN_MAX || strlen(out) != olen)
        abort();
    rc = addr ? authdb_norm_address(n, out, olen, strip, again, sizeof(again), &alen, NULL)
              : authdb_norm_login(n, out, olen, again, sizeof(again), &alen, NULL);
    if (rc != AUTHDB_OK || alen != olen || memcmp(again, out, olen) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    authdb_norm n;
    char out[AUTHDB_NAME_BUFSZ];
    size_t olen;
    authdb_rule r;
    const char *in = (const char *)data;

    if (size < 1)
        return 0;
    authdb_norm_defaults(&n);
    n.case_sensitive = data[0] & 1;
    in++;
    size--;
    if (authdb_norm_login(&n, in, size, out, sizeof(out), &olen, NULL) == AUTHDB_OK)
        fixed_point(&n, 0, 0, out, olen);
    for (int strip = 0; strip < 2; strip++)
        if (authdb_norm_address(&n, in, size, strip, out, sizeof(out), &olen, NULL) == AUTHDB_OK)
            fixed_point(&n, 1, strip, out, olen);
    if (authdb_norm_domain(in, size, out, sizeof(out), &olen, NULL) == AUTHDB_OK &&
        (olen > AUTHDB_DOMAIN_MAX || strlen(out) != olen))
        abort();
    authdb_rule_parse(&n, in, size, &r, NULL);
    return 0;
}
