/* Discovery: which files, which project directory, which name, which environment and profiles. */
#include <stdlib.h>
#include <sys/stat.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "spec/discover.h"
#include "tests/unit/tap.h"

static char *tmp;

static void put(const char *rel, const char *content)
{
        _cleanup_free_ char *p = path_join(tmp, rel);
        _cleanup_free_ char *dir = path_dirname(p);
        _cleanup_error_ struct stack_error err = {0};
        if (mkdir_p(dir, 0755, &err) < 0 || write_file_atomic(p, content, strlen(content), 0644, &err) < 0)
                diag("cannot write %s: %s", p, err.msg);
}

static char *at(const char *rel)
{
        return path_join(tmp, rel);
}

/* Runs discovery from cwd (relative to tmp) with the given environment and options. */
static int discover(const char *cwd, char **env, struct spec_options *o, struct spec_discovery *d,
                    struct stack_error *err)
{
        _cleanup_free_ char *c = at(cwd);
        struct spec_options def = {0};
        if (!o)
                o = &def;
        o->cwd = c;
        o->environ = env ? env : (char *[]){NULL};
        return spec_discover(o, d, err);
}

static void test_upward(void)
{
        put("up/proj/compose.yaml", "services: {}\n");
        put("up/proj/sub/deeper/.keep", "");
        _cleanup_discovery_ struct spec_discovery d = {0};
        _cleanup_error_ struct stack_error err = {0};
        ok(discover("up/proj/sub/deeper", NULL, NULL, &d, &err) == 0, "discovery from a subdirectory");
        _cleanup_free_ char *want = at("up/proj/compose.yaml");
        _cleanup_free_ char *want_dir = at("up/proj");
        is_str(d.files ? d.files[0] : NULL, want, "finds compose.yaml in a parent directory");
        is_int(strv_length(d.files), 1, "only that file");
        is_str(d.project_dir, want_dir, "the project directory is the file's directory");
        is_str(d.names ? d.names[0] : NULL, want, "a file above cwd is named by its absolute path");

        _cleanup_discovery_ struct spec_discovery d2 = {0};
        ok(discover("up/proj", NULL, NULL, &d2, &err) == 0, "discovery in the directory itself");
        is_str(d2.names ? d2.names[0] : NULL, "compose.yaml", "a file in cwd is named relative to it");
}

static void test_override(void)
{
        put("ov/compose.yaml", "services: {}\n");
        put("ov/docker-compose.yml", "services: {}\n");
        put("ov/compose.override.yaml", "services: {}\n");
        _cleanup_discovery_ struct spec_discovery d = {0};
        _cleanup_error_ struct stack_error err = {0};
        ok(discover("ov", NULL, NULL, &d, &err) == 0, "discovery with several candidates");
        is_int(strv_length(d.files), 2, "main file and override");
        is_str(d.names ? d.names[0] : NULL, "compose.yaml",
               "compose.yaml is preferred over docker-compose.yml");
        is_str(d.names && d.names[0] ? d.names[1] : NULL, "compose.override.yaml",
               "the override file follows");

        put("legacy/docker-compose.yaml", "services: {}\n");
        put("legacy/docker-compose.yml", "services: {}\n");
        put("legacy/docker-compose.override.yml", "services: {}\n");
        _cleanup_discovery_ struct spec_discovery d2 = {0};
        ok(discover("legacy", NULL, NULL, &d2, &err) == 0, "legacy names");
        is_str(d2.names ? d2.names[0] : NULL, "docker-compose.yml",
               "docker-compose.yml before .yaml, as compose");
        is_str(d2.names && d2.names[0] ? d2.names[1] : NULL, "docker-compose.override.yml",
               "legacy override");
}

static void test_none(void)
{
        put("empty/.keep", "");
        _cleanup_discovery_ struct spec_discovery d = {0};
        _cleanup_error_ struct stack_error err = {0};
        /* The search would go up to / where a stray compose.yaml could exist; start deep in tmp anyway. */
        int r = discover("empty", NULL, NULL, &d, &err);
        if (path_exists("/compose.yaml") || path_exists("/tmp/compose.yaml"))
                ok(true, "# SKIP a compose file exists above the temp dir");
        else {
                ok(r < 0, "no compose file anywhere is an error");
                contains(err.msg, "no configuration file provided", "with compose's words");
        }
}

