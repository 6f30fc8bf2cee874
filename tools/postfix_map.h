/*
 * postfix_map.h - parser for Postfix text lookup tables (the source of
 * "postmap hash:FILE"), as used for smtpd_sender_login_maps:
 *
 *     # comment
 *     alice@example.com   alice, alice@example.com
 *     @example.org        bob
 *     postmaster          alice,
 *                         bob          (a line starting with white space
 *                                       continues the previous one)
 *
 * A logical line is a key, white space and a value; comment lines and
 * blank lines are skipped, also inside a continued line.  Pure functions
 * over a buffer, fuzzed (tests/fuzz/corpus/postfix_map/); logical lines
 * are bounded by POSTFIX_MAP_LINE_MAX and values by POSTFIX_MAP_VALUES_MAX
 * items.
 */
#ifndef AUTHGATECTL_POSTFIX_MAP_H
#define AUTHGATECTL_POSTFIX_MAP_H

#include <stddef.h>

#define POSTFIX_MAP_LINE_MAX   65536 /* octets of a logical line */
#define POSTFIX_MAP_VALUES_MAX 1000  /* comma/space separated items of a value */

typedef struct postfix_map_entry {
    unsigned line; /* its first physical line */
    const char *key;
    size_t keylen;
    const char *value; /* trimmed; items separated by commas and/or white space */
    size_t valuelen;
    size_t nvalues; /* items in value (<= POSTFIX_MAP_VALUES_MAX) */
} postfix_map_entry;

typedef void (*postfix_map_entry_fn)(const postfix_map_entry *e, void *arg);
typedef void (*postfix_map_error_fn)(unsigned line, const char *why, void *arg);

/* Parse buf: entry_fn for every entry (pointers valid during the call only),
 * error_fn for every refused logical line.  Returns 0, or -1 when out of
 * memory (parsing stops). */
int postfix_map_parse(const char *buf, size_t len, postfix_map_entry_fn entry_fn,
                      postfix_map_error_fn error_fn, void *arg);

/* The next item of a value: *p walks from value to value + valuelen.
 * Returns 1 with *item and *itemlen set, 0 at the end. */
int postfix_map_next(const char **p, const char *end, const char **item, size_t *itemlen);

#endif
