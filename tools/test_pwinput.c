/*
 * test_pwinput.c - password input from a file descriptor (what
 * --password-stdin uses): line endings, limits, NUL bytes, nothing read
 * past the line, buffers wiped.  The terminal path needs a tty and is
 * exercised by test_authgatectl.sh under script(1) when available.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pwinput.h"

struct fd_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen */
    int want;
    const char *pw;
};

static char long_line[1100];

static const struct fd_case cases[] = {
    {"newline", "s3cret\nrest", 0, PWINPUT_OK, "s3cret"},
    {"crlf", "s3cret\r\n", 0, PWINPUT_OK, "s3cret"},
    {"no newline", "s3cret", 0, PWINPUT_OK, "s3cret"},
    {"spaces kept", " a b \n", 0, PWINPUT_OK, " a b "},
    {"utf-8", "p\xc3\xa4ss\n", 0, PWINPUT_OK, "p\xc3\xa4ss"},
    {"empty line", "\nx\n", 0, PWINPUT_EMPTY, ""},
    {"eof", "", 0, PWINPUT_EMPTY, ""},
    {"lone cr", "\r\n", 0, PWINPUT_EMPTY, ""},
    {"nul", "a\0b\n", 4, PWINPUT_NUL, ""},
    {"too long", long_line, 0, PWINPUT_TOOLONG, ""},
};

static void test_fd(void **state)
{
    (void)state;
    memset(long_line, 'x', 1025);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct fd_case *t = &cases[i];
        size_t len = t->len ? t->len : strlen(t->in);
        pwbuf *b = pwbuf_new(1024);
        int p[2], rc;
        char rest[16];
        ssize_t n;

        assert_non_null(b);
        assert_int_equal(pipe(p), 0);
        assert_int_equal(write(p[1], t->in, len), (ssize_t)len);
        close(p[1]);
        rc = pwinput_read_fd(p[0], b);
        if (rc != t->want)
            fail_msg("%s: got %s, want %s", t->name, pwinput_strerror(rc),
                     pwinput_strerror(t->want));
        if (strcmp(b->pw, t->pw) != 0 || b->len != strlen(t->pw))
            fail_msg("%s: got \"%s\" (%zu), want \"%s\"", t->name, b->pw, b->len, t->pw);
        if (strcmp(t->name, "newline") == 0) {
            n = read(p[0], rest, sizeof(rest));
            if (n != 4 || memcmp(rest, "rest", 4) != 0)
                fail_msg("newline: read past the line (%zd left)", n);
        }
        close(p[0]);
        pwbuf_free(b);
    }
}

static void test_limit_exact(void **state)
{
    pwbuf *b = pwbuf_new(8);
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "12345678\n123456789\n", 19), 19);
    close(p[1]);
    assert_int_equal(pwinput_read_fd(p[0], b), PWINPUT_OK);
    assert_string_equal(b->pw, "12345678");
    assert_int_equal(pwinput_read_fd(p[0], b), PWINPUT_TOOLONG);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->pw[0], '\0');
    close(p[0]);
    pwbuf_free(b);
    pwbuf_free(NULL);
}

static void test_no_tty(void **state)
{
    pwbuf *b = pwbuf_new(64);

    (void)state;
    /* Under meson there is no controlling terminal: a clear refusal. */
    if (access("/dev/tty", R_OK | W_OK) == 0 && isatty(STDIN_FILENO)) {
        pwbuf_free(b);
        skip();
    }
    assert_int_equal(pwinput_read_tty("Password: ", 1, b), PWINPUT_NOTTY);
    pwbuf_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd),
        cmocka_unit_test(test_limit_exact),
        cmocka_unit_test(test_no_tty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
