/*
 * fuzz_postfix_map.c - libFuzzer target: the Postfix text table parser
 * (postfix_map.c) over arbitrary files.
 *
 * Checks the parser's promises: keys and values within the logical line
 * limit, no white space inside a key, every value item non-empty and the
 * item count as announced.
 */
#include <stdint.h>
#include <string.h>

#include "postfix_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_entry(const postfix_map_entry *e, void *arg)
{
    const char *p = e->value, *end = e->value + e->valuelen, *item;
    size_t len, n = 0;

    (void)arg;
    if (e->keylen == 0 || e->keylen > POSTFIX_MAP_LINE_MAX || e->line == 0)
        __builtin_trap();
    for (size_t i = 0; i < e->keylen; i++)
        if (e->key[i] == ' ' || e->key[i] == '\t' || e->key[i] == '\n')
            __builtin_trap();
    while (postfix_map_next(&p, end, &item, &len)) {
        if (len == 0 || memchr(item, ',', len) != NULL)
            __builtin_trap();
        n++;
    }
    if (n != e->nvalues || n == 0 || n > POSTFIX_MAP_VALUES_MAX)
        __builtin_trap();
}

static void fuzz_error(unsigned line, const char *why, void *arg)
{
    (void)arg;
    if (line == 0 || why == NULL)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    postfix_map_parse((const char *)data, size, fuzz_entry, fuzz_error, NULL);
    return 0;
}