static void test_files(void)
{
        put("f/a.yaml", "services: {}\n");
        put("f/b.yaml", "services: {}\n");
        put("f/sub/c.yaml", "services: {}\n");
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.files = (char *[]){"sub/c.yaml", "a.yaml", NULL}};
                ok(discover("f", NULL, &o, &d, &err) == 0, "-f files");
                _cleanup_free_ char *c = at("f/sub/c.yaml");
                _cleanup_free_ char *dir = at("f/sub");
                is_str(d.files ? d.files[0] : NULL, c, "-f paths are made absolute against cwd");
                is_str(d.names ? d.names[0] : NULL, "sub/c.yaml", "and named relative to cwd");
                is_str(d.project_dir, dir, "the project directory is the first file's directory");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.files = (char *[]){"nope.yaml", NULL}};
                ok(discover("f", NULL, &o, &d, &err) < 0, "a missing -f file is an error");
                contains(err.msg, "nope.yaml", "naming it");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.files = (char *[]){"-", NULL}};
                ok(discover("f", NULL, &o, &d, &err) == 0, "-f - is stdin");
                is_str(d.files ? d.files[0] : NULL, "-", "recorded as -");
                is_str(d.names ? d.names[0] : NULL, "<stdin>", "named <stdin> in messages");
                _cleanup_free_ char *dir = at("f");
                is_str(d.project_dir, dir, "stdin alone: the project directory is cwd");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("f", (char *[]){"COMPOSE_FILE=a.yaml:b.yaml", NULL}, NULL, &d, &err) == 0,
                   "COMPOSE_FILE");
                is_int(strv_length(d.files), 2, "lists two files");
                is_str(d.names && d.names[0] ? d.names[1] : NULL, "b.yaml", "in order");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("f",
                            (char *[]){"COMPOSE_FILE=a.yaml;sub/c.yaml", "COMPOSE_PATH_SEPARATOR=;", NULL},
                            NULL, &d, &err) == 0,
                   "COMPOSE_FILE with COMPOSE_PATH_SEPARATOR");
                is_str(d.names && d.names[0] ? d.names[1] : NULL, "sub/c.yaml", "split on the separator");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.files = (char *[]){"a.yaml", NULL}};
                ok(discover("f", (char *[]){"COMPOSE_FILE=b.yaml", NULL}, &o, &d, &err) == 0,
                   "-f and COMPOSE_FILE");
                is_str(d.names ? d.names[0] : NULL, "a.yaml", "-f wins over COMPOSE_FILE");
                is_int(strv_length(d.files), 1, "COMPOSE_FILE is ignored");
        }
        {
                put("f/.env", "COMPOSE_FILE=b.yaml\n");
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("f", NULL, NULL, &d, &err) == 0, "COMPOSE_FILE from .env");
                is_str(d.names ? d.names[0] : NULL, "b.yaml", "the .env in cwd may select the files");
        }
}

static void test_names(void)
{
        put("My Project.Dir/compose.yaml", "services: {}\n");
        put("__-x/compose.yaml", "services: {}\n");
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("My Project.Dir", NULL, NULL, &d, &err) == 0, "discovery");
                ok(d.project_name == NULL, "no name yet without -p or COMPOSE_PROJECT_NAME");
                ok(spec_discover_name(&d, NULL, (struct node_mark){0}, &err) == 0,
                   "name from the directory");
                is_str(d.project_name, "myprojectdir", "the directory name is normalized");
                const struct stack_kv *kv = stack_kvlist_get(&d.environment, "COMPOSE_PROJECT_NAME");
                is_str(kv ? kv->value : NULL, "myprojectdir", "and exported as COMPOSE_PROJECT_NAME");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("__-x", NULL, NULL, &d, &err) == 0 &&
                       spec_discover_name(&d, NULL, (struct node_mark){0}, &err) == 0,
                   "leading separators");
                is_str(d.project_name, "x", "leading _ and - are dropped");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("__-x", NULL, NULL, &d, &err) == 0 &&
                       spec_discover_name(&d, "Hello World", (struct node_mark){0}, &err) == 0,
                   "name: from the files");
                is_str(d.project_name, "helloworld", "name: wins over the directory and is normalized");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("__-x", (char *[]){"COMPOSE_PROJECT_NAME=fromenv", NULL}, NULL, &d, &err) == 0 &&
                       spec_discover_name(&d, "fromfile", (struct node_mark){0}, &err) == 0,
                   "COMPOSE_PROJECT_NAME");
                is_str(d.project_name, "fromenv", "COMPOSE_PROJECT_NAME wins over name:");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.project_name = "flag"};
                ok(discover("__-x", (char *[]){"COMPOSE_PROJECT_NAME=fromenv", NULL}, &o, &d, &err) == 0 &&
                       spec_discover_name(&d, "fromfile", (struct node_mark){0}, &err) == 0,
                   "-p");
                is_str(d.project_name, "flag", "-p wins over everything");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.project_name = "My_Proj"};
                ok(discover("__-x", NULL, &o, &d, &err) < 0, "an invalid -p is an error, not normalized");
                contains(err.msg, "invalid project name \"My_Proj\"", "naming the value");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("__-x", (char *[]){"COMPOSE_PROJECT_NAME=-bad", NULL}, NULL, &d, &err) < 0,
                   "an invalid COMPOSE_PROJECT_NAME is an error");
        }
        ok(spec_project_name_valid("a-b_c1"), "a-b_c1 is valid");
        ok(!spec_project_name_valid("_a"), "_a is not");
        ok(!spec_project_name_valid(""), "empty is not");
        ok(!spec_project_name_valid("a.b"), "a.b is not");
}

