/*
 * test_dovecot_pwfile.c - table-driven tests of the Dovecot passwd-file
 * parser: line splitting, schemes, encodings, extra fields, refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "authdb.h"
#include "dovecot_pwfile.h"

struct line_case {
    const char *line;
    int want;           /* parse_line result */
    const char *user;   /* when want == 1 */
    const char *scheme; /* NULL: none */
    const char *pass;
    unsigned flags;
};

static const struct line_case line_cases[] = {
    {"alice:{SHA512-CRYPT}$6$s$h:1000:1000::/home/a::", 1, "alice", "SHA512-CRYPT", "$6$s$h", 0},
    {"bob@example.com:{BLF-CRYPT}$2y$05$x", 1, "bob@example.com", "BLF-CRYPT", "$2y$05$x", 0},
    {"carol:plainhash", 1, "carol", NULL, "plainhash", 0},
    {"dave:{PLAIN}pw:::::: nologin", 1, "dave", "PLAIN", "pw", DOVECOT_PWFILE_NOLOGIN},
    {"erin:{PLAIN}pw:1:2:g:h:s:userdb_quota=1G nopassword=y", 1, "erin", "PLAIN", "pw",
     DOVECOT_PWFILE_NOPASSWORD},
    {"fay:{PLAIN}pw::::::allow_nets=10.0.0.0/8", 1, "fay", "PLAIN", "pw", DOVECOT_PWFILE_NETS},
    {"gil:{PLAIN}pw::::::x=a:b nologin", 1, "gil", "PLAIN", "pw", DOVECOT_PWFILE_NOLOGIN},
    {"hal:{broken", 1, "hal", NULL, "{broken", 0},
    {"ida:", 1, "ida", NULL, "", 0},
    {"# comment", 0, NULL, NULL, NULL, 0},
    {"   ", 0, NULL, NULL, NULL, 0},
    {"", 0, NULL, NULL, NULL, 0},
    {"nocolon", -1, NULL, NULL, NULL, 0},
    {":{PLAIN}pw", -1, NULL, NULL, NULL, 0},
    {"a b:{PLAIN}pw", -1, NULL, NULL, NULL, 0},
};

static void test_parse_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
        const struct line_case *t = &line_cases[i];
        dovecot_pwfile_entry e;
        const char *why = NULL;
        int r = dovecot_pwfile_parse_line(t->line, strlen(t->line), &e, &why);
        if (r != t->want)
            fail_msg("\"%s\": got %d, want %d", t->line, r, t->want);
        if (r < 0 && why == NULL)
            fail_msg("\"%s\": no reason given", t->line);
        if (r != 1)
            continue;
        if (e.userlen != strlen(t->user) || memcmp(e.user, t->user, e.userlen) != 0)
            fail_msg("\"%s\": user got \"%.*s\", want \"%s\"", t->line, (int)e.userlen, e.user,
                     t->user);
        if ((t->scheme == NULL) != (e.scheme == NULL) ||
            (t->scheme != NULL &&
             (e.schemelen != strlen(t->scheme) || memcmp(e.scheme, t->scheme, e.schemelen) != 0)))
            fail_msg("\"%s\": scheme got \"%.*s\", want \"%s\"", t->line,
                     e.scheme ? (int)e.schemelen : 4, e.scheme ? e.scheme : "NULL",
                     t->scheme ? t->scheme : "NULL");
        if (e.passlen != strlen(t->pass) || memcmp(e.pass, t->pass, e.passlen) != 0)
            fail_msg("\"%s\": password got \"%.*s\", want \"%s\"", t->line, (int)e.passlen, e.pass,
                     t->pass);
        if (e.flags != t->flags)
            fail_msg("\"%s\": flags got %u, want %u", t->line, e.flags, t->flags);
    }
}

struct secret_case {
    const char *line;
    const char *default_scheme;
    int want; /* 0 ok, -1 refused */
    enum dovecot_pwfile_kind kind;
    const char *value;
    const char *scheme;
    int weak;
};

