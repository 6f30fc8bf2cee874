/*
 * fuzz_record.c - libFuzzer target: the secrets record decoder, the only
 * parser of bytes read back from the store.  A decoded record must
 * re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authdb_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    authdb_secrets *s;
    unsigned char *back;
    size_t blen;
    authdb_user u;

    if (secret_decode(data, size, &s) != AUTHDB_OK)
        return 0;
    if (secret_header(data, size, &u) != AUTHDB_OK)
        abort();
    if (secret_encode(s, data[1], data[2], u.created, u.changed, &back, &blen) != AUTHDB_OK)
        abort();
    /* canonical order may differ from the input; a second round must not */
    authdb_secrets *s2;
    unsigned char *again;
    size_t alen;
    if (secret_decode(back, blen, &s2) != AUTHDB_OK)
        abort();
    if (secret_encode(s2, data[1], data[2], u.created, u.changed, &again, &alen) != AUTHDB_OK ||
        alen != blen || memcmp(again, back, blen) != 0)
        abort();
    free(again);
    free(back);
    authdb_secrets_free(s2);
    authdb_secrets_free(s);
    return 0;
}
