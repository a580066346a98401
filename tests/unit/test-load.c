/* The loading pipeline: extends, include, interpolation per file, profiles, and spec_load() end to end. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "spec/discover.h"
#include "spec/load.h"
#include "spec/loader.h"
#include "spec/merge.h"
#include "spec/print.h"
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

/* The merged tree of one project: `files` relative to tmp, project directory = the first file's. */
static struct node *load_tree(char *const *files, const char *const *env, struct stack_error *err)
{
        _cleanup_strv_free_ char **abs = NULL, **names = NULL;
        STRV_FOREACH (f, files) {
                strv_consume(&abs, at(*f));
                strv_push(&names, *f);
        }
        _cleanup_free_ char *dir = path_dirname(abs[0]);
        struct stack_kvlist kv = {0};
        for (size_t i = 0; env && env[i]; i += 2)
                stack_kvlist_add(&kv, env[i], env[i + 1]);
        struct load_ctx ctx = {.cwd = tmp};
        struct node *tree = NULL;
        int r = load_files(&ctx, abs, names, NULL, dir, &kv, &tree, err);
        load_ctx_done(&ctx);
        stack_kvlist_free(&kv);
        if (r < 0)
                return NULL;
        merge_finish(tree);
        return tree;
}

static const struct node *svc(const struct node *tree, const char *name)
{
        return node_get(node_get(tree, "services"), name);
}

static const char *svc_str(const struct node *tree, const char *name, const char *key)
{
        return node_str(node_get(svc(tree, name), key));
}

