/* The project level of the model: top-level resources, names, cross-references, x-stack, validation and
 * the location of errors. Service keys are in test-parse-service.c. */
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/model.h"
#include "tests/unit/spec-test.h"
#include "tests/unit/tap.h"

static void test_minimal(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model("services:\n"
                                                               "  web:\n"
                                                               "    image: nginx\n"
                                                               "  db:\n"
                                                               "    image: postgres\n",
                                                               &err);
        if (!ok(p != NULL, "minimal file loads"))
                return diag("%s", err.msg);
        is_str(p->name, "demo", "project name from the context");
        is_str(p->working_dir, TEST_DIR, "working dir");
        is_int(p->n_services, 2, "two services");
        is_str(p->services[0].name, "db", "services sorted by name");
        is_str(p->services[1].image, "nginx", "image");
        is_int(p->services[1].scale, 1, "scale defaults to 1");
        is_int(p->n_networks, 1, "implicit default network");
        is_str(p->networks[0].key, "default", "its key");
        is_str(p->networks[0].name, "demo_default", "named <project>_default");
        ok(p->networks[0].implicit, "marked implicit");
        is_int(p->services[0].n_networks, 1, "service attached to default");
        is_str(p->services[0].networks[0].name, "default", "by key");
        is_int(p->settings.max_orphans, -1, "max_orphans unset");
        ok(stack_project_service(p, "web") == &p->services[1], "lookup service");
        ok(stack_project_service(p, "nope") == NULL, "lookup missing service");
        ok(stack_project_network(p, "default") != NULL, "lookup network");
}

static void test_networks(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p =
            load_model("services:\n"
                       "  web:\n"
                       "    image: nginx\n"
                       "    networks: [front]\n"
                       "networks:\n"
                       "  front:\n"
                       "    driver: bridge\n"
                       "    internal: true\n"
                       "    attachable: yes\n"
                       "    enable_ipv6: true\n"
                       "    labels: [a=1, b]\n"
                       "    driver_opts: {com.docker.network.bridge.name: br-front}\n"
                       "    ipam:\n"
                       "      driver: default\n"
                       "      config:\n"
                       "        - subnet: 172.28.0.0/16\n"
                       "          ip_range: 172.28.5.0/24\n"
                       "          gateway: 172.28.5.254\n"
                       "          aux_addresses: {host1: 172.28.1.5}\n"
                       "        - subnet: fd00:1::/64\n"
                       "      options: {foo: bar}\n"
                       "  outside:\n"
                       "    external: true\n"
                       "  named:\n"
                       "    name: custom-name\n"
                       "  empty:\n",
                       &err);
        if (!ok(p != NULL, "networks load"))
                return diag("%s", err.msg);
        is_int(p->n_networks, 4, "four networks, no implicit default (nobody uses it)");
        const struct stack_network *f = stack_project_network(p, "front");
        if (!ok(f != NULL, "front"))
                return;
        is_str(f->name, "demo_front", "<project>_<key>");
        ok(f->internal && f->attachable && f->enable_ipv6 && f->enable_ipv4, "booleans");
        is_int(f->labels.n, 2, "labels");
        is_str(stack_kvlist_get(&f->labels, "b")->value, "", "bare label is empty");
        is_str(stack_kvlist_get(&f->driver_opts, "com.docker.network.bridge.name")->value, "br-front",
               "driver_opts");
        is_str(f->ipam_driver, "default", "ipam driver");
        is_int(f->n_ipam, 2, "two ipam configs");
        is_str(f->ipam[0].subnet, "172.28.0.0/16", "subnet");
        is_str(f->ipam[0].ip_range, "172.28.5.0/24", "ip_range");
        is_str(f->ipam[0].gateway, "172.28.5.254", "gateway");
        is_str(stack_kvlist_get(&f->ipam[0].aux_addresses, "host1")->value, "172.28.1.5", "aux address");
        is_str(f->ipam[1].subnet, "fd00:1::/64", "IPv6 subnet");
        is_str(stack_kvlist_get(&f->ipam_options, "foo")->value, "bar", "ipam options");
        const struct stack_network *o = stack_project_network(p, "outside");
        ok(o && o->external && streq(o->name, "outside"), "external keeps its key as name");
        is_str(stack_project_network(p, "named")->name, "custom-name", "name: wins");
        is_str(stack_project_network(p, "empty")->name, "demo_empty", "null network gets defaults");
        is_str(p->networks[0].key, "empty", "networks sorted by key");
}

