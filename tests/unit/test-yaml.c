/* The YAML loader: marks, anchors and aliases, merge keys, tags, quoting, and the errors. */
#include <inttypes.h>
#include <time.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/yaml.h"
#include "tests/unit/tap.h"

static struct node *parse(const char *text, struct stack_error *err)
{
        struct node *n = NULL;
        if (spec_yaml_parse(text, strlen(text), "compose.yaml", &n, err) < 0)
                return NULL;
        return n;
}

static void test_marks(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *root = parse("services:\n"
                                                 "  web:\n"
                                                 "    image: nginx\n"
                                                 "    ports:\n"
                                                 "      - \"80:80\"\n"
                                                 "      - 443\n",
                                                 &err);
        ok(root != NULL, "a small file parses");
        if (!root)
                return;
        is_int(root->kind, NODE_MAPPING, "the root is a mapping");
        const struct node_pair *web = node_get_pair(node_get(root, "services"), "web");
        is_int(web->key_mark.line, 2, "key mark line is 1-based");
        is_int(web->key_mark.column, 3, "key mark column is 1-based");
        const struct node *image = node_get(web->value, "image");
        is_str(node_str(image), "nginx", "scalar value");
        is_int(image->mark.line, 3, "value mark line");
        is_int(image->mark.column, 12, "value mark column");
        is_str(image->mark.file, "compose.yaml", "mark names the file");
        const struct node *ports = node_get(web->value, "ports");
        is_int(ports->n_items, 2, "sequence items");
        ok(ports->items[0]->quoted, "a double-quoted scalar is flagged quoted");
        ok(!ports->items[1]->quoted, "a plain scalar is not");
        is_int(ports->items[1]->mark.line, 6, "item mark line");
        is_int(ports->items[1]->mark.column, 9, "item mark column");
}

static void test_scalars(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *root = parse("a:\n"
                                                 "b: ~\n"
                                                 "c: null\n"
                                                 "d: 'null'\n"
                                                 "e: !!str yes\n"
                                                 "f: |\n"
                                                 "  line1\n"
                                                 "  line2\n"
                                                 "g: yes\n",
                                                 &err);
        ok(root != NULL, "scalars parse");
        if (!root)
                return;
        is_int(node_get(root, "a")->kind, NODE_NULL, "an empty value is null");
        is_int(node_get(root, "b")->kind, NODE_NULL, "~ is null");
        is_int(node_get(root, "c")->kind, NODE_NULL, "null is null");
        is_int(node_get(root, "d")->kind, NODE_SCALAR, "'null' is a string");
        ok(node_get(root, "e")->quoted, "!!str makes a scalar a string");
        is_str(node_str(node_get(root, "f")), "line1\nline2\n", "literal block scalar");
        ok(node_get(root, "f")->quoted, "a block scalar is a string");
        ok(!node_get(root, "g")->quoted, "a plain yes stays plain (the model decides what it means)");
}

static void test_anchors(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *root = parse("x-common: &common\n"
                                                 "  image: busybox\n"
                                                 "  environment: &env\n"
                                                 "    A: \"1\"\n"
                                                 "services:\n"
                                                 "  a: *common\n"
                                                 "  b:\n"
                                                 "    <<: *common\n"
                                                 "    image: alpine\n"
                                                 "  c:\n"
                                                 "    environment: *env\n",
                                                 &err);
        ok(root != NULL, "anchors parse");
        if (!root)
                return;
        const struct node *services = node_get(root, "services");
        const struct node *a = node_get(services, "a");
        is_str(node_str(node_get(a, "image")), "busybox", "an alias copies the anchored mapping");
        ok(a != node_get(root, "x-common"), "the alias is a deep copy, not shared");
        const struct node *b = node_get(services, "b");
        is_str(node_str(node_get(b, "image")), "alpine", "an explicit key wins over the merge key");
        is_str(node_str(node_get(node_get(b, "environment"), "A")), "1", "merged keys are added");
        ok(node_get(b, "<<") == NULL, "the merge key itself is gone");
        is_str(node_str(node_get(node_get(node_get(services, "c"), "environment"), "A")), "1",
               "an alias to a nested anchor");
        is_int(node_get(node_get(services, "c"), "environment")->mark.line, 3,
               "an alias keeps the anchor's marks");
}

static void test_merge_list(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *root = parse("base1: &b1 {a: 1, b: 1}\n"
                                                 "base2: &b2 {b: 2, c: 2}\n"
                                                 "m:\n"
                                                 "  c: 3\n"
                                                 "  <<: [*b1, *b2]\n",
                                                 &err);
        ok(root != NULL, "a list of merge sources parses");
        if (!root)
                return;
        const struct node *m = node_get(root, "m");
        is_str(node_str(node_get(m, "a")), "1", "key from the first source");
        is_str(node_str(node_get(m, "b")), "1", "the first source wins over the second");
        is_str(node_str(node_get(m, "c")), "3", "the explicit key wins even when written before <<");
        is_int(m->n_pairs, 3, "no extra keys");
}

static void test_tags(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *root = parse("services:\n"
                                                 "  web:\n"
                                                 "    ports: !reset []\n"
                                                 "    environment: !override\n"
                                                 "      A: b\n"
                                                 "    command: !reset null\n",
                                                 &err);
        ok(root != NULL, "tags parse");
        if (!root)
                return;
        const struct node *web = node_get(node_get(root, "services"), "web");
        is_int(node_get(web, "ports")->tag, NODE_TAG_RESET, "!reset is recorded");
        is_int(node_get(web, "environment")->tag, NODE_TAG_OVERRIDE, "!override is recorded");
        is_int(node_get(web, "environment")->kind, NODE_MAPPING, "the tagged value keeps its kind");
        is_int(node_get(web, "command")->tag, NODE_TAG_RESET, "!reset on null");
        is_int(node_get(web, "command")->kind, NODE_NULL, "!reset null is null");
}

