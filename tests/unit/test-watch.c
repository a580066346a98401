/* develop.watch: parsing (located errors), `stack config` output, and the watcher's pure planning of a batch
 * of changed paths (ignore, include, .git and editor files, targets, one action per service). */
#include "core/engine/watch.h"
#include "spec/print.h"
#include "tests/unit/spec-test.h"
#include "tests/unit/tap.h"

static const char *const good = "services:\n"
                                "  app:\n"
                                "    image: busybox\n"
                                "    develop:\n"
                                "      watch:\n"
                                "        - action: sync\n"
                                "          path: ./src\n"
                                "          target: /app/src\n"
                                "          ignore: [\"*.log\", \"build/\"]\n"
                                "          initial_sync: true\n"
                                "        - action: sync+restart\n"
                                "          path: ./conf\n"
                                "          target: /etc/app\n"
                                "        - action: sync+exec\n"
                                "          path: ./hooks\n"
                                "          target: /hooks\n"
                                "          include: [\"*.sh\"]\n"
                                "          exec:\n"
                                "            command: sh -c 'echo hi'\n"
                                "            user: app\n"
                                "            working_dir: /hooks\n"
                                "            environment: {A: b}\n"
                                "  web:\n"
                                "    build: ./web\n"
                                "    develop:\n"
                                "      watch:\n"
                                "        - {action: rebuild, path: ./web}\n"
                                "        - {action: restart, path: ./web.conf}\n";

static void test_parse(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model(good, &err);
        if (!ok(p != NULL, "a develop section loads"))
                diag("%s", err.msg);
        if (!p)
                return;
        const struct stack_service *app = stack_project_service(p, "app");
        is_int(app->develop.n_watch, 3, "three rules");
        const struct stack_watch_rule *w = &app->develop.watch[0];
        is_int(w->action, STACK_WATCH_SYNC, "sync");
        is_str(w->path, TEST_DIR "/src", "path made absolute against the project directory");
        is_str(w->target, "/app/src", "target");
        ok(w->initial_sync, "initial_sync");
        is_str(w->ignore[1], "build/", "ignore list");
        const struct stack_watch_rule *x = &app->develop.watch[2];
        is_int(x->action, STACK_WATCH_SYNC_EXEC, "sync+exec");
        is_str(x->exec.command[2], "echo hi", "exec.command split as compose splits a command string");
        is_str(x->exec.user, "app", "exec.user");
        is_str(x->include[0], "*.sh", "include");
        _cleanup_free_ char *out = spec_project_format(p, SPEC_FORMAT_YAML);
        contains(out, "develop:", "config prints develop");
        contains(out, "action: sync+exec", "with each rule's action");
        contains(out, "target: /app/src", "and its target");
}