static const struct secret_case secret_cases[] = {
    {"a:{SHA512-CRYPT}$6$s$h", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$6$s$h", "SHA512-CRYPT", 0},
    {"a:{sha512-crypt}$6$s$h", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$6$s$h", "SHA512-CRYPT", 0},
    {"a:{SHA256-CRYPT}$5$s$h", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$5$s$h", "SHA256-CRYPT", 0},
    {"a:{BLF-CRYPT}$2y$05$abc", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$2y$05$abc", "BLF-CRYPT", 0},
    {"a:{BLF-CRYPT}$2b$05$abc", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$2b$05$abc", "BLF-CRYPT", 0},
    {"a:{MD5-CRYPT}$1$s$h", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$1$s$h", "MD5-CRYPT", 1},
    {"a:{MD5}$1$s$h", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$1$s$h", "MD5", 1},
    {"a:{CRYPT}$y$j9T$s$h", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$y$j9T$s$h", "CRYPT", 0},
    {"a:{CRYPT}$1$s$h", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$1$s$h", "CRYPT", 1},
    {"a:$6$s$h", "CRYPT", 0, DOVECOT_PWFILE_HASH, "$6$s$h", "CRYPT", 0},
    {"a:secret", "PLAIN", 0, DOVECOT_PWFILE_CLEARTEXT, "secret", "PLAIN", 0},
    {"a:{PLAIN}se{cr}et", "CRYPT", 0, DOVECOT_PWFILE_CLEARTEXT, "se{cr}et", "PLAIN", 0},
    {"a:{CLEARTEXT}x", "CRYPT", 0, DOVECOT_PWFILE_CLEARTEXT, "x", "CLEARTEXT", 0},
    {"a:{CLEAR}x", "CRYPT", 0, DOVECOT_PWFILE_CLEARTEXT, "x", "CLEAR", 0},
    {"a:{PLAIN.B64}c2U6Y3JldA==", "CRYPT", 0, DOVECOT_PWFILE_CLEARTEXT, "se:cret", "PLAIN", 0},
    {"a:{PLAIN.BASE64}c2VjcmV0", "CRYPT", 0, DOVECOT_PWFILE_CLEARTEXT, "secret", "PLAIN", 0},
    {"a:{PLAIN.HEX}73653a6372", "CRYPT", 0, DOVECOT_PWFILE_CLEARTEXT, "se:cr", "PLAIN", 0},
    {"a:{PLAIN.HEX}7", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{PLAIN.HEX}00", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{PLAIN.B64}!!!!", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{PLAIN.B64}====", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{PLAIN.ROT13}x", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{SHA512-CRYPT.HEX}00", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{SHA512-CRYPT}$5$s$h", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{CRYPT}abJnggxhB/yWI", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{SSHA512}abc", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{CRAM-MD5}abc", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{SCRAM-SHA-256}4096,abc", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{ARGON2ID}$argon2id$v=19", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:{PLAIN}", "CRYPT", -1, 0, NULL, NULL, 0},
    {"a:", "PLAIN", -1, 0, NULL, NULL, 0},
};

static void test_secret(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(secret_cases) / sizeof(secret_cases[0]); i++) {
        const struct secret_case *t = &secret_cases[i];
        dovecot_pwfile_entry e;
        dovecot_pwfile_secret s;
        const char *why = NULL;
        int r;

        assert_int_equal(dovecot_pwfile_parse_line(t->line, strlen(t->line), &e, &why), 1);
        r = dovecot_pwfile_secret_get(&e, t->default_scheme, &s, &why);
        if (r != t->want)
            fail_msg("\"%s\": got %d (%s), want %d", t->line, r, r ? why : "ok", t->want);
        if (r != 0) {
            if (why == NULL)
                fail_msg("\"%s\": refused without a reason", t->line);
            continue;
        }
        if (s.kind != t->kind || s.len != strlen(t->value) || strcmp(s.value, t->value) != 0 ||
            strcmp(s.scheme, t->scheme) != 0 || s.weak != t->weak)
            fail_msg("\"%s\": got kind %d value \"%s\" scheme %s weak %d, want %d \"%s\" %s %d",
                     t->line, s.kind, s.value, s.scheme, s.weak, t->kind, t->value, t->scheme,
                     t->weak);
        dovecot_pwfile_secret_clear(&s);
        assert_null(s.value);
    }
}

static void test_long_password(void **state)
{
    char line[2 * AUTHDB_PASSWORD_MAX + 64];
    dovecot_pwfile_entry e;
    dovecot_pwfile_secret s;
    const char *why = NULL;

    (void)state;
    memcpy(line, "a:{PLAIN}", 9);
    memset(line + 9, 'x', AUTHDB_PASSWORD_MAX);
    line[9 + AUTHDB_PASSWORD_MAX] = '\0';
    assert_int_equal(dovecot_pwfile_parse_line(line, strlen(line), &e, &why), 1);
    assert_int_equal(dovecot_pwfile_secret_get(&e, "CRYPT", &s, &why), 0);
    assert_int_equal(s.len, AUTHDB_PASSWORD_MAX);
    dovecot_pwfile_secret_clear(&s);
    line[9 + AUTHDB_PASSWORD_MAX] = 'x';
    line[9 + AUTHDB_PASSWORD_MAX + 1] = '\0';
    assert_int_equal(dovecot_pwfile_parse_line(line, strlen(line), &e, &why), 1);
    assert_int_equal(dovecot_pwfile_secret_get(&e, "CRYPT", &s, &why), -1);
}

struct collect {
    char log[1024];
};

static void collect_entry(const dovecot_pwfile_entry *e, void *arg)
{
    struct collect *c = arg;
    size_t n = strlen(c->log);
    snprintf(c->log + n, sizeof(c->log) - n, "E%u:%.*s ", e->line, (int)e->userlen, e->user);
}

static void collect_error(unsigned line, const char *why, void *arg)
{
    struct collect *c = arg;
    size_t n = strlen(c->log);
    (void)why;
    snprintf(c->log + n, sizeof(c->log) - n, "X%u ", line);
}

static void test_parse_file(void **state)
{
    static char big[DOVECOT_PWFILE_LINE_MAX + 100];
    struct collect c;
    const char file[] = "# users\r\n"
                        "alice:{PLAIN}a\r\n"
                        "\n"
                        "bad\n"
                        "bob:{PLAIN}b\0x\n"
                        "carol:{PLAIN}c"; /* no final newline */
    const char *want = "E2:alice X4 X5 E6:carol ";

    (void)state;
    memset(&c, 0, sizeof(c));
    dovecot_pwfile_parse(file, sizeof(file) - 1, collect_entry, collect_error, &c);
    if (strcmp(c.log, want) != 0)
        fail_msg("got \"%s\", want \"%s\"", c.log, want);

    memset(&c, 0, sizeof(c));
    memset(big, 'a', sizeof(big));
    memcpy(big + sizeof(big) - 12, "\nzed:{PLAIN}", 12);
    dovecot_pwfile_parse(big, sizeof(big), collect_entry, collect_error, &c);
    /* line 1 too long, line 2 "zed:{PLAIN}" is an entry (empty password is refused later). */
    if (strcmp(c.log, "X1 E2:zed ") != 0)
        fail_msg("got \"%s\", want \"X1 E2:zed \"", c.log);
}

static void test_scheme_known(void **state)
{
    (void)state;
    assert_true(dovecot_pwfile_scheme_known("CRYPT"));
    assert_true(dovecot_pwfile_scheme_known("plain.b64"));
    assert_true(dovecot_pwfile_scheme_known("BLF-CRYPT"));
    assert_false(dovecot_pwfile_scheme_known("SSHA"));
    assert_false(dovecot_pwfile_scheme_known("BLF-CRYPT.HEX"));
    assert_false(dovecot_pwfile_scheme_known(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_line),    cmocka_unit_test(test_secret),
        cmocka_unit_test(test_long_password), cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_scheme_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
