#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/discover.h"
#include "spec/dotenv.h"

extern char **environ;

/* In compose's order of preference; yml before yaml for the legacy names is compose's choice too. */
static const char *const default_files[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
                                            "docker-compose.yaml"};
static const char *const override_files[] = {"compose.override.yml", "compose.override.yaml",
                                             "docker-compose.override.yml", "docker-compose.override.yaml"};

void spec_discovery_done(struct spec_discovery *d)
{
        free(d->cwd);
        strv_free(d->files);
        strv_free(d->names);
        free(d->project_dir);
        strv_free(d->env_files);
        stack_kvlist_free(&d->environment);
        free(d->project_name);
        strv_free(d->profiles);
        *d = (struct spec_discovery){0};
}

char *spec_project_name_normalize(const char *s)
{
        struct strbuf b = {0};
        strbuf_puts(&b, "");
        for (; *s; s++) {
                char c = (char) tolower((unsigned char) *s);
                if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
                        if (b.len == 0 && (c == '_' || c == '-'))
                                continue;
                        strbuf_putc(&b, c);
                }
        }
        return strbuf_take(&b);
}

bool spec_project_name_valid(const char *s)
{
        if (isempty(s))
                return false;
        _cleanup_free_ char *n = spec_project_name_normalize(s);
        return streq(n, s);
}

static int invalid_name(struct stack_error *err, const char *what, const char *name)
{
        return stack_error_set(
            err, EINVAL,
            "%s: invalid project name \"%s\": must consist only of lowercase alphanumeric "
            "characters, hyphens, and underscores as well as start with a letter or number",
            what, name);
}

char *spec_display_path(const char *abs, const char *cwd)
{
        if (streq(abs, "-"))
                return xstrdup("<stdin>");
        if (cwd) {
                const char *rest = startswith(abs, cwd);
                if (streq(cwd, "/") && abs[0] == '/')
                        rest = abs + 1;
                else if (rest && rest[0] == '/')
                        rest++;
                else
                        rest = NULL;
                if (!isempty(rest))
                        return xstrdup(rest);
        }
        return xstrdup(abs);
}