static void test_env(void)
{
        put("env/compose.yaml", "services: {}\n");
        put("env/.env",
            "A=from-dotenv\nB=from-dotenv\nCOMPOSE_PROFILES=debug, test\nCOMPOSE_PROJECT_NAME=dotenvname\n");
        put("env/other.env", "C=other\n");
        put("env/second.env", "C=second\nF=f\nD=${F}-${C}\n");
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("env", (char *[]){"B=from-shell", NULL}, NULL, &d, &err) == 0,
                   "discovery with .env");
                const struct stack_kv *a = stack_kvlist_get(&d.environment, "A");
                const struct stack_kv *b = stack_kvlist_get(&d.environment, "B");
                is_str(a ? a->value : NULL, "from-dotenv", ".env values are in the environment");
                is_str(b ? b->value : NULL, "from-shell", "the shell wins over .env");
                is_int(strv_length(d.env_files), 1, "one env file read");
                is_int(strv_length(d.profiles), 2, "COMPOSE_PROFILES from .env, split on commas");
                is_str(d.profiles && d.profiles[0] ? d.profiles[1] : NULL, "test", "and trimmed");
                is_str(d.project_name, "dotenvname", "COMPOSE_PROJECT_NAME from .env names the project");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.env_files = (char *[]){"other.env", "second.env", NULL},
                                         .profiles = (char *[]){"web", NULL}};
                ok(discover("env", NULL, &o, &d, &err) == 0, "--env-file");
                ok(!stack_kvlist_get(&d.environment, "A"), "--env-file replaces the default .env");
                const struct stack_kv *c = stack_kvlist_get(&d.environment, "C");
                const struct stack_kv *dd = stack_kvlist_get(&d.environment, "D");
                is_str(c ? c->value : NULL, "second", "a later --env-file wins over an earlier one");
                is_str(
                    dd ? dd->value : NULL, "f-other",
                    "values interpolate the file's own keys, and earlier files' values first (as compose)");
                is_int(strv_length(d.profiles), 1, "--profile wins over COMPOSE_PROFILES");
                is_str(d.profiles ? d.profiles[0] : NULL, "web", "the flag's profile");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.env_files = (char *[]){"missing.env", NULL}};
                ok(discover("env", NULL, &o, &d, &err) < 0, "a missing --env-file is an error");
                contains(err.msg, "missing.env", "naming it");
        }
        {
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                ok(discover("env", (char *[]){"COMPOSE_DISABLE_ENV_FILE=1", NULL}, NULL, &d, &err) == 0,
                   "COMPOSE_DISABLE_ENV_FILE");
                ok(!stack_kvlist_get(&d.environment, "A"), "disables the default .env");
                is_int(strv_length(d.env_files), 0, "no env file read");
        }
        {
                put("pd/elsewhere/.env", "E=elsewhere\n");
                put("pd/elsewhere/compose.yaml", "services: {}\n");
                put("pd/cwd/.keep", "");
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.project_dir = "../elsewhere"};
                ok(discover("pd/cwd", NULL, &o, &d, &err) == 0, "--project-directory");
                _cleanup_free_ char *want = at("pd/elsewhere");
                is_str(d.project_dir, want, "is the project directory");
                const struct stack_kv *e = stack_kvlist_get(&d.environment, "E");
                is_str(e ? e->value : NULL, "elsewhere", "its .env is read");
                is_int(strv_length(d.files), 1, "its compose file is found");
        }
        {
                put("two/proj/compose.yaml", "services: {}\n");
                put("two/proj/.env", "P=project\n");
                put("two/.env", "P=cwd\nQ=cwd\n");
                _cleanup_discovery_ struct spec_discovery d = {0};
                _cleanup_error_ struct stack_error err = {0};
                struct spec_options o = {.files = (char *[]){"proj/compose.yaml", NULL}};
                ok(discover("two", NULL, &o, &d, &err) == 0, ".env of the project directory");
                const struct stack_kv *p = stack_kvlist_get(&d.environment, "P");
                ok(!stack_kvlist_get(&d.environment, "Q"),
                   "the .env of cwd is not read when -f points elsewhere");
                is_str(p ? p->value : NULL, "project", "the project directory's .env is");
        }
}

int main(void)
{
        char tmpl[] = "/tmp/test-discover-XXXXXX";
        tmp = mkdtemp(tmpl);
        if (!tmp)
                return 99;
        test_upward();
        test_override();
        test_none();
        test_files();
        test_names();
        test_env();
        _cleanup_error_ struct stack_error err = {0};
        rm_rf(tmp, &err);
        return done_testing();
}
