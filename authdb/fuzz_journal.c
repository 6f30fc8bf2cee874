/*
 * fuzz_journal.c - libFuzzer target: the decoder of the roll-forward
 * journal (journal.c), read back from secrets/ meta.  It must never crash,
 * and it is strict: when it accepts a journal, it rejects that journal
 * with a byte more or a byte less.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authdb_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[AUTHDB_WHY_MAX];
    uint64_t seq;
    unsigned char *more;

    if (journal_check(data, size, &seq, why, sizeof(why)) != AUTHDB_OK)
        return 0;
    if (journal_check(data, size - 1, &seq, why, sizeof(why)) != AUTHDB_ECORRUPT)
        abort();
    if ((more = malloc(size + 1)) == NULL)
        return 0;
    memcpy(more, data, size);
    more[size] = 0;
    if (journal_check(more, size + 1, &seq, why, sizeof(why)) != AUTHDB_ECORRUPT)
        abort();
    free(more);
    return 0;
}
