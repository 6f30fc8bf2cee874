/*
 * authgatectl.c - main: the only writer of the authgate store.
 *
 * Parses the global options, finds the subcommand in the modules' command
 * tables (one or two words: "stats", "user add"), parses its arguments,
 * loads authgate.conf and runs it.  Everything else lives in the modules:
 * settings.c (init, settings), user.c (user, verify), sender.c, domain.c,
 * import*.c, export.c, maint.c (backup, check, stats).
 *
 * Diagnostics: usage errors exit 2 with a hint; with --json, one JSON object
 * is printed on standard output whatever happens ("ok", "exit", "error").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "authdb_pg.h"
#include "cli.h"

static const cli_cmd *const main_tables[] = {
    settings_cmds,       user_cmds,        sender_cmds, domain_cmds, import_sasldb_cmds,
    import_dovecot_cmds, import_maps_cmds, export_cmds, maint_cmds,  sync_cmds,
};
#define MAIN_NTABLES (sizeof(main_tables) / sizeof(main_tables[0]))

/* Words in a command name that match argv: 0 none, 1 or 2. */
static int main_match(const char *name, int argc, char **argv)
{
    const char *sp = strchr(name, ' ');
    size_t first = sp != NULL ? (size_t)(sp - name) : strlen(name);

    if (argc < 1 || strlen(argv[0]) != first || memcmp(argv[0], name, first) != 0)
        return 0;
    if (sp == NULL)
        return 1;
    if (argc < 2 || strcmp(argv[1], sp + 1) != 0)
        return 0;
    return 2;
}

static const cli_cmd *main_find(int argc, char **argv, int *words)
{
    for (size_t t = 0; t < MAIN_NTABLES; t++)
        for (const cli_cmd *c = main_tables[t]; c->name != NULL; c++)
            if ((*words = main_match(c->name, argc, argv)) > 0)
                return c;
    return NULL;
}

/* List the commands whose first word is group (all when NULL). */
static int main_list(FILE *f, const char *group)
{
    int n = 0;

    for (size_t t = 0; t < MAIN_NTABLES; t++)
        for (const cli_cmd *c = main_tables[t]; c->name != NULL; c++) {
            size_t glen = group != NULL ? strlen(group) : 0;
            char left[64];
            if (group != NULL && (strncmp(c->name, group, glen) != 0 || c->name[glen] != ' '))
                continue;
            snprintf(left, sizeof(left), "%s %s", c->name, c->synopsis);
            fprintf(f, "  %-36s %s\n", left, c->summary);
            n++;
        }
    return n;
}

static void main_usage(FILE *f)
{
    fprintf(f, "usage: authgatectl [global options] COMMAND [arguments] [options]\n\n"
               "Manage the authgate credential and send-as store.\n\n"
               "commands:\n");
    main_list(f, NULL);
    fprintf(f, "\n\"authgatectl COMMAND --help\" describes one command.\n\n");
    cli_print_globals(f);
    fputc('\n', f);
    cli_print_exits(f);
}

/* Load the configuration: --config, else $AUTHGATE_CONFIG, else the default
 * path (whose absence means defaults). */
static int main_config(cli *c, const char *path)
{
    char why[512];
    int missing_ok = 0, rc;

    if (path == NULL)
        path = getenv(AUTHDB_CONF_ENV);
    if (path == NULL || path[0] == '\0') {
        path = AUTHDB_CONF_DEFAULT;
        missing_ok = 1;
    }
    rc = authdb_conf_load(path, missing_ok, &c->conf, why, sizeof(why));
    if (rc != AUTHDB_OK)
        return cli_fail(c,
                        rc == ENOENT             ? CLI_NOTFOUND
                        : authdb_is_tempfail(rc) ? cli_exit_code(rc)
                                                 : CLI_DATAERR,
                        "%s", why);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    const struct rlimit nocore = {0, 0};
    cli_globals g;
    cli_args a;
    cli c;
    const cli_cmd *cmd = NULL;
    char why[512];
    int i = 1, words = 0, rc = CLI_OK;

    /* Passwords pass through this process: never into a core dump. */
    setrlimit(RLIMIT_CORE, &nocore);
    /* --store postgresql://... opens the central store. */
    authdb_pg_register();
    memset(&g, 0, sizeof(g));
    memset(&c, 0, sizeof(c));
    c.out = stdout;
    c.err = stderr;
    while (i < argc) {
        int r = cli_parse_global(argc, argv, &i, &g, why, sizeof(why));
        if (r < 0) {
            rc = cli_fail(&c, CLI_USAGE, "%s", why);
            goto out;
        }
        if (r == 0)
            break;
        i++;
    }
    if (g.version && i >= argc) {
        printf("authgatectl %s\n", AUTHGATE_VERSION);
        goto out;
    }
    if (i >= argc || strcmp(argv[i], "help") == 0) {
        int help_words = 0;
        if (g.help || i < argc)
            g.json = 0; /* help was asked for: text */
        if (i < argc && i + 1 < argc &&
            (cmd = main_find(argc - i - 1, argv + i + 1, &help_words)) != NULL) {
            cli_print_help(stdout, cmd);
        } else if (i < argc && i + 1 < argc && main_list(stdout, argv[i + 1]) > 0) {
            ;
        } else {
            main_usage(g.help || i < argc ? stdout : stderr);
            if (!g.help && i >= argc)
                rc = cli_fail(&c, CLI_USAGE, "no command given");
        }
        goto out;
    }
    if ((cmd = main_find(argc - i, argv + i, &words)) == NULL) {
        for (int k = i + 1; k < argc; k++)
            if (strcmp(argv[k], "--help") == 0)
                g.help = 1;
        if (g.help)
            g.json = 0;
        if (main_list(g.help ? stdout : stderr, argv[i]) > 0) {
            if (!g.help)
                rc = cli_fail(&c, CLI_USAGE, "\"%s\" needs a subcommand (see above)", argv[i]);
        } else {
            rc =
                cli_fail(&c, CLI_USAGE, "unknown command \"%s\" (try authgatectl --help)", argv[i]);
        }
        goto out;
    }
    i += words;
    if ((rc = cli_parse(cmd, argc - i, argv + i, &a, &g, why, sizeof(why))) != 0) {
        cli_fail(&c, rc, "%s", why);
        fprintf(stderr, "try: authgatectl %s --help\n", cmd->name);
        goto out;
    }
    if (g.help) {
        g.json = 0;
        cli_print_help(stdout, cmd);
        goto out;
    }
    if (g.json) {
        c.json = 1;
        json_init(&c.j, stdout);
        json_object_begin(&c.j);
    }
    c.store_override = g.store;
    c.force = g.force;
    if ((rc = main_config(&c, g.config)) != CLI_OK)
        goto out;
    rc = cmd->run(&c, &a);
out:
    if (g.json) {
        if (!c.json) {
            json_init(&c.j, stdout);
            json_object_begin(&c.j);
        }
        json_close_to(&c.j, 1);
        json_kv_bool(&c.j, "ok", rc == CLI_OK);
        json_kv_int(&c.j, "exit", rc);
        if (rc != CLI_OK && c.error[0] != '\0')
            json_kv_string(&c.j, "error", c.error);
        if (json_finish(&c.j) != 0 && rc == CLI_OK)
            rc = CLI_STORE;
    } else if (fflush(stdout) != 0 && rc == CLI_OK) {
        rc = cli_fail(&c, CLI_STORE, "cannot write the output");
    }
    authdb_conf_free(c.conf);
    return rc;
}