static void test_network_errors(void)
{
        _cleanup_free_ char *e1 = load_error("services: {web: {image: x}}\n"
                                             "networks:\n"
                                             "  n:\n"
                                             "    driver: overlay\n");
        contains(e1, "compose.yaml:4:13: networks.n.driver: network driver \"overlay\" is not supported",
                 "driver");
        _cleanup_free_ char *e2 = load_error("services: {web: {image: x}}\n"
                                             "networks:\n"
                                             "  n:\n"
                                             "    ipam:\n"
                                             "      config:\n"
                                             "        - subnet: 10.0.0.0/33\n");
        contains(e2, "networks.n.ipam.config[0].subnet: invalid subnet \"10.0.0.0/33\"", "subnet");
        _cleanup_free_ char *e3 = load_error("services: {web: {image: x}}\n"
                                             "networks:\n"
                                             "  n:\n"
                                             "    external: true\n"
                                             "    driver: bridge\n");
        contains(e3, "conflicting parameters \"external\" and \"driver\"", "external conflicts");
        _cleanup_free_ char *e4 = load_error("services: {web: {image: x}}\n"
                                             "networks:\n"
                                             "  n:\n"
                                             "    colour: blue\n");
        contains(e4, "compose.yaml:4:5: networks.n: additional property \"colour\" is not allowed",
                 "unknown key");
        _cleanup_free_ char *e5 = load_error("services:\n"
                                             "  web:\n"
                                             "    image: x\n"
                                             "    networks: [back]\n");
        contains(e5, "compose.yaml:4:16: services.web.networks[0]: undefined network \"back\"",
                 "undeclared network");
}

static void test_volumes_top(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p =
            load_model("services:\n"
                       "  db:\n"
                       "    image: postgres\n"
                       "    volumes: [data:/var/lib/postgresql]\n"
                       "volumes:\n"
                       "  data:\n"
                       "    driver: local\n"
                       "    driver_opts: {type: tmpfs, device: tmpfs}\n"
                       "    labels: {x: y}\n"
                       "  shared:\n"
                       "    external: true\n"
                       "    name: real-shared\n"
                       "  cache:\n"
                       "  unnamed:\n"
                       "    name: \"\"\n",
                       &err);
        if (!ok(p != NULL, "volumes load"))
                return diag("%s", err.msg);
        is_int(p->n_volumes, 4, "four volumes");
        is_str(stack_project_volume(p, "unnamed")->name, "demo_unnamed", "an empty name: is no name");
        is_str(p->volumes[0].key, "cache", "sorted");
        is_str(stack_project_volume(p, "data")->name, "demo_data", "<project>_<key>");
        is_str(stack_kvlist_get(&stack_project_volume(p, "data")->driver_opts, "type")->value, "tmpfs",
               "driver_opts");
        is_str(stack_project_volume(p, "shared")->name, "real-shared", "external with name");
        _cleanup_free_ char *e = load_error("services: {web: {image: x}}\n"
                                            "volumes:\n"
                                            "  v:\n"
                                            "    driver: nfs\n");
        contains(e, "volumes.v.driver: volume driver \"nfs\" is not supported", "only local volumes");
        _cleanup_free_ char *e3 = load_error("services: {web: {image: x}}\n"
                                             "volumes:\n"
                                             "  v:\n"
                                             "    name: ../../etc\n");
        contains(e3, "compose.yaml:4:5: volumes.v: invalid volume name \"../../etc\"",
                 "volume names are file names");
        _cleanup_free_ char *e2 = load_error("services:\n"
                                             "  web:\n"
                                             "    image: x\n"
                                             "    volumes:\n"
                                             "      - data:/data\n");
        contains(e2, "compose.yaml:5:9: services.web.volumes[0]: undefined volume \"data\"",
                 "undeclared volume");
}

