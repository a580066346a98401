/* `stack login` and `stack logout`: docker's config.json, verified against the registry first. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/image/reference.h"
#include "core/image/registry-auth.h"
#include "core/image/registry.h"

/* "localhost:5000", "https://index.docker.io/v1/", none -> the registry's domain. */
static char *registry_domain(const char *arg)
{
        if (!arg)
                return xstrdup(REFERENCE_DEFAULT_DOMAIN);
        const char *s = startswith(arg, "https://");
        if (!s)
                s = startswith(arg, "http://");
        if (!s)
                s = arg;
        char *d = xstrndup(s, strcspn(s, "/"));
        if (streq(d, "index.docker.io") || streq(d, "registry-1.docker.io")) {
                free(d);
                d = xstrdup(REFERENCE_DEFAULT_DOMAIN);
        }
        return d;
}

static char *read_password_stdin(void)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0)
                return NULL;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = 0;
        return TAKE_PTR(line);
}

int cmd_login(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_PASSWORD_STDIN = 0x100 };
        static const struct option options[] = {
            {"username", required_argument, NULL, 'u'},
            {"password", required_argument, NULL, 'p'},
            {"password-stdin", no_argument, NULL, ARG_PASSWORD_STDIN},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        _cleanup_free_ char *user = NULL, *password = NULL;
        bool from_stdin = false;
        int c;
        while ((c = getopt_long(argc, argv, "u:p:h", options, NULL)) >= 0) {
                switch (c) {
                case 'u':
                        free(user);
                        user = xstrdup(optarg);
                        break;
                case 'p':
                        free(password);
                        password = xstrdup(optarg);
                        /* Keep it out of `ps` as soon as we have a copy. */
                        explicit_bzero(optarg, strlen(optarg));
                        fputs("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n",
                              stderr);
                        break;
                case ARG_PASSWORD_STDIN:
                        from_stdin = true;
                        break;
                case 'h':
                        puts("Usage: stack login [-u USER] [-p PASSWORD | --password-stdin] [REGISTRY]\n\n"
                             "Check credentials against a registry and store them in docker's config.json.");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("login", "invalid option");
                }
        }
        if (optind + 1 < argc)
                return cmd_usage_error("login", "expected at most one REGISTRY");
        if (from_stdin && password)
                return cmd_usage_error("login", "--password and --password-stdin are mutually exclusive");
        if (from_stdin && !user)
                return cmd_usage_error("login", "--password-stdin needs --username");
        if (from_stdin) {
                password = read_password_stdin();
                if (!password)
                        return cmd_usage_error("login", "no password on standard input");
        }
        if (!user || !password)
                return cmd_usage_error("login",
                                       "give --username and --password-stdin (no interactive prompt)");
        _cleanup_free_ char *domain = registry_domain(optind < argc ? argv[optind] : NULL);
        _cleanup_registry_client_ struct registry_client *rc = registry_client_new(NULL);
        _cleanup_error_ struct stack_error err = {0};
        int r = registry_login_check(rc, domain, user, password, &err);
        if (r >= 0)
                r = registry_auth_store(domain, user, password, &err);
        explicit_bzero(password, strlen(password));
        if (r < 0)
                return cmd_fail(&err);
        puts("Login Succeeded");
        return EXIT_OK;
}

int cmd_logout(struct cmd_global *g, int argc, char **argv)
{
        if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                puts("Usage: stack logout [REGISTRY]\n\nRemove a registry's credentials from docker's "
                     "config.json.");
                return EXIT_OK;
        }
        if (argc > 2)
                return cmd_usage_error("logout", "expected at most one REGISTRY");
        _cleanup_free_ char *domain = registry_domain(argc == 2 ? argv[1] : NULL);
        _cleanup_error_ struct stack_error err = {0};
        if (registry_auth_erase(domain, &err) < 0)
                return cmd_fail(&err);
        printf("Removing login credentials for %s\n", domain);
        return EXIT_OK;
}