static void test_extends_same_file(void)
{
        put("ext1/compose.yaml", "services:\n"
                                 "  base:\n"
                                 "    image: busybox\n"
                                 "    environment: [A=1, B=1]\n"
                                 "    command: [base]\n"
                                 "    ports: [\"80:80\"]\n"
                                 "  mid:\n"
                                 "    extends: base\n"
                                 "    environment: {B: 2}\n"
                                 "  web:\n"
                                 "    extends:\n"
                                 "      service: mid\n"
                                 "    command: [web]\n"
                                 "    ports: [\"81:81\"]\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t = load_tree((char *[]){"ext1/compose.yaml", NULL}, NULL, &err);
        ok(t != NULL, "extends in the same file loads");
        if (!t) {
                diag("%s", err.msg);
                return;
        }
        is_str(svc_str(t, "web", "image"), "busybox", "a chain web -> mid -> base inherits the image");
        is_str(node_str(node_get(node_get(svc(t, "web"), "environment"), "B")), "2",
               "mid's environment wins over base's");
        is_str(node_str(node_get(node_get(svc(t, "web"), "environment"), "A")), "1",
               "base's other entries stay");
        is_str(node_str(node_get(svc(t, "web"), "command")->items[0]), "web", "command is replaced");
        is_int(node_get(svc(t, "web"), "ports")->n_items, 2, "ports append");
        ok(node_get(svc(t, "web"), "extends") == NULL, "extends is gone from the result");
        is_str(svc_str(t, "base", "image"), "busybox", "the base stays a service of its own");
}

static void test_extends_other_file(void)
{
        put("ext2/compose.yaml", "services:\n"
                                 "  web:\n"
                                 "    extends:\n"
                                 "      file: common/base.yaml\n"
                                 "      service: app\n"
                                 "    image: mine\n");
        put("ext2/common/base.yaml", "services:\n"
                                     "  app:\n"
                                     "    extends: core\n"
                                     "    image: theirs\n"
                                     "    env_file: app.env\n"
                                     "    volumes: [\"./data:/data\", \"named:/named\"]\n"
                                     "    build: ./ctx\n"
                                     "  core:\n"
                                     "    user: \"${WHO}\"\n"
                                     "    ports: !reset []\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t =
            load_tree((char *[]){"ext2/compose.yaml", NULL}, (const char *[]){"WHO", "nobody", NULL}, &err);
        ok(t != NULL, "extends from another file loads");
        if (!t) {
                diag("%s", err.msg);
                return;
        }
        is_str(svc_str(t, "web", "image"), "mine", "the service's own value wins");
        is_str(svc_str(t, "web", "user"), "nobody", "the chain continues in the other file, interpolated");
        _cleanup_free_ char *envf = at("ext2/common/app.env");
        _cleanup_free_ char *data = at("ext2/common/data");
        _cleanup_free_ char *vol = xasprintf("%s:/data", data);
        _cleanup_free_ char *ctx = at("ext2/common/ctx");
        is_str(svc_str(t, "web", "env_file"), envf,
               "relative paths resolve against the other file's directory");
        is_str(node_str(node_get(svc(t, "web"), "volumes")->items[0]), vol, "bind sources too");
        is_str(node_str(node_get(svc(t, "web"), "volumes")->items[1]), "named:/named",
               "named volumes are untouched");
        is_str(svc_str(t, "web", "build"), ctx, "and the build context");
        ok(svc(t, "app") == NULL, "services of the other file are not imported");
        ok(node_get(svc(t, "web"), "ports") == NULL, "a !reset without an earlier value leaves nothing");
}

static void test_extends_reset_across_files(void)
{
        put("extr/a.yaml", "services:\n  web:\n    image: a\n    ports: [\"80:80\"]\n");
        put("extr/b.yaml", "services:\n"
                           "  base:\n"
                           "    image: b\n"
                           "    ports: [\"90:90\"]\n"
                           "  web:\n"
                           "    extends: base\n"
                           "    ports: !reset []\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t =
            load_tree((char *[]){"extr/a.yaml", "extr/b.yaml", NULL}, NULL, &err);
        ok(t != NULL, "extends in an override file loads");
        if (!t)
                return;
        is_str(svc_str(t, "web", "image"), "b", "the extended base applies over the earlier file");
        ok(node_get(svc(t, "web"), "ports") == NULL,
           "a !reset next to extends clears both the base's and the earlier file's value");
}

static void test_extends_from_override_elsewhere(void)
{
        put("exto/compose.yaml", "services:\n  web:\n    image: a\n");
        put("exto/lib/base.yaml", "services:\n  common:\n    user: \"1000\"\n");
        put("exto/overrides/dev.yaml",
            "services:\n  web:\n    extends:\n      file: lib/base.yaml\n      service: common\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t =
            load_tree((char *[]){"exto/compose.yaml", "exto/overrides/dev.yaml", NULL}, NULL, &err);
        ok(t != NULL, "extends in an override file in another directory");
        if (!t) {
                diag("%s", err.msg);
                return;
        }
        is_str(svc_str(t, "web", "user"), "1000",
               "extends.file is relative to the project directory, as compose");
}

static void test_extends_errors(void)
{
        put("ext3/compose.yaml", "services:\n"
                                 "  a:\n"
                                 "    extends: b\n"
                                 "  b:\n"
                                 "    extends: c\n"
                                 "  c:\n"
                                 "    extends: a\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t = load_tree((char *[]){"ext3/compose.yaml", NULL}, NULL, &err);
        ok(t == NULL, "an extends cycle is an error");
        contains(
            err.msg,
            "extends cycle: a (compose.yaml) -> b (compose.yaml) -> c (compose.yaml) -> a (compose.yaml)",
            "naming the whole chain");
        contains(err.msg,
                 "ext3/compose.yaml:3:14: services.a.extends:", "located at the extends that starts it");

        put("ext4/compose.yaml", "services:\n  a:\n    extends: nope\n");
        _cleanup_error_ struct stack_error err2 = {0};
        _cleanup_node_ struct node *t2 = load_tree((char *[]){"ext4/compose.yaml", NULL}, NULL, &err2);
        ok(t2 == NULL, "extending a missing service is an error");
        contains(err2.msg, "ext4/compose.yaml:3:14: services.a.extends: service \"nope\" not found",
                 "located");

        put("ext5/compose.yaml",
            "services:\n  a:\n    extends:\n      file: missing.yaml\n      service: x\n");
        _cleanup_error_ struct stack_error err3 = {0};
        _cleanup_node_ struct node *t3 = load_tree((char *[]){"ext5/compose.yaml", NULL}, NULL, &err3);
        ok(t3 == NULL, "extending from a missing file is an error");
        contains(err3.msg, "services.a.extends", "naming the key");
        contains(err3.msg, "missing.yaml", "and the file");

        put("ext6/compose.yaml",
            "services:\n  a:\n    extends:\n      file: other.yaml\n      service: x\n");
        put("ext6/other.yaml",
            "services:\n  x:\n    extends:\n      file: compose.yaml\n      service: a\n");
        _cleanup_error_ struct stack_error err4 = {0};
        _cleanup_node_ struct node *t4 = load_tree((char *[]){"ext6/compose.yaml", NULL}, NULL, &err4);
        ok(t4 == NULL, "a cycle across files is an error");
        contains(err4.msg, "extends cycle: a (compose.yaml) -> x (other.yaml) -> a (compose.yaml)",
                 "naming it");
}

static void test_include(void)
{
        put("inc/compose.yaml", "include:\n"
                                "  - sub/compose.yaml\n"
                                "  - path: [other/a.yaml, other/b.yaml]\n"
                                "    env_file: other/custom.env\n"
                                "services:\n"
                                "  web:\n"
                                "    image: web\n"
                                "    depends_on: [db]\n");
        put("inc/sub/compose.yaml", "services:\n"
                                    "  db:\n"
                                    "    image: \"postgres:${PGVER}\"\n"
                                    "    volumes: [\"./init:/init\", \"data:/var/lib/postgresql\"]\n"
                                    "volumes:\n"
                                    "  data: {}\n");
        put("inc/sub/.env", "PGVER=16\nSHARED=sub\n");
        put("inc/other/a.yaml",
            "services:\n  cache:\n    image: \"redis:${REDIS}\"\n    user: \"${SHARED}\"\n");
        put("inc/other/b.yaml", "services:\n  cache:\n    user: \"${SHARED}-b\"\n");
        put("inc/other/custom.env", "REDIS=7\nSHARED=custom\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t = load_tree((char *[]){"inc/compose.yaml", NULL},
                                                  (const char *[]){"SHARED", "parent", NULL}, &err);
        ok(t != NULL, "include loads");
        if (!t) {
                diag("%s", err.msg);
                return;
        }
        is_str(svc_str(t, "db", "image"), "postgres:16",
               "an included file is interpolated with its own .env");
        _cleanup_free_ char *init = at("inc/sub/init");
        _cleanup_free_ char *vol = xasprintf("%s:/init", init);
        is_str(node_str(node_get(svc(t, "db"), "volumes")->items[0]), vol,
               "relative paths resolve against the included project's directory");
        ok(node_get(node_get(t, "volumes"), "data") != NULL, "its volumes are imported");
        is_str(svc_str(t, "cache", "image"), "redis:7", "env_file of a long-form include is used");
        is_str(svc_str(t, "cache", "user"), "parent-b", "the including environment wins; path lists merge");
        is_str(svc_str(t, "web", "image"), "web", "the including file's own services stay");
        ok(node_get(t, "include") == NULL, "include is gone from the result");
}

static void test_include_project_directory(void)
{
        put("incp/compose.yaml", "include:\n"
                                 "  - path: parts/db.yaml\n"
                                 "    project_directory: data\n");
        put("incp/parts/db.yaml", "services:\n  db:\n    image: db\n    env_file: db.env\n");
        put("incp/data/.env", "UNUSED=1\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t = load_tree((char *[]){"incp/compose.yaml", NULL}, NULL, &err);
        ok(t != NULL, "include with project_directory loads");
        if (!t) {
                diag("%s", err.msg);
                return;
        }
        _cleanup_free_ char *want = at("incp/data/db.env");
        is_str(svc_str(t, "db", "env_file"), want, "relative paths resolve against project_directory");
}

static void test_include_twice_and_bare_env(void)
{
        put("inc2/compose.yaml", "include:\n"
                                 "  - lib/compose.yaml\n"
                                 "  - other/compose.yaml\n"
                                 "services:\n  main:\n    image: m\n    environment: [ONLY_IN_LIB]\n");
        put("inc2/lib/compose.yaml", "services:\n"
                                     "  tool:\n"
                                     "    image: t\n"
                                     "    environment:\n"
                                     "      - ONLY_IN_LIB\n"
                                     "      - FROM_SHELL\n"
                                     "  tool2:\n"
                                     "    image: t\n"
                                     "    environment:\n"
                                     "      ONLY_IN_LIB:\n");
        put("inc2/lib/.env", "ONLY_IN_LIB=lib-value\nFROM_SHELL=lib\n");
        put("inc2/other/compose.yaml", "include: [../lib/compose.yaml]\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t = load_tree((char *[]){"inc2/compose.yaml", NULL},
                                                  (const char *[]){"FROM_SHELL", "shell", NULL}, &err);
        ok(t != NULL,
           "the same file included twice (directly and through another include) is not a conflict");
        if (!t) {
                diag("%s", err.msg);
                return;
        }
        const struct node *env = node_get(svc(t, "tool"), "environment");
        is_str(env ? node_str(env->items[0]) : NULL, "ONLY_IN_LIB=lib-value",
               "a bare variable of an included service comes from the included project's .env");
        is_str(env ? node_str(env->items[1]) : NULL, "FROM_SHELL=shell",
               "the including environment still wins");
        is_str(node_str(node_get(node_get(svc(t, "tool2"), "environment"), "ONLY_IN_LIB")), "lib-value",
               "mapping form too");
        is_str(node_str(node_get(svc(t, "main"), "environment")->items[0]), "ONLY_IN_LIB",
               "the including project's own services do not see the included .env");
}

static void test_include_errors(void)
{
        put("incc/compose.yaml", "include: [sub/compose.yaml]\nservices:\n  db:\n    image: mine\n");
        put("incc/sub/compose.yaml", "services:\n  db:\n    image: theirs\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t = load_tree((char *[]){"incc/compose.yaml", NULL}, NULL, &err);
        ok(t == NULL, "an included service clashing with a local one is an error");
        contains(err.msg,
                 "incc/compose.yaml:1:11: include[0]: services.db from incc/sub/compose.yaml is already "
                 "defined at incc/compose.yaml:3:3",
                 "naming both definitions");

        put("incy/compose.yaml", "include: [a/compose.yaml]\nservices: {}\n");
        put("incy/a/compose.yaml", "include: [../b/compose.yaml]\nservices: {}\n");
        put("incy/b/compose.yaml", "include: [../a/compose.yaml]\nservices: {}\n");
        _cleanup_error_ struct stack_error err2 = {0};
        _cleanup_node_ struct node *t2 = load_tree((char *[]){"incy/compose.yaml", NULL}, NULL, &err2);
        ok(t2 == NULL, "an include cycle is an error");
        contains(err2.msg,
                 "include cycle: incy/compose.yaml -> incy/a/compose.yaml -> incy/b/compose.yaml -> "
                 "incy/a/compose.yaml",
                 "naming the chain");

        put("incm/compose.yaml", "include:\n  - nope.yaml\n");
        _cleanup_error_ struct stack_error err3 = {0};
        _cleanup_node_ struct node *t3 = load_tree((char *[]){"incm/compose.yaml", NULL}, NULL, &err3);
        ok(t3 == NULL, "including a missing file is an error");
        contains(err3.msg, "incm/compose.yaml:2:5: include[0]: incm/nope.yaml: no such file",
                 "located and named");
}

static void test_interpolation_per_file(void)
{
        put("ip/a.yaml", "services:\n  web:\n    image: \"${IMG}\"\n    labels: [\"x=$$LITERAL\"]\n");
        put("ip/b.yaml", "services:\n  web:\n    user: \"${USER_ID:-1000}\"\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *t = load_tree((char *[]){"ip/a.yaml", "ip/b.yaml", NULL},
                                                  (const char *[]){"IMG", "nginx", NULL}, &err);
        ok(t != NULL, "two files load");
        if (!t)
                return;
        is_str(svc_str(t, "web", "image"), "nginx", "the first file is interpolated");
        is_str(svc_str(t, "web", "user"), "1000", "the second file is interpolated");
        is_str(node_str(node_get(svc(t, "web"), "labels")->items[0]), "x=$LITERAL",
               "$$ is a literal dollar");

        put("ip/bad.yaml", "services:\n  web:\n    image: \"${IMG\"\n");
        _cleanup_error_ struct stack_error err2 = {0};
        _cleanup_node_ struct node *t2 = load_tree((char *[]){"ip/bad.yaml", NULL}, NULL, &err2);
        ok(t2 == NULL, "a malformed expression is an error");
        contains(err2.msg, "ip/bad.yaml:3:12", "located in its file");
}

/* --- spec_load end to end --- */

static int load(const char *cwd, char **env, struct spec_options *o, struct stack_project **ret,
                struct stack_error *err)
{
        _cleanup_free_ char *c = at(cwd);
        struct spec_options def = {0};
        if (!o)
                o = &def;
        o->cwd = c;
        o->environ = env ? env : (char *[]){NULL};
        return spec_load(o, ret, err);
}

static bool has_service(const struct stack_project *p, const char *name)
{
        return stack_project_service(p, name) != NULL;
}

static void test_profiles(void)
{
        put("prof/compose.yaml", "services:\n"
                                 "  app:\n"
                                 "    image: app\n"
                                 "  db:\n"
                                 "    image: db\n"
                                 "    profiles: [backend]\n"
                                 "  debug:\n"
                                 "    image: dbg\n"
                                 "    profiles: [debug]\n"
                                 "    depends_on: [db]\n"
                                 "  tool:\n"
                                 "    image: tool\n"
                                 "    profiles: [debug]\n");
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                ok(load("prof", NULL, NULL, &p, &err) == 0, "no profile active");
                if (!p) {
                        diag("%s", err.msg);
                        return;
                }
                ok(has_service(p, "app") && !has_service(p, "db") && !has_service(p, "debug"),
                   "only services without profiles are enabled");
                is_int(strv_length(p->disabled_services), 3, "the others are recorded as disabled");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                struct spec_options o = {.profiles = (char *[]){"backend", NULL}};
                ok(load("prof", NULL, &o, &p, &err) == 0, "--profile backend");
                ok(p && has_service(p, "app") && has_service(p, "db") && !has_service(p, "debug"),
                   "enables the backend services");
                is_str(p && p->profiles ? p->profiles[0] : NULL, "backend", "and records the profile");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                ok(load("prof", (char *[]){"COMPOSE_PROFILES=debug,backend", NULL}, NULL, &p, &err) == 0,
                   "COMPOSE_PROFILES");
                ok(p && p->n_services == 4, "enables every listed profile");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                struct spec_options o = {.profiles = (char *[]){"*", NULL}};
                ok(load("prof", NULL, &o, &p, &err) == 0 && p && p->n_services == 4, "* enables everything");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                struct spec_options o = {.services = (char *[]){"debug", NULL}};
                ok(load("prof", NULL, &o, &p, &err) == 0, "a named service");
                ok(p && has_service(p, "debug"), "a named service is enabled");
                ok(p && has_service(p, "db"), "and so is its dependency, whatever its profile");
                ok(p && !has_service(p, "tool"), "other services of its profile stay disabled");
                is_int(p ? strv_length(p->profiles) : 99, 0, "and no profile is recorded as active");
                ok(p && strv_contains(p->disabled_services, "db") == false, "dependencies are not disabled");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                struct spec_options o = {.services = (char *[]){"nope", NULL}};
                ok(load("prof", NULL, &o, &p, &err) < 0, "naming an unknown service is an error");
                contains(err.msg, "no such service: nope", "naming it");
        }
}

static void test_spec_load(void)
{
        put("full/compose.yaml", "name: \"${PREFIX}-full\"\n"
                                 "services:\n"
                                 "  web:\n"
                                 "    image: \"nginx:${TAG}\"\n"
                                 "    environment:\n"
                                 "      PROJECT: \"${COMPOSE_PROJECT_NAME}\"\n");
        put("full/compose.override.yaml", "services:\n  web:\n    environment:\n      EXTRA: \"1\"\n");
        put("full/.env", "TAG=1.25\nPREFIX=demo\n");
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                ok(load("full", NULL, NULL, &p, &err) == 0, "a project with an override and .env loads");
                if (!p) {
                        diag("%s", err.msg);
                        return;
                }
                is_str(p->name, "demo-full", "the name comes from name:, interpolated");
                _cleanup_free_ char *dir = at("full");
                is_str(p->working_dir, dir, "working_dir is the project directory");
                is_int(strv_length(p->config_files), 2, "both files are recorded");
                is_int(strv_length(p->env_files), 1, "the .env file is recorded");
                const struct stack_service *web = stack_project_service(p, "web");
                is_str(web ? web->image : NULL, "nginx:1.25", "interpolated from .env");
                const struct stack_kv *pn = web ? stack_kvlist_get(&web->environment, "PROJECT") : NULL;
                is_str(pn ? pn->value : NULL, "demo-full",
                       "COMPOSE_PROJECT_NAME is available to interpolation");
                ok(web && stack_kvlist_get(&web->environment, "EXTRA"), "the override file is merged");
                ok(stack_kvlist_get(&p->environment, "TAG") != NULL, "the project records its environment");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                struct spec_options o = {.project_name = "explicit"};
                ok(load("full", NULL, &o, &p, &err) == 0 && p, "-p");
                is_str(p ? p->name : NULL, "explicit", "-p wins over name:");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                struct spec_options o = {.no_interpolate = true};
                ok(load("full", NULL, &o, &p, &err) == 0 && p, "--no-interpolate");
                const struct stack_service *web = p ? stack_project_service(p, "web") : NULL;
                is_str(web ? web->image : NULL, "nginx:${TAG}", "leaves expressions as written");
        }
        put("bad/compose.yaml", "services:\n  web:\n    image: a\n    ports:\n      - \"80-81:90-93\"\n");
        put("bad/compose.override.yaml", "services:\n  web:\n    image: b\n");
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                ok(load("bad", NULL, NULL, &p, &err) < 0, "a model error fails the load");
                contains(err.msg, "compose.yaml:5:9: services.web.ports[0]",
                         "located in the file that said it, with the key path");
        }
        put("empty/compose.yaml", "# nothing here\n");
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                ok(load("empty", NULL, NULL, &p, &err) < 0, "an empty file is an error");
                contains(err.msg, "empty compose file", "saying so");
        }
        put("syn/compose.yaml", "services:\n  web:\n    image: [\n");
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                ok(load("syn", NULL, NULL, &p, &err) < 0, "a YAML error fails the load");
                ok(err.msg && startswith(err.msg, "compose.yaml:4:1: "), "located as file:line:col");
        }
}

/* A required dependency that the active profiles leave out is an error; an optional one is not. */
static void test_profile_dependency(void)
{
        put("profdep/compose.yaml", "services:\n"
                                    "  app:\n"
                                    "    image: app\n"
                                    "    depends_on:\n"
                                    "      db: {condition: service_started}\n"
                                    "      cache: {condition: service_started, required: false}\n"
                                    "  db:\n"
                                    "    image: db\n"
                                    "    profiles: [backend, full]\n"
                                    "  cache:\n"
                                    "    image: cache\n"
                                    "    profiles: [full]\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = NULL;
        ok(load("profdep", NULL, NULL, &p, &err) < 0,
           "a required dependency disabled by the profiles fails");
        is_str(err.msg,
               "compose.yaml:5:7: services.app.depends_on: service \"db\" is disabled by the active "
               "profiles (it "
               "needs one of: backend, full); enable one or set required: false",
               "located, with the profiles that would enable it");
        stack_error_clear(&err);
        struct spec_options o = {.profiles = (char *[]){(char *) "backend", NULL}};
        _cleanup_project_ struct stack_project *p2 = NULL;
        ok(load("profdep", NULL, &o, &p2, &err) == 0, "with the profile on, the optional one may stay off");
}

/* Interpolated values come out of `config` with `$` as `$$` (as docker compose writes them), so the output
 * loads back to the same values: a bcrypt hash, a variable meant for the container's shell. */
static void test_dollars_round_trip(void)
{
        put("dollars/compose.yaml",
            "services:\n"
            "  web:\n"
            "    image: x\n"
            "    environment: {HASH: \"$$2a$$12$$abc\"}\n"
            "    healthcheck: {test: [CMD-SHELL, \"pg_isready -d $${POSTGRES_DB}\"]}\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = NULL;
        if (!ok(load("dollars", NULL, NULL, &p, &err) == 0, "a file with escaped dollars loads"))
                return diag("%s", err.msg);
        is_str(stack_kvlist_get(&p->services[0].environment, "HASH")->value, "$2a$12$abc", "to the hash");
        _cleanup_free_ char *out = spec_project_format(p, SPEC_FORMAT_YAML);
        contains(out, "HASH: $$2a$$12$$abc\n", "config writes a literal $ as $$");
        contains(out, "- pg_isready -d $${POSTGRES_DB}\n", "also inside a health check");
        put("dollars/compose.yaml", out);
        _cleanup_project_ struct stack_project *back = NULL;
        if (!ok(load("dollars", NULL, NULL, &back, &err) == 0, "the output loads again"))
                return diag("%s", err.msg);
        _cleanup_free_ char *again = spec_project_format(back, SPEC_FORMAT_YAML);
        is_str(again, out, "to the same model");
        struct spec_options raw = {.no_interpolate = true};
        _cleanup_project_ struct stack_project *as_written = NULL;
        ok(load("dollars", NULL, &raw, &as_written, &err) == 0, "--no-interpolate loads it");
        _cleanup_free_ char *shown = as_written ? spec_project_format(as_written, SPEC_FORMAT_YAML) : NULL;
        contains(shown, "HASH: $$2a$$12$$abc\n", "and shows it as written, not escaped twice");
}

/* Files a compose file names are read only when they are regular files, and at most NAMED_FILE_MAX bytes:
 * a device would exhaust memory and a FIFO would hang the load. */
static void test_named_files(void)
{
        static const char *const cases[][3] = {
            {"env_file: /dev/zero", "compose.yaml:4:15: services.x.env_file: /dev/zero: not a regular file",
             "env_file naming a device"},
            {"env_file: ./fifo", "services.x.env_file: ", "env_file naming a FIFO"},
            {"env_file: ./big.env", "big.env: larger than 16 MiB, the limit for a file stack reads",
             "env_file over the limit"},
        };
        _cleanup_free_ char *fifo = at("named/fifo");
        _cleanup_free_ char *big = at("named/big.env");
        put("named/placeholder", "");
        ok(mkfifo(fifo, 0600) == 0, "a FIFO to name");
        _cleanup_free_ char *huge = xmalloc(NAMED_FILE_MAX + 2);
        memset(huge, 'a', NAMED_FILE_MAX + 1);
        huge[NAMED_FILE_MAX + 1] = '\0';
        put("named/big.env", huge);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *yaml =
                    xasprintf("services:\n  x:\n    image: x\n    %s\n", cases[i][0]);
                put("named/compose.yaml", yaml);
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_project_ struct stack_project *p = NULL;
                ok(load("named", NULL, NULL, &p, &err) < 0, "%s fails the load", cases[i][2]);
                contains(err.msg, cases[i][1], "%s: the error names the file", cases[i][2]);
        }
        put("named/compose.yaml", "include: [/dev/zero]\nservices:\n  x:\n    image: x\n");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = NULL;
        ok(load("named", NULL, NULL, &p, &err) < 0, "include of a device fails");
        is_str(err.msg, "compose.yaml:1:11: include[0]: /dev/zero: not a regular file",
               "located at the entry");
        unlink(big);
}

int main(void)
{
        char tmpl[] = "/tmp/test-load-XXXXXX";
        tmp = mkdtemp(tmpl);
        if (!tmp)
                return 99;
        test_extends_same_file();
        test_extends_other_file();
        test_extends_reset_across_files();
        test_extends_from_override_elsewhere();
        test_extends_errors();
        test_include();
        test_include_project_directory();
        test_include_twice_and_bare_env();
        test_include_errors();
        test_interpolation_per_file();
        test_profiles();
        test_spec_load();
        test_named_files();
        test_dollars_round_trip();
        test_profile_dependency();
        _cleanup_error_ struct stack_error err = {0};
        rm_rf(tmp, &err);
        return done_testing();
}
