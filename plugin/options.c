/*
 * options.c - the plugin's settings, read once per plugin instance.
 *
 * Interface: options_load, options_key_at, options_bool,
 * options_lists_plugin.
 *
 * Options come from the application's SASL configuration (smtpd.conf,
 * Sendmail.conf, exim.conf, saslpasswd.conf) through libsasl's getopt.  The
 * keys are the table below; docs/authgate.7 documents each (a test checks):
 *
 *   authgate_store     store directory (absolute; default /var/lib/authgate)
 *   authgate_writable  yes|no: sasl_setpass and saslpasswd2 may write
 *                      (default no: the store probe fails)
 *
 * The plugin is "active" for an application that sets authgate_store or
 * lists authgate in libsasl's own auxprop_plugin.  Every SASL server on the
 * host loads every plugin in the plugin directory, so an inactive plugin
 * must change nothing for applications that use another auxprop plugin.
 *
 * Diagnostics: never logs; a bad value is described in options.error and
 * makes the plugin fail closed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plugin_private.h"

enum options_type { OPTIONS_PATH = 1, OPTIONS_BOOL };

static const struct options_key {
    const char *key;
    enum options_type type;
    const char *default_value;
} options_table[] = {
    {OPTIONS_KEY_STORE, OPTIONS_PATH, OPTIONS_DEFAULT_STORE},
    {OPTIONS_KEY_WRITABLE, OPTIONS_BOOL, "no"},
};

const char *options_key_at(size_t i)
{
    return i < sizeof(options_table) / sizeof(options_table[0]) ? options_table[i].key : NULL;
}

int options_bool(const char *v)
{
    static const char *const yes[] = {"1", "y", "yes", "t", "true", "on"};
    static const char *const no[] = {"0", "n", "no", "f", "false", "off"};
    int r = -1;
    size_t i;

    if (v == NULL)
        goto out;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0)
            r = 1;
        if (strcasecmp(v, no[i]) == 0)
            r = 0;
    }
out:
    return r;
}

int options_lists_plugin(const char *list)
{
    size_t want = strlen(OPTIONS_NAME);
    const char *p = list;
    int found = 0;

    while (p != NULL && *p != '\0' && !found) {
        size_t n;

        p += strspn(p, " \t");
        n = strcspn(p, " \t");
        if (n == want && strncasecmp(p, OPTIONS_NAME, n) == 0)
            found = 1;
        p += n;
    }
    return found;
}

static void options_error(options *o, const char *key, const char *problem)
{
    if (o->error[0] == '\0')
        snprintf(o->error, sizeof(o->error), "option %s: %s", key, problem);
}

/* Read and check one key of the table into o. */
static void options_read(const struct options_key *k, options_get_fn get, void *arg, options *o)
{
    char value[OPTIONS_PATH_MAX];
    int has = get(arg, k->key, value, sizeof(value));
    int b;

    if (has == 0)
        snprintf(value, sizeof(value), "%s", k->default_value);
    if (has < 0) {
        options_error(o, k->key, "value too long");
        value[0] = '\0';
    }
    switch (k->type) {
    case OPTIONS_PATH:
        if (has >= 0 && value[0] != '/')
            options_error(o, k->key, "must be an absolute directory path");
        snprintf(o->store, sizeof(o->store), "%s", value);
        if (has != 0)
            o->active = 1;
        break;
    case OPTIONS_BOOL:
        b = has < 0 ? -1 : options_bool(value);
        if (has >= 0 && b < 0)
            options_error(o, k->key, "must be yes or no");
        o->writable = b == 1;
        break;
    }
}

void options_load(options_get_fn get, void *arg, options *out)
{
    char plugins[OPTIONS_PATH_MAX];
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < sizeof(options_table) / sizeof(options_table[0]); i++)
        options_read(&options_table[i], get, arg, out);
    if (get(arg, OPTIONS_KEY_PLUGINS, plugins, sizeof(plugins)) == 1 &&
        options_lists_plugin(plugins))
        out->active = 1;
}
