/*
 * nullprop.c - libnullprop.so, the benchmark's floor: an auxprop plugin
 * "nullprop" that has no store at all.
 *
 * Interface: sasl_auxprop_plug_init.  Option nullprop_password (from the
 * benchmark's config) is turned once, at init, into the secrets authgate
 * would answer (*cmusaslsecretPLAIN with a fixed salt, the HMAC-MD5 state
 * *cmusaslsecretCRAM-MD5); every lookup, for any login, copies them into
 * the propctx.  What remains is the cost of libsasl2 itself: a plugin
 * cannot be faster than this.  Never install it.
 */
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h> /* brings md5.h and hmac-md5.h */

#define NULLPROP_EXPORT __attribute__((visibility("default")))

struct nullprop {
    sasl_auxprop_plug_t plug;
    char name[16];
    unsigned char plain[33]; /* salt[16] NUL MD5(salt "sasldb" password) */
    HMAC_MD5_STATE cram;     /* 32 octets */
};

int sasl_auxprop_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                           sasl_auxprop_plug_t **plug, const char *plugname);

static int nullprop_lookup(void *glob, sasl_server_params_t *sparams, unsigned flags,
                           const char *user, unsigned ulen)
{
    const struct nullprop *n = glob;
    const sasl_utils_t *u = sparams->utils;
    const struct propval *pr = u->prop_get(sparams->propctx);

    (void)user;
    (void)ulen;
    if (flags & SASL_AUXPROP_AUTHZID)
        return SASL_OK;
    for (; pr != NULL && pr->name != NULL; pr++) {
        if (pr->values != NULL)
            continue;
        if (strcmp(pr->name, "*cmusaslsecretPLAIN") == 0)
            u->prop_set(sparams->propctx, pr->name, (const char *)n->plain, sizeof(n->plain));
        else if (strcmp(pr->name, "*cmusaslsecretCRAM-MD5") == 0)
            u->prop_set(sparams->propctx, pr->name, (const char *)&n->cram, sizeof(n->cram));
    }
    return SASL_OK;
}

static void nullprop_free(void *glob, const sasl_utils_t *utils)
{
    (void)utils;
    free(glob);
}

NULLPROP_EXPORT int sasl_auxprop_plug_init(const sasl_utils_t *utils, int max_version,
                                           int *out_version, sasl_auxprop_plug_t **plug,
                                           const char *plugname)
{
    static const unsigned char salt[16] = "nullprop-salt-16";
    struct nullprop *n;
    const char *pw = NULL;
    unsigned len = 0;
    MD5_CTX md5;
    int r = SASL_OK;

    (void)plugname;
    if (max_version < SASL_AUXPROP_PLUG_VERSION) {
        r = SASL_BADVERS;
        goto out;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL) {
        r = SASL_NOMEM;
        goto out;
    }
    if (utils->getopt(utils->getopt_context, "nullprop", "nullprop_password", &pw, &len) !=
            SASL_OK ||
        pw == NULL)
        pw = "";
    len = (unsigned)strlen(pw);
    memcpy(n->plain, salt, 16);
    n->plain[16] = '\0';
    utils->MD5Init(&md5);
    utils->MD5Update(&md5, salt, 16);
    utils->MD5Update(&md5, (const unsigned char *)"sasldb", 6);
    utils->MD5Update(&md5, (const unsigned char *)pw, len);
    utils->MD5Final(n->plain + 17, &md5);
    utils->hmac_md5_precalc(&n->cram, (const unsigned char *)pw, (int)len);
    memcpy(n->name, "nullprop", 9);
    n->plug.glob_context = n;
    n->plug.auxprop_free = nullprop_free;
    n->plug.auxprop_lookup = nullprop_lookup;
    n->plug.name = n->name;
    *out_version = SASL_AUXPROP_PLUG_VERSION;
    *plug = &n->plug;
out:
    return r;
}
