/*
 * privs.c - run-as decisions, user/group lookup, dropping root, no cores
 * (privs.h).
 *
 * The daemon starts as root to bind its socket and write its pid file,
 * then becomes authd_user for good (setresgid/setresuid: no saved root
 * id).  Running as root is allowed only when authd_user is literally
 * "root"; a daemon started by an ordinary user runs as that user.
 *
 * Diagnostics: errno values plus one sentence in why.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "privs.h"

#define LOOKUP_BUFSZ 16384

enum privs_plan privs_plan(uid_t euid, const char *authd_user)
{
    enum privs_plan p;

    if (euid != 0)
        p = PRIVS_KEEP_SELF;
    else if (authd_user == NULL || authd_user[0] == '\0')
        p = PRIVS_REFUSE;
    else if (strcmp(authd_user, "root") == 0)
        p = PRIVS_KEEP_ROOT;
    else
        p = PRIVS_DROP;
    return p;
}

/* A name made only of digits is a numeric id. */
static int numeric_id(const char *s, unsigned long *out)
{
    char *end;

    if (s[0] < '0' || s[0] > '9')
        return 0;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && *out < 0xffffffffUL;
}

int privs_user_lookup(const char *name, privs_user *out, char *why, size_t whylen)
{
    struct passwd pw, *res = NULL;
    char *buf = NULL;
    unsigned long id;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((buf = malloc(LOOKUP_BUFSZ)) == NULL) {
        rc = ENOMEM;
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (numeric_id(name, &id))
        rc = getpwuid_r((uid_t)id, &pw, buf, LOOKUP_BUFSZ, &res);
    else
        rc = getpwnam_r(name, &pw, buf, LOOKUP_BUFSZ, &res);
    if (rc == 0 && res == NULL)
        rc = ENOENT;
    if (rc != 0) {
        snprintf(why, whylen, "user %s: %s", name, rc == ENOENT ? "no such user" : strerror(rc));
        goto out;
    }
    if (strlen(pw.pw_name) >= sizeof(out->name)) {
        rc = ENAMETOOLONG;
        snprintf(why, whylen, "user %s: name too long", name);
        goto out;
    }
    memcpy(out->name, pw.pw_name, strlen(pw.pw_name) + 1);
    out->uid = pw.pw_uid;
    out->gid = pw.pw_gid;
out:
    free(buf);
    return rc;
}

int privs_group_lookup(const char *name, gid_t *out, char *why, size_t whylen)
{
    struct group gr, *res = NULL;
    char *buf = NULL;
    unsigned long id;
    int rc;

    if ((buf = malloc(LOOKUP_BUFSZ)) == NULL) {
        rc = ENOMEM;
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (numeric_id(name, &id))
        rc = getgrgid_r((gid_t)id, &gr, buf, LOOKUP_BUFSZ, &res);
    else
        rc = getgrnam_r(name, &gr, buf, LOOKUP_BUFSZ, &res);
    if (rc == 0 && res == NULL)
        rc = ENOENT;
    if (rc != 0) {
        snprintf(why, whylen, "group %s: %s", name, rc == ENOENT ? "no such group" : strerror(rc));
        goto out;
    }
    *out = gr.gr_gid;
out:
    free(buf);
    return rc;
}

int privs_drop(const privs_user *u, char *why, size_t whylen)
{
    int rc = 0;

    if (u->uid == 0) {
        rc = EINVAL;
        snprintf(why, whylen, "refusing to drop privileges to uid 0 (%s)", u->name);
        goto out;
    }
    if (initgroups(u->name, u->gid) != 0) {
        rc = errno;
        snprintf(why, whylen, "initgroups(%s): %s", u->name, strerror(rc));
        goto out;
    }
    if (setresgid(u->gid, u->gid, u->gid) != 0) {
        rc = errno;
        snprintf(why, whylen, "setresgid(%u): %s", (unsigned)u->gid, strerror(rc));
        goto out;
    }
    if (setresuid(u->uid, u->uid, u->uid) != 0) {
        rc = errno;
        snprintf(why, whylen, "setresuid(%u): %s", (unsigned)u->uid, strerror(rc));
        goto out;
    }
    if (setuid(0) == 0 || seteuid(0) == 0) {
        rc = EPERM;
        snprintf(why, whylen, "could regain root after dropping to %s: refusing to run", u->name);
        goto out;
    }
out:
    return rc;
}

int privs_no_core(char *why, size_t whylen)
{
    struct rlimit rl = {0, 0};
    int rc = 0;

    if (setrlimit(RLIMIT_CORE, &rl) != 0) {
        rc = errno;
        snprintf(why, whylen, "setrlimit(RLIMIT_CORE, 0): %s", strerror(rc));
        goto out;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        rc = errno;
        snprintf(why, whylen, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(rc));
        goto out;
    }
out:
    return rc;
}
