/*
 * fuzz_dovecot_pwfile.c - libFuzzer target: the Dovecot passwd-file parser
 * and scheme decoding (dovecot_pwfile.c) over arbitrary files.
 *
 * Every entry is also resolved with dovecot_pwfile_secret_get(), so the
 * base64/hex decoders and the length limits see fuzzed input too.  The
 * first byte of the input picks the default scheme.
 */
#include <stdint.h>
#include <string.h>

#include "dovecot_pwfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_schemes[] = {"CRYPT", "PLAIN", "PLAIN.B64", "SHA512-CRYPT"};

static void fuzz_entry(const dovecot_pwfile_entry *e, void *arg)
{
    const char *scheme = arg, *why = NULL;
    dovecot_pwfile_secret s;

    if (e->userlen == 0 || e->line == 0)
        __builtin_trap();
    if (dovecot_pwfile_secret_get(e, scheme, &s, &why) == 0) {
        if (s.value == NULL || s.len == 0 || s.value[s.len] != '\0' || strlen(s.value) != s.len)
            __builtin_trap();
        dovecot_pwfile_secret_clear(&s);
    } else if (why == NULL) {
        __builtin_trap();
    }
}

static void fuzz_error(unsigned line, const char *why, void *arg)
{
    (void)arg;
    if (line == 0 || why == NULL)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *scheme = fuzz_schemes[size > 0 ? data[0] % 4 : 0];

    dovecot_pwfile_parse((const char *)data, size, fuzz_entry, fuzz_error, (void *)scheme);
    return 0;
}
