/*
 * test_json.c - the JSON writer: nesting, commas, escaping, invalid UTF-8,
 * recovery after an interrupted document.  Output is checked byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

struct buf {
    char *data;
    size_t len;
    FILE *f;
};

static json *open_json(struct buf *b, json *j)
{
    b->data = NULL;
    b->len = 0;
    b->f = open_memstream(&b->data, &b->len);
    assert_non_null(b->f);
    json_init(j, b->f);
    return j;
}

static void expect(struct buf *b, json *j, const char *want)
{
    assert_int_equal(json_finish(j), 0);
    fclose(b->f);
    if (strcmp(b->data, want) != 0)
        fail_msg("got  %s\nwant %s", b->data, want);
    free(b->data);
}

static void test_nesting(void **state)
{
    struct buf b;
    json j;

    (void)state;
    open_json(&b, &j);
    json_object_begin(&j);
    json_kv_string(&j, "a", "x");
    json_key(&j, "list");
    json_array_begin(&j);
    json_int(&j, -1);
    json_uint(&j, 18446744073709551615ull);
    json_bool(&j, 1);
    json_null(&j);
    json_object_begin(&j);
    json_object_end(&j);
    json_array_begin(&j);
    json_array_end(&j);
    json_array_end(&j);
    json_kv_bool(&j, "ok", 0);
    json_object_end(&j);
    expect(&b, &j,
           "{\"a\":\"x\",\"list\":[-1,18446744073709551615,true,null,{},[]],\"ok\":false}\n");
}

static void test_escaping(void **state)
{
    struct buf b;
    json j;
    const char weird[] = "q\"b\\n\n t\t c\x01 del\x7f é \xff \xc3 \xed\xa0\x80 \xf0\x9f\x98\x80";

    (void)state;
    open_json(&b, &j);
    json_array_begin(&j);
    json_string(&j, weird);
    json_string_n(&j, "a\0b", 3);
    json_string(&j, NULL);
    json_array_end(&j);
    expect(&b, &j,
           "[\"q\\\"b\\\\n\\n t\\t c\\u0001 del\\u007f é \\ufffd \\ufffd \\ufffd\\ufffd\\ufffd "
           "\xf0\x9f\x98\x80\",\"a\\u0000b\",null]\n");
}

static void test_close_to(void **state)
{
    struct buf b;
    json j;

    (void)state;
    open_json(&b, &j);
    json_object_begin(&j);
    json_key(&j, "users");
    json_array_begin(&j);
    json_object_begin(&j);
    json_key(&j, "login"); /* interrupted before the value */
    json_close_to(&j, 1);
    json_kv_bool(&j, "ok", 0);
    expect(&b, &j, "{\"users\":[{\"login\":null}],\"ok\":false}\n");
}

static void test_depth_limit(void **state)
{
    struct buf b;
    json j;
    char want[256];
    size_t n = 0;

    (void)state;
    open_json(&b, &j);
    for (int i = 0; i < JSON_DEPTH_MAX + 3; i++)
        json_array_begin(&j);
    json_int(&j, 7);
    for (int i = 0; i < JSON_DEPTH_MAX + 3; i++)
        json_array_end(&j);
    for (int i = 0; i < JSON_DEPTH_MAX; i++)
        want[n++] = '[';
    memcpy(want + n, "null", 4);
    n += 4;
    for (int i = 0; i < JSON_DEPTH_MAX; i++)
        want[n++] = ']';
    want[n++] = '\n';
    want[n] = '\0';
    expect(&b, &j, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_close_to),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