static void test_errors(void)
{
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_node_ struct node *root =
                    parse("services:\n  web:\n    image: a\n    image: b\n", &err);
                ok(root == NULL, "a duplicate key is an error");
                contains(err.msg, "compose.yaml:4:5: ", "the error points at the second key");
                contains(err.msg, "duplicate key \"image\"", "and names it");
                contains(err.msg, "line 3", "and says where the first one is");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_node_ struct node *root =
                    parse("services:\n  web:\n    image: a\n   bad: [\n", &err);
                ok(root == NULL, "a syntax error is an error");
                contains(err.msg, "compose.yaml:4:4: ", "located where the parser gave up");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_node_ struct node *root = parse("a: 1\nb: c: d\n", &err);
                ok(root == NULL, "mapping values in the wrong place are an error");
                contains(err.msg, "compose.yaml:2:5: ", "located at line 2 column 5");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_node_ struct node *root = parse("a: 1\n---\nb: 2\n", &err);
                ok(root == NULL, "two documents are an error");
                contains(err.msg, "compose.yaml:2:1: multiple YAML documents",
                         "located at the second document");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_node_ struct node *root = parse("a: *nope\n", &err);
                ok(root == NULL, "an unknown alias is an error");
                contains(err.msg, "compose.yaml:1:4: unknown anchor 'nope'", "located and named");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_node_ struct node *root = parse("a: &x [1, *x]\n", &err);
                ok(root == NULL, "an alias to an anchor still being defined is an error (no cycles)");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_node_ struct node *root = parse("? [a, b]\n: c\n", &err);
                ok(root == NULL, "a non-scalar key is an error");
                contains(err.msg, "mapping keys must be strings", "with a clear message");
        }
        {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_node_ struct node *root = parse("m:\n  <<: 3\n", &err);
                ok(root == NULL, "a merge key with a scalar is an error");
                contains(err.msg, "compose.yaml:2:3: merge key", "located at the merge key");
        }
}

static void test_empty(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_node_ struct node *root = parse("", &err);
        ok(root && root->kind == NODE_NULL, "an empty file is a null document");
        _cleanup_node_ struct node *comment = parse("# nothing\n", &err);
        ok(comment && comment->kind == NODE_NULL, "a comment-only file is a null document");
}

static void test_alias_bomb(void)
{
        _cleanup_error_ struct stack_error err = {0};
        const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                           "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                           "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                           "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                           "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                           "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                           "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                           "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
        _cleanup_node_ struct node *root = parse(bomb, &err);
        ok(root == NULL, "a billion-laughs document is refused");
        contains(err.msg, "document too large", "with a clear message");

        _cleanup_free_ char *deep = NULL;
        struct strbuf b = {0};
        for (int i = 0; i < 1000; i++)
                strbuf_puts(&b, "[");
        deep = strbuf_take(&b);
        _cleanup_error_ struct stack_error err2 = {0};
        _cleanup_node_ struct node *d = parse(deep, &err2);
        ok(d == NULL, "absurd nesting is refused without exhausting the stack");
}

/* The CPU time (not the wall clock: the machine may be busy) of parsing an n-key mapping with a duplicate
 * at the end, the best of three runs. */
static uint64_t mapping_cpu_usec(int n, struct stack_error *err)
{
        struct strbuf b = {0};
        for (int i = 0; i < n; i++)
                strbuf_printf(&b, "k%d: v\n", i);
        strbuf_puts(&b, "k17: again\n");
        _cleanup_free_ char *text = strbuf_take(&b);
        uint64_t best = UINT64_MAX;
        for (int run = 0; run < 3; run++) {
                struct timespec a, z;
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
                stack_error_clear(err);
                _cleanup_node_ struct node *root = parse(text, err);
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &z);
                uint64_t usec =
                    (uint64_t) (z.tv_sec - a.tv_sec) * 1000000 + (uint64_t) (z.tv_nsec - a.tv_nsec) / 1000;
                if (usec < best)
                        best = usec;
                if (root)
                        return 0;
        }
        return best;
}

static void test_large_mapping(void)
{
        _cleanup_error_ struct stack_error err = {0};
        uint64_t big = mapping_cpu_usec(50000, &err);
        ok(big > 0, "a duplicate key at the end of a 50 000-key mapping is found");
        contains(err.msg, "compose.yaml:50001:1: duplicate key \"k17\" (first defined at line 18)",
                 "and located");
        /* Four times the keys: about four times the work when linear, sixteen when quadratic (as the first
         * version was). Both runs are this process's own CPU time, so other work on the machine does not
         * count; the +2 ms absorbs the timer's granularity. */
        _cleanup_error_ struct stack_error err2 = {0};
        uint64_t small = mapping_cpu_usec(12500, &err2);
        diag("12 500 keys: %" PRIu64 " us, 50 000 keys: %" PRIu64 " us", small, big);
        ok(big < 8 * small + 2000, "in linear time, not quadratic");
}

static void test_read_file(void)
{
        _cleanup_error_ struct stack_error err = {0};
        struct node *n = NULL;
        int r = spec_yaml_read_file("/nonexistent/compose.yaml", NULL, 0, &n, &err);
        ok(r < 0, "a missing file is an error");
        contains(err.msg, "/nonexistent/compose.yaml", "naming the file");
}

int main(void)
{
        test_marks();
        test_scalars();
        test_anchors();
        test_merge_list();
        test_tags();
        test_errors();
        test_empty();
        test_alias_bomb();
        test_large_mapping();
        test_read_file();
        return done_testing();
}
