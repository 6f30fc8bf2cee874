/*
 * probeprop.c - libprobeprop.so, a test-only auxprop plugin "probe" that
 * records how libsasl2 calls auxprop plugins.
 *
 * Interface: sasl_auxprop_plug_init.  Options (from the test's config):
 *   probe_log       file to append one line per call to
 *   probe_password  cleartext answered as *userPassword for every login
 *
 * Each lookup appends "lookup <flags> <user> <mech> <prop>[=set],..." and
 * each store "store <user|-> <ctx|probe> <prop>[=n values],...".  The
 * facts test reads the file to pin down, on this machine, which
 * properties each mechanism requests, for which user string, how often.
 * This is not authgate: it stores nothing and checks nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#define PROBE_EXPORT __attribute__((visibility("default")))

struct probe {
    sasl_auxprop_plug_t plug;
    char name[8];
    char log[1024];
    char password[256];
};

int sasl_auxprop_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                           sasl_auxprop_plug_t **plug, const char *plugname);

static void probe_opt(const sasl_utils_t *u, const char *key, char *buf, size_t bufsz)
{
    const char *v = NULL;
    unsigned len = 0;

    buf[0] = '\0';
    if (u->getopt(u->getopt_context, "probe", key, &v, &len) == SASL_OK && v != NULL)
        snprintf(buf, bufsz, "%s", v);
}

static void probe_props(FILE *f, const struct propval *pr)
{
    const char *sep = "";

    for (; pr != NULL && pr->name != NULL; pr++) {
        unsigned n = 0;
        const char *const *v;

        for (v = pr->values; v != NULL && *v != NULL; v++)
            n++;
        fprintf(f, "%s%s", sep, pr->name);
        if (pr->values != NULL)
            fprintf(f, "=%u", n);
        sep = ",";
    }
    if (*sep == '\0')
        fprintf(f, "-");
}

static int probe_lookup(void *glob, sasl_server_params_t *sparams, unsigned flags, const char *user,
                        unsigned ulen)
{
    struct probe *p = glob;
    const sasl_utils_t *u = sparams->utils;
    const struct propval *pr = u->prop_get(sparams->propctx);
    const char *mech = NULL;
    FILE *f = p->log[0] ? fopen(p->log, "a") : NULL;

    if (u->getprop(u->conn, SASL_MECHNAME, (const void **)&mech) != SASL_OK)
        mech = "-";
    if (f != NULL) {
        fprintf(f, "lookup %s%s %.*s %s ", (flags & SASL_AUXPROP_AUTHZID) ? "authzid" : "authid",
                (flags & SASL_AUXPROP_OVERRIDE) ? "+override" : "", (int)ulen, user, mech);
        probe_props(f, pr);
        fprintf(f, "\n");
        fclose(f);
    }
    for (; pr != NULL && pr->name != NULL; pr++) {
        if (!(flags & SASL_AUXPROP_AUTHZID) && strcmp(pr->name, SASL_AUX_PASSWORD) == 0 &&
            pr->values == NULL && p->password[0] != '\0')
            u->prop_set(sparams->propctx, pr->name, p->password, (int)strlen(p->password));
    }
    return SASL_OK;
}

static int probe_store(void *glob, sasl_server_params_t *sparams, struct propctx *ctx,
                       const char *user, unsigned ulen)
{
    struct probe *p = glob;
    FILE *f = p->log[0] ? fopen(p->log, "a") : NULL;

    if (f != NULL) {
        fprintf(f, "store %.*s %s ", user ? (int)ulen : 1, user ? user : "-",
                ctx ? "ctx" : "probe");
        if (ctx != NULL && sparams != NULL)
            probe_props(f, sparams->utils->prop_get(ctx));
        else
            fprintf(f, "-");
        fprintf(f, "\n");
        fclose(f);
    }
    return SASL_OK;
}

static void probe_free(void *glob, const sasl_utils_t *utils)
{
    (void)utils;
    free(glob);
}

PROBE_EXPORT int sasl_auxprop_plug_init(const sasl_utils_t *utils, int max_version,
                                        int *out_version, sasl_auxprop_plug_t **plug,
                                        const char *plugname)
{
    struct probe *p;
    int r = SASL_OK;

    (void)plugname;
    if (max_version < SASL_AUXPROP_PLUG_VERSION) {
        r = SASL_BADVERS;
        goto out;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        r = SASL_NOMEM;
        goto out;
    }
    probe_opt(utils, "probe_log", p->log, sizeof(p->log));
    probe_opt(utils, "probe_password", p->password, sizeof(p->password));
    memcpy(p->name, "probe", 6);
    p->plug.glob_context = p;
    p->plug.auxprop_free = probe_free;
    p->plug.auxprop_lookup = probe_lookup;
    p->plug.name = p->name;
    p->plug.auxprop_store = probe_store;
    *out_version = SASL_AUXPROP_PLUG_VERSION;
    *plug = &p->plug;
out:
    return r;
}