static void test_secrets_configs(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model("services:\n"
                                                               "  web:\n"
                                                               "    image: nginx\n"
                                                               "    secrets:\n"
                                                               "      - token\n"
                                                               "      - source: cert\n"
                                                               "        target: server.crt\n"
                                                               "        uid: '101'\n"
                                                               "        mode: 0440\n"
                                                               "    configs:\n"
                                                               "      - nginx_conf\n"
                                                               "      - source: inline\n"
                                                               "        target: /etc/inline.txt\n"
                                                               "        mode: 292\n"
                                                               "secrets:\n"
                                                               "  token:\n"
                                                               "    file: ./secrets/token.txt\n"
                                                               "  cert:\n"
                                                               "    environment: CERT\n"
                                                               "configs:\n"
                                                               "  nginx_conf:\n"
                                                               "    file: /etc/nginx.conf\n"
                                                               "  inline:\n"
                                                               "    content: hello\n"
                                                               "  ext:\n"
                                                               "    external: true\n",
                                                               &err);
        if (!ok(p != NULL, "secrets and configs load"))
                return diag("%s", err.msg);
        is_int(p->n_secrets, 2, "two secrets");
        is_str(p->secrets[1].file, TEST_DIR "/secrets/token.txt", "relative file resolved");
        is_str(p->secrets[1].name, "demo_token", "secret name");
        is_str(p->secrets[0].environment, "CERT", "environment source");
        is_int(p->n_configs, 3, "three configs");
        is_str(stack_project_config(p, "inline")->content, "hello", "content");
        ok(stack_project_config(p, "ext")->external, "external config");
        const struct stack_service *s = stack_project_service(p, "web");
        is_int(s->n_secrets, 2, "service secrets");
        is_str(s->secrets[0].target, "/run/secrets/token", "short secret target defaults");
        is_str(s->secrets[1].target, "/run/secrets/server.crt", "relative secret target under /run/secrets");
        is_str(s->secrets[1].uid, "101", "uid");
        is_int(s->secrets[1].mode, 0440, "octal mode");
        is_int(s->secrets[0].mode, -1, "mode unset");
        is_str(s->configs[0].target, "/nginx_conf", "config default target");
        is_int(s->configs[1].mode, 292, "decimal mode");

        _cleanup_free_ char *e = load_error("services:\n"
                                            "  web:\n"
                                            "    image: x\n"
                                            "    secrets: [nope]\n");
        contains(e, "services.web.secrets[0]: undefined secret \"nope\"", "undeclared secret");
        _cleanup_free_ char *e2 = load_error("services: {web: {image: x}}\n"
                                             "secrets:\n"
                                             "  s:\n"
                                             "    file: a\n"
                                             "    environment: B\n");
        contains(e2, "secrets.s: exactly one of file, environment or external must be set", "one source");
        _cleanup_free_ char *e3 = load_error("services: {web: {image: x}}\n"
                                             "secrets:\n"
                                             "  s:\n"
                                             "    content: a\n");
        contains(e3, "additional property \"content\"", "secrets have no content");
        _cleanup_free_ char *e4 = load_error("services:\n"
                                             "  web:\n"
                                             "    image: x\n"
                                             "    configs: [nope]\n");
        contains(e4, "undefined config \"nope\"", "undeclared config");
}

static void test_x_stack(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model("x-stack:\n"
                                                               "  max_orphans: 3\n"
                                                               "x-common: &c\n"
                                                               "  foo: 1\n"
                                                               "services:\n"
                                                               "  web:\n"
                                                               "    image: x\n"
                                                               "    x-note: hello\n",
                                                               &err);
        if (!ok(p != NULL, "x-stack loads"))
                return diag("%s", err.msg);
        is_int(p->settings.max_orphans, 3, "max_orphans");
        ok(node_get(p->extensions, "x-common") != NULL, "top-level x- kept");
        ok(node_get(p->extensions, "x-stack") == NULL, "x-stack is settings, not an extension");
        is_str(node_str(node_get(p->services[0].extensions, "x-note")), "hello", "service x- kept");
        _cleanup_free_ char *e1 = load_error("x-stack:\n  max_orphan: 3\nservices: {web: {image: x}}\n");
        contains(e1, "compose.yaml:2:3: x-stack: unknown setting \"max_orphan\"",
                 "typo in x-stack is an error");
        _cleanup_free_ char *e2 = load_error("x-stack:\n  max_orphans: -1\nservices: {web: {image: x}}\n");
        contains(e2, "compose.yaml:2:16: x-stack.max_orphans: -1 is out of range", "negative max_orphans");
        _cleanup_free_ char *e3 = load_error("x-stack:\n  max_orphans: many\nservices: {web: {image: x}}\n");
        contains(e3, "x-stack.max_orphans: invalid integer \"many\"", "non-integer");
        _cleanup_free_ char *e4 = load_error("x-stack:\n  x-later: 1\nservices: {web: {image: x}}\n");
        contains(e4, "unknown setting \"x-later\"", "even x- keys inside x-stack");
}

