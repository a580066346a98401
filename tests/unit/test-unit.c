/* systemd units from a project: budgets through depends_on, quoting for Exec lines, the unit's text. */
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/unit.h"
#include "spec/load.h"
#include "tests/unit/tap.h"

static char *tmp;

static int load(const char *dir, const char *yaml, struct stack_project **ret, struct stack_error *err)
{
        _cleanup_free_ char *d = path_join(tmp, dir);
        _cleanup_free_ char *f = path_join(d, "compose.yaml");
        if (mkdir_p(d, 0755, err) < 0 || write_file_atomic(f, yaml, strlen(yaml), 0644, err) < 0)
                return -1;
        struct spec_options o = {.cwd = d, .environ = (char *[]){NULL}};
        return spec_load(&o, ret, err);
}

static void test_quote(void)
{
        struct {
                const char *in, *want;
        } cases[] = {
            {"/usr/bin/stack", "/usr/bin/stack"},
            {"-f", "-f"},
            {"/srv/my app", "\"/srv/my app\""},
            {"100%", "\"100%%\""},
            {"$HOME", "\"$$HOME\""},
            {"a\"b\\c", "\"a\\\"b\\\\c\""},
            {"", "\"\""},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *q = unit_quote(cases[i].in);
                is_str(q, cases[i].want, "quote \"%s\"", cases[i].in);
        }
}

/* db (healthy after at most 5 + 2 x (2 + 1) = 11 s) <- app (3 x (30 + 30) = 180 s by Docker's defaults)
 * <- web (no check); cache on its own (disabled check). The longest chain is db + app. */
static const char chain_yaml[] = "name: chain\n"
                                 "services:\n"
                                 "  db:\n"
                                 "    image: db\n"
                                 "    stop_grace_period: 20s\n"
                                 "    healthcheck:\n"
                                 "      test: [CMD, 'true']\n"
                                 "      interval: 2s\n"
                                 "      timeout: 1s\n"
                                 "      retries: 2\n"
                                 "      start_period: 5s\n"
                                 "  app:\n"
                                 "    image: app\n"
                                 "    depends_on: {db: {condition: service_healthy}}\n"
                                 "    healthcheck:\n"
                                 "      test: [CMD, 'true']\n"
                                 "  web:\n"
                                 "    image: web\n"
                                 "    depends_on: [app]\n"
                                 "    volumes: ['/srv/static files:/usr/share/www:ro']\n"
                                 "  cache:\n"
                                 "    image: cache\n"
                                 "    healthcheck: {disable: true}\n";

static void test_budgets(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = NULL;
        if (!ok(load("chain", chain_yaml, &p, &err) == 0, "the chain project loads"))
                diag("%s", err.msg);
        if (!p)
                return;
        is_int(unit_start_budget_usec(p), 191 * 1000000LL,
               "start budget: db 11 s + app 180 s, web adds none");
        is_int(unit_stop_budget_usec(p), 40 * 1000000LL, "stop budget: db 20 s + app 10 s + web 10 s");
}

static void test_render(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = NULL;
        if (load("my dir", chain_yaml, &p, &err) < 0 || !p) {
                ok(false, "the project in a directory with a space loads: %s", err.msg);
                return;
        }
        struct unit_options o = {.stack_path = "/usr/local/bin/stack", .root = "/data/stack"};
        _cleanup_free_ char *text = NULL;
        ok(unit_render_project(p, &o, &text, &err) == 0, "renders");
        contains(text, "Type=notify\n", "Type=notify");
        _cleanup_free_ char *wd = xasprintf("WorkingDirectory=%s/my dir\n", tmp);
        contains(text, wd, "the project directory, as it is (the setting takes the whole line)");
        _cleanup_free_ char *exec =
            xasprintf("ExecStart=/usr/local/bin/stack -f \"%s/my dir/compose.yaml\" "
                      "--project-directory \"%s/my dir\" -p chain --root /data/stack up "
                      "--no-log-prefix\n",
                      tmp, tmp);
        contains(text, exec, "ExecStart names the file, the project and the root");
        contains(text, "ExecStopPost=/usr/local/bin/stack -f", "down after stop");
        contains(text, "RequiresMountsFor=\"/srv/static files\"\n", "a bind mount's source is required");
        contains(text, "RequiresMountsFor=/data/stack\n", "the root too");
        contains(text, "RequiresMountsFor=/run/stack\n", "the default run root too");
        contains(text, "TimeoutStartSec=311\n", "191 s of checks and a 120 s margin");
        contains(text, "TimeoutStopSec=70\n", "40 s of grace and a 30 s margin");
        contains(text, "WantedBy=multi-user.target", "installable");
}

static void test_template(void)
{
        struct unit_options o = {.stack_path = "/usr/bin/stack"};
        _cleanup_free_ char *text = unit_render_template(&o);
        contains(text, "WorkingDirectory=%f\n", "the instance is the project directory");
        contains(text, "ExecStart=/usr/bin/stack up --no-log-prefix\n", "the file found there as up would");
        ok(!strstr(text, "--root"), "no --root when it is the default");
        _cleanup_free_ char *name = unit_name("web");
        is_str(name, "stack-web.service", "unit name");
}

int main(void)
{
        char tmpl[] = "/tmp/test-unit-XXXXXX";
        tmp = mkdtemp(tmpl);
        if (!tmp)
                return 99;
        test_quote();
        test_budgets();
        test_render();
        test_template();
        _cleanup_error_ struct stack_error err = {0};
        rm_rf(tmp, &err);
        return done_testing();
}
