/*
 * json.h - a small streaming JSON writer for authgatectl's --json output.
 *
 * The writer tracks nesting and commas; callers emit keys and values in
 * order.  Strings are escaped per RFC 8259; invalid UTF-8 becomes U+FFFD so
 * the document is always valid.  Nesting deeper than JSON_DEPTH_MAX is a
 * programming error and is ignored (the writer stays well-formed by
 * emitting null).  Errors of the underlying FILE are reported by
 * json_finish().
 */
#ifndef AUTHGATECTL_JSON_H
#define AUTHGATECTL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

typedef struct json {
    FILE *f;
    unsigned depth;     /* open containers, at most JSON_DEPTH_MAX */
    unsigned overflow;  /* containers opened past the limit (ignored) */
    int after_key;      /* a key was written, its value is next */
    uint32_t nonempty;  /* bit d: the container at depth d has an element */
    uint32_t is_object; /* bit d: the container at depth d is an object */
} json;

void json_init(json *j, FILE *f);
void json_object_begin(json *j);
void json_object_end(json *j);
void json_array_begin(json *j);
void json_array_end(json *j);
/* Close open containers until depth remain (after an error in the middle of
 * output); json_close_to(j, 0) closes everything. */
void json_close_to(json *j, unsigned depth);
void json_key(json *j, const char *key);
void json_string(json *j, const char *s);
void json_string_n(json *j, const char *s, size_t len);
void json_int(json *j, int64_t v);
void json_uint(json *j, uint64_t v);
void json_bool(json *j, int v);
void json_null(json *j);

/* key + value shorthands. */
void json_kv_string(json *j, const char *key, const char *s);
void json_kv_int(json *j, const char *key, int64_t v);
void json_kv_uint(json *j, const char *key, uint64_t v);
void json_kv_bool(json *j, const char *key, int v);

/* Write the final newline and flush: 0, or -1 if the stream failed. */
int json_finish(json *j);

#endif
