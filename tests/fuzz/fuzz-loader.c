/* One compose file through the loader's per-file pipeline: YAML -> node tree -> interpolation -> the typed
 * model -> the desired-state graph. Any bytes must give a project or a located error. */
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/engine/graph.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/interpolate.h"
#include "spec/parse.h"
#include "spec/yaml.h"
#include "tests/fuzz/fuzz.h"

/* env_file names files to read, and an input naming /dev/zero or a FIFO would hang the fuzzer rather
 * than find a bug: those keys go before the model parser sees the tree. */
static void drop_env_files(struct node *n)
{
        if (!n)
                return;
        while (node_remove(n, "env_file"))
                ;
        for (size_t i = 0; i < n->n_items; i++)
                drop_env_files(n->items[i]);
        for (size_t i = 0; i < n->n_pairs; i++)
                drop_env_files(n->pairs[i].value);
}

static void expect_located(const struct stack_error *err)
{
        /* Errors from the file name it; the graph's cross-service errors may not have a place. */
        if (!err->msg || !*err->msg)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        log_set_level(LOG_LEVEL_ERROR);

        _cleanup_node_ struct node *root = NULL;
        _cleanup_error_ struct stack_error err = {0};
        if (spec_yaml_parse((const char *) data, size, "compose.yaml", &root, &err) < 0) {
                if (!err.msg || !startswith(err.msg, "compose.yaml"))
                        abort();
                return 0;
        }

        struct stack_kvlist env = {0};
        stack_kvlist_set(&env, "TAG", "1.25");
        stack_kvlist_set(&env, "PORT", "8080");
        stack_kvlist_set(&env, "EMPTY", "");
        int r = interpolate_node(root, &env, &err);
        if (r < 0) {
                expect_located(&err);
                stack_kvlist_free(&env);
                return 0;
        }
        drop_env_files(root);

        struct spec_parse_context ctx = {
            .project_name = "fuzz",
            .working_dir = "/nonexistent/fuzz",
            .environment = &env,
        };
        struct stack_project *p = NULL;
        r = spec_parse_project(root, &ctx, &p, &err);
        if (r < 0) {
                expect_located(&err);
        } else {
                struct graph *g = NULL;
                if (graph_build(p, &g, &err) == 0) {
                        _cleanup_free_ char *f = graph_format(g);
                        _cleanup_strv_free_ char **order = graph_start_order(g);
                        if (strv_length(order) != p->n_services)
                                abort(); /* every service is started exactly once */
                        graph_free(g);
                } else {
                        expect_located(&err);
                }
                stack_project_free(p);
        }
        stack_kvlist_free(&env);
        return 0;
}