static bool is_regular(const char *p)
{
        struct stat st;
        return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Go's strconv.ParseBool, which compose uses for its switches. */
static int parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
        static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (streq(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (streq(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

static void env_from_environ(char **env, struct stack_kvlist *ret)
{
        STRV_FOREACH (e, env) {
                const char *eq = strchr(*e, '=');
                if (!eq || eq == *e)
                        continue;
                _cleanup_free_ char *key = xstrndup(*e, eq - *e);
                stack_kvlist_set(ret, key, eq + 1);
        }
}

int spec_env_fill_from_files(char *const *files, struct stack_kvlist *env, char ***read,
                             struct stack_error *err)
{
        struct stack_kvlist merged = {0};
        STRV_FOREACH (f, files) {
                struct stack_kvlist vals = {0};
                /* Each file is interpolated against the environment and what earlier files defined. */
                struct stack_kvlist lookup = {0};
                for (size_t i = 0; i < env->n; i++)
                        stack_kvlist_set(&lookup, env->items[i].key, env->items[i].value);
                for (size_t i = 0; i < merged.n; i++)
                        if (!stack_kvlist_get(&lookup, merged.items[i].key))
                                stack_kvlist_set(&lookup, merged.items[i].key, merged.items[i].value);
                int r = dotenv_read_file(*f, READ_PIPE_OK, &lookup, &vals, err);
                stack_kvlist_free(&lookup);
                if (r < 0) {
                        stack_kvlist_free(&vals);
                        stack_kvlist_free(&merged);
                        return r;
                }
                for (size_t i = 0; i < vals.n; i++)
                        stack_kvlist_set(&merged, vals.items[i].key, vals.items[i].value);
                stack_kvlist_free(&vals);
                if (read && !strv_contains(*read, *f))
                        strv_push(read, *f);
        }
        for (size_t i = 0; i < merged.n; i++)
                if (!stack_kvlist_get(env, merged.items[i].key))
                        stack_kvlist_add(env, merged.items[i].key, merged.items[i].value);
        stack_kvlist_free(&merged);
        return 0;
}

/* The .env files for a project directory: --env-file as given (each must exist), else <dir>/.env when it
 * is a file and COMPOSE_DISABLE_ENV_FILE (from the shell) does not say otherwise. */
static int env_files_for(const struct spec_options *o, const char *cwd, const char *dir,
                         const struct stack_kvlist *shell, char ***ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **files = NULL;
        if (o->env_files && o->env_files[0]) {
                STRV_FOREACH (f, o->env_files) {
                        _cleanup_free_ char *abs = path_absolute(cwd, *f);
                        if (!is_regular(abs))
                                return stack_error_errno(err, path_exists(abs) ? EISDIR : ENOENT,
                                                         "env file %s", *f);
                        strv_push(&files, abs);
                }
                *ret = TAKE_PTR(files);
                return 0;
        }
        const struct stack_kv *disable = stack_kvlist_get(shell, "COMPOSE_DISABLE_ENV_FILE");
        if (disable && disable->value && !isempty(disable->value)) {
                bool b;
                if (parse_bool(disable->value, &b) < 0)
                        return stack_error_set(
                            err, EINVAL, "COMPOSE_DISABLE_ENV_FILE: invalid boolean \"%s\"", disable->value);
                if (b) {
                        *ret = NULL;
                        return 0;
                }
        }
        _cleanup_free_ char *dotenv = path_join(dir, ".env");
        if (is_regular(dotenv))
                strv_push(&files, dotenv);
        *ret = TAKE_PTR(files);
        return 0;
}

static const char *env_value(const struct stack_kvlist *env, const char *key)
{
        const struct stack_kv *kv = stack_kvlist_get(env, key);
        return kv && !isempty(kv->value) ? kv->value : NULL;
}

/* The first existing name of `names` in dir; warns when several exist, as compose does. */
static char *find_one(const char *dir, const char *const *names, size_t n, const char *what)
{
        _cleanup_strv_free_ char **found = NULL;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = path_join(dir, names[i]);
                if (is_regular(p))
                        strv_push(&found, p);
        }
        if (!found)
                return NULL;
        if (found[1]) {
                _cleanup_free_ char *all = strv_join(found, ", ");
                log_warning("found multiple %s with supported names: %s; using %s", what, all, found[0]);
        }
        return xstrdup(found[0]);
}

static int discover_files(const char *start, char ***ret, struct stack_error *err)
{
        _cleanup_free_ char *dir = xstrdup(start);
        for (;;) {
                _cleanup_free_ char *main_file =
                    find_one(dir, default_files, ELEMENTSOF(default_files), "config files");
                if (main_file) {
                        char **files = NULL;
                        strv_push(&files, main_file);
                        _cleanup_free_ char *over =
                            find_one(dir, override_files, ELEMENTSOF(override_files), "override files");
                        if (over)
                                strv_push(&files, over);
                        *ret = files;
                        return 0;
                }
                if (streq(dir, "/"))
                        break;
                char *parent = path_dirname(dir);
                free(dir);
                dir = parent;
        }
        return stack_error_set(err, ENOENT,
                               "no configuration file provided: no compose.yaml, compose.yml, "
                               "docker-compose.yml or docker-compose.yaml in %s or its parents",
                               start);
}

static int files_from_list(char *const *list, const char *cwd, char ***ret, struct stack_error *err)
{
        _cleanup_strv_free_ char **files = NULL;
        STRV_FOREACH (f, list) {
                if (isempty(*f))
                        continue;
                if (streq(*f, "-")) {
                        strv_push(&files, "-");
                        continue;
                }
                _cleanup_free_ char *abs = path_absolute(cwd, *f);
                if (!path_exists(abs))
                        return stack_error_errno(err, ENOENT, "compose file %s", *f);
                if (path_is_dir(abs))
                        return stack_error_errno(err, EISDIR, "compose file %s", *f);
                strv_push(&files, abs);
        }
        *ret = TAKE_PTR(files);
        return 0;
}

/* --project-directory, else the directory of the first file that is not stdin, else cwd. */
static char *project_dir_for(const struct spec_options *o, const char *cwd, char *const *files)
{
        if (!isempty(o->project_dir))
                return path_absolute(cwd, o->project_dir);
        STRV_FOREACH (f, files)
                if (!streq(*f, "-"))
                        return path_dirname(*f);
        return xstrdup(cwd);
}

static void split_profiles(const char *s, char ***ret)
{
        _cleanup_strv_free_ char **parts = strv_split(s, ",");
        STRV_FOREACH (p, parts) {
                const char *b = *p;
                while (isspace((unsigned char) *b))
                        b++;
                size_t len = strlen(b);
                while (len > 0 && isspace((unsigned char) b[len - 1]))
                        len--;
                if (len == 0)
                        continue;
                _cleanup_free_ char *t = xstrndup(b, len);
                if (!strv_contains(*ret, t))
                        strv_push(ret, t);
        }
}

int spec_discover(const struct spec_options *o, struct spec_discovery *d, struct stack_error *err)
{
        _cleanup_discovery_ struct spec_discovery r = {0};
        if (o->cwd)
                r.cwd = path_absolute("/", o->cwd);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return stack_error_errno(err, errno, "cannot determine the working directory");
                r.cwd = xstrdup(cwd);
        }

        struct stack_kvlist shell = {0};
        env_from_environ(o->environ ? o->environ : environ, &shell);
        r.environment = shell;

        /* As docker compose: a first .env from the directory known before the files are (it may set
         * COMPOSE_FILE or COMPOSE_PROFILES), a second one from the project directory once it is known. */
        _cleanup_strv_free_ char **given = NULL;
        if (o->files && o->files[0]) {
                int q = files_from_list(o->files, r.cwd, &given, err);
                if (q < 0)
                        return q;
        }
        _cleanup_free_ char *first_dir = project_dir_for(o, r.cwd, given);
        _cleanup_strv_free_ char **env_files = NULL;
        int q = env_files_for(o, r.cwd, first_dir, &r.environment, &env_files, err);
        if (q < 0)
                return q;
        q = spec_env_fill_from_files(env_files, &r.environment, &r.env_files, err);
        if (q < 0)
                return q;

        if (given)
                r.files = TAKE_PTR(given);
        else if (env_value(&r.environment, "COMPOSE_FILE")) {
                const char *sep = env_value(&r.environment, "COMPOSE_PATH_SEPARATOR");
                _cleanup_strv_free_ char **list =
                    strv_split(env_value(&r.environment, "COMPOSE_FILE"), sep ? sep : ":");
                q = files_from_list(list, r.cwd, &r.files, err);
                if (q < 0)
                        return stack_error_prefix(err, "COMPOSE_FILE");
        }
        if (!r.files) {
                _cleanup_free_ char *start =
                    isempty(o->project_dir) ? xstrdup(r.cwd) : path_absolute(r.cwd, o->project_dir);
                q = discover_files(start, &r.files, err);
                if (q < 0)
                        return q;
        }
        r.project_dir = project_dir_for(o, r.cwd, r.files);

        if (!streq(r.project_dir, first_dir) && !(o->env_files && o->env_files[0])) {
                strv_free(env_files);
                env_files = NULL;
                q = env_files_for(o, r.cwd, r.project_dir, &r.environment, &env_files, err);
                if (q < 0)
                        return q;
                q = spec_env_fill_from_files(env_files, &r.environment, &r.env_files, err);
                if (q < 0)
                        return q;
        }

        STRV_FOREACH (f, r.files)
                strv_consume(&r.names, spec_display_path(*f, r.cwd));

        if (o->profiles && o->profiles[0]) {
                STRV_FOREACH (p, o->profiles)
                        split_profiles(*p, &r.profiles);
        } else if (env_value(&r.environment, "COMPOSE_PROFILES"))
                split_profiles(env_value(&r.environment, "COMPOSE_PROFILES"), &r.profiles);

        if (o->project_name) {
                if (!spec_project_name_valid(o->project_name))
                        return invalid_name(err, "-p", o->project_name);
                r.project_name = xstrdup(o->project_name);
        } else if (env_value(&r.environment, "COMPOSE_PROJECT_NAME")) {
                const char *n = env_value(&r.environment, "COMPOSE_PROJECT_NAME");
                if (!spec_project_name_valid(n))
                        return invalid_name(err, "COMPOSE_PROJECT_NAME", n);
                r.project_name = xstrdup(n);
        }

        *d = r;
        r = (struct spec_discovery){0};
        return 0;
}

int spec_discover_name(struct spec_discovery *d, const char *name_from_files, struct node_mark mark,
                       struct stack_error *err)
{
        if (!d->project_name && !isempty(name_from_files)) {
                _cleanup_free_ char *n = spec_project_name_normalize(name_from_files);
                if (isempty(n))
                        return spec_error(err, mark, "name", "invalid project name \"%s\"", name_from_files);
                d->project_name = TAKE_PTR(n);
        }
        if (!d->project_name) {
                _cleanup_free_ char *n = spec_project_name_normalize(path_basename(d->project_dir));
                if (isempty(n))
                        return stack_error_set(err, EINVAL,
                                               "cannot derive a project name from the directory \"%s\": "
                                               "set one with -p, COMPOSE_PROJECT_NAME or `name:`",
                                               d->project_dir);
                d->project_name = TAKE_PTR(n);
        }
        stack_kvlist_set(&d->environment, "COMPOSE_PROJECT_NAME", d->project_name);
        return 0;
}