static void test_top_level(void)
{
        _cleanup_free_ char *e = load_error("services: {web: {image: x}}\nservice: {}\n");
        contains(e, "compose.yaml:2:1: additional property \"service\" is not allowed",
                 "unknown top-level key");
        struct stderr_capture cap;
        stderr_capture_begin(&cap);
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model(
            "version: '3.8'\nname: other\nservices: {web: {image: x}}\nmodels: {m: {model: ai/x}}\n", &err);
        _cleanup_free_ char *out = stderr_capture_end(&cap);
        ok(p != NULL, "version and models accepted");
        contains(out, "compose.yaml:1:1: version: the attribute `version` is obsolete",
                 "version warns obsolete");
        contains(out, "models: not supported by stack yet, ignored", "models is tier C");
        is_str(p ? p->name : NULL, "demo", "the loader's project name wins over name:");
        _cleanup_free_ char *e2 = load_error("services:\n  'we b': {image: x}\n");
        contains(e2, "invalid service name \"we b\"", "service name validated");
        _cleanup_free_ char *e3 = load_error("- a\n- b\n");
        contains(e3, "must be a mapping", "root must be a mapping");
}

static void test_container_names(void)
{
        _cleanup_free_ char *e = load_error("services:\n"
                                            "  a: {image: x, container_name: same}\n"
                                            "  b: {image: x, container_name: same}\n");
        contains(e, "container_name \"same\" is already used by service \"a\"", "unique container names");
        _cleanup_free_ char *e2 = load_error("services:\n"
                                             "  a:\n"
                                             "    image: x\n"
                                             "    container_name: one\n"
                                             "    scale: 2\n");
        contains(e2, "compose.yaml:2:3: services.a: container_name \"one\" must be unique",
                 "container_name + scale");
}

static void test_depends_on_undefined(void)
{
        _cleanup_free_ char *e = load_error("services:\n"
                                            "  a:\n"
                                            "    image: x\n"
                                            "    depends_on: [ghost]\n");
        contains(e, "compose.yaml:4:18: services.a: depends on undefined service \"ghost\"",
                 "undefined dependency");
        _cleanup_free_ char *e2 = load_error("services:\n"
                                             "  a:\n"
                                             "    image: x\n"
                                             "    links: [ghost:g]\n");
        contains(e2, "depends on undefined service \"ghost\"", "links imply a dependency that must exist");
}

static void test_tier_c_once(void)
{
        struct stderr_capture cap;
        stderr_capture_begin(&cap);
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model("services:\n"
                                                               "  web:\n"
                                                               "    image: x\n"
                                                               "    cpu_quota: 50000\n"
                                                               "    deploy:\n"
                                                               "      placement: {constraints: []}\n"
                                                               "  db:\n"
                                                               "    image: y\n"
                                                               "    cpu_quota: 1000\n",
                                                               &err);
        _cleanup_free_ char *out = stderr_capture_end(&cap);
        ok(p != NULL, "tier C keys are accepted");
        contains(out, "compose.yaml:4:5: services.web.cpu_quota: not supported by stack yet, ignored",
                 "tier C warning names the key");
        is_int(count_substr(out, "cpu_quota"), 1, "one warning per key name per load");
        contains(out, "services.web.deploy.placement: not supported by stack yet, ignored", "deploy subkey");
}

int main(void)
{
        test_env_init();
        test_minimal();
        test_networks();
        test_network_errors();
        test_volumes_top();
        test_secrets_configs();
        test_x_stack();
        test_top_level();
        test_container_names();
        test_depends_on_undefined();
        test_tier_c_once();
        stack_kvlist_free(&test_env);
        return done_testing();
}