static void test_errors(void)
{
        struct {
                const char *yaml, *want;
        } cases[] = {
            {"services:\n  a:\n    image: x\n    develop:\n      watch:\n        - action: sync\n          "
             "path: ./s\n",
             "compose.yaml:6:11: services.a.develop.watch[0]: action sync needs a target"},
            {"services:\n  a:\n    image: x\n    develop:\n      watch:\n        - {action: rebuild, path: "
             ".}\n",
             "compose.yaml:6:20: services.a.develop.watch[0].action: action rebuild needs a build: section"},
            {"services:\n  a:\n    image: x\n    develop:\n      watch:\n        - {action: sync, path: "
             "./src/*.js, "
             "target: /a}\n",
             "compose.yaml:6:32: services.a.develop.watch[0].path: \"./src/*.js\": a path may not be a "
             "glob"},
            {"services:\n  a:\n    image: x\n    develop:\n      watch:\n        - {action: copy, path: ., "
             "target: /a}\n",
             "services.a.develop.watch[0].action: invalid action \"copy\""},
            {"services:\n  a:\n    image: x\n    develop:\n      watch:\n        - {action: sync+exec, "
             "path: ., target: "
             "/a}\n",
             "action sync+exec needs exec.command"},
            {"services:\n  a:\n    image: x\n    develop:\n      watch:\n        - {action: sync, path: ., "
             "target: a}\n",
             "target \"a\" must be an absolute path"},
            {"services:\n  a:\n    image: x\n    develop:\n      watch:\n        - {action: sync, path: ., "
             "target: /a, "
             "bogus: 1}\n",
             "additional property \"bogus\" is not allowed"},
            {"services:\n  a:\n    image: x\n    develop:\n      watch:\n        - {action: restart}\n",
             "path is required"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *msg = load_error(cases[i].yaml);
                contains(msg, cases[i].want, "error %zu located: %s", i, cases[i].want);
        }
}

static struct watch_change ch(const char *path, bool is_dir)
{
        return (struct watch_change){.path = (char *) path, .is_dir = is_dir};
}

static void test_plan(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model(good, &err);
        struct watch_rules *w = NULL;
        if (!ok(p && watch_rules_new(p, NULL, &w, &err) == 0, "rules of every service"))
                return;
        struct watch_change changes[] = {
            ch(TEST_DIR "/src/main.c", false),       ch(TEST_DIR "/src/lib", true),
            ch(TEST_DIR "/src/debug.log", false),    /* ignored by the rule */
            ch(TEST_DIR "/src/build/out.o", false),  /* inside an ignored directory */
            ch(TEST_DIR "/src/.git/index", false),   /* ignored by default */
            ch(TEST_DIR "/src/.main.c.swp", false),  /* an editor's swap file */
            ch(TEST_DIR "/src/main.c~", false),      /* a backup */
            ch(TEST_DIR "/conf/a.ini", false),       /* sync+restart */
            ch(TEST_DIR "/conf/b.ini", false),       /* same batch: still one restart */
            ch(TEST_DIR "/hooks/run.sh", false),     /* included */
            ch(TEST_DIR "/hooks/readme.txt", false), /* not included */
            ch(TEST_DIR "/srcx/no.c", false),        /* beside the rule's path, not in it */
            ch(TEST_DIR "/web.conf", false),         /* restart of web, but web rebuilds anyway */
            ch(TEST_DIR "/web/index.html", false),   /* rebuild */
        };
        struct watch_plan plan = {0};
        watch_plan_batch(w, changes, ELEMENTSOF(changes), &plan);
        is_int(plan.n, 2, "two services affected");
        const struct watch_service_plan *app = NULL, *web = NULL;
        for (size_t i = 0; i < plan.n; i++)
                if (streq(plan.services[i].service->name, "app"))
                        app = &plan.services[i];
                else
                        web = &plan.services[i];
        if (app && ok(app->n_syncs == 5, "app: five paths to sync (got %zu)", app ? app->n_syncs : 0)) {
                is_str(app->syncs[0].target, "/app/src/lib", "sorted by target");
                is_str(app->syncs[1].target, "/app/src/main.c", "the file maps below the target");
                is_str(app->syncs[2].target, "/etc/app/a.ini", "sync+restart's files are synced");
                is_str(app->syncs[4].target, "/hooks/run.sh", "the included hook");
        }
        ok(app && app->restart, "app restarts (once: a flag, not a count)");
        is_int(app ? app->n_execs : 0, 1, "one exec for the sync+exec rule");
        ok(web && web->rebuild, "web rebuilds");
        watch_plan_done(&plan);

        struct watch_change tree[] = {
            {.path = TEST_DIR "/src/new", .is_dir = true, .tree = true},
            ch(TEST_DIR "/src/new/a.c", false),
            ch(TEST_DIR "/src/new/b/c.c", false),
            ch(TEST_DIR "/src/newer.c", false),
        };
        watch_plan_batch(w, tree, ELEMENTSOF(tree), &plan);
        if (ok(plan.n == 1 && plan.services[0].n_syncs == 2, "files in a new directory go with its tree")) {
                is_str(plan.services[0].syncs[0].target, "/app/src/new", "the tree");
                is_str(plan.services[0].syncs[1].target, "/app/src/newer.c", "a sibling stays");
        }
        watch_plan_done(&plan);

        struct watch_change only_ignored[] = {ch(TEST_DIR "/src/x.log", false),
                                              ch(TEST_DIR "/hooks/a.txt", false)};
        watch_plan_batch(w, only_ignored, ELEMENTSOF(only_ignored), &plan);
        is_int(plan.n, 0, "a batch of ignored files does nothing");
        watch_plan_done(&plan);
        watch_rules_free(w);

        char *names[] = {"nosuch", NULL};
        ok(watch_rules_new(p, names, &w, &err) == -ENOENT, "no rules for the named services is an error");
        contains(err.msg, "nothing to watch", "saying so");
}

static void test_default_ignored(void)
{
        ok(watch_default_ignored(".git/HEAD"), ".git");
        ok(watch_default_ignored("a/.git"), ".git below");
        ok(watch_default_ignored("a/4913"), "vim's write test");
        ok(watch_default_ignored("a/#x.c#"), "emacs autosave");
        ok(watch_default_ignored("a/.#x.c"), "emacs lock");
        ok(watch_default_ignored("x.py___jb_tmp___"), "JetBrains");
        ok(!watch_default_ignored("a/gitx/b.c"), "a plain file");
        ok(!watch_default_ignored("a/.gitignore"), ".gitignore is a file like others");
}

/* A service with build: has its context's .dockerignore applied to the rules inside the context. */
static void test_dockerignore(void)
{
        char tmpl[] = "/tmp/test-watch-XXXXXX";
        const char *dir = mkdtemp(tmpl);
        _cleanup_free_ char *ign = path_join(dir, ".dockerignore");
        write_file_atomic(ign, "*.tmp\nsecret/\n", 14, 0644, NULL);
        static const char *const yaml = "services:\n"
                                        "  app:\n"
                                        "    build: .\n"
                                        "    develop:\n"
                                        "      watch:\n"
                                        "        - {action: sync, path: ., target: /app}\n";
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model_in(yaml, dir, &err);
        struct watch_rules *w = NULL;
        if (!ok(p && watch_rules_new(p, NULL, &w, &err) == 0, "rules of a service with build:"))
                return;
        _cleanup_free_ char *a = path_join(dir, "x.tmp"), *b = path_join(dir, "secret/k"),
                            *c = path_join(dir, "x.c");
        struct watch_change changes[] = {ch(a, false), ch(b, false), ch(c, false)};
        struct watch_plan plan = {0};
        watch_plan_batch(w, changes, ELEMENTSOF(changes), &plan);
        if (ok(plan.n == 1 && plan.services[0].n_syncs == 1, "the context's .dockerignore leaves two out"))
                is_str(plan.services[0].syncs[0].target, "/app/x.c", "the other is synced");
        watch_plan_done(&plan);
        watch_rules_free(w);
        unlink(ign);
        rmdir(dir);
}

int main(void)
{
        test_env_init();
        test_parse();
        test_errors();
        test_plan();
        test_default_ignored();
        test_dockerignore();
        return done_testing();
}
