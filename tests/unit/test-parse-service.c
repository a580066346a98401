/* Every service key in its short and long syntax, normalized to one form, and its errors. */
#include <sys/stat.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/base/json.h"
#include "spec/model.h"
#include "spec/print.h"
#include "tests/unit/spec-test.h"
#include "tests/unit/tap.h"

/* Loads "services:\n  web:\n    image: img\n" followed by `body` (already indented by 4). */
static struct stack_project *load_web(const char *body, struct stack_error *err)
{
        _cleanup_free_ char *yaml = xasprintf("services:\n  web:\n    image: img\n%s", body);
        return load_model(yaml, err);
}

static char *web_error(const char *body)
{
        _cleanup_free_ char *yaml = xasprintf("services:\n  web:\n    image: img\n%s", body);
        return load_error(yaml);
}

#define LOAD_WEB(body)                                                      \
        _cleanup_error_ struct stack_error err = {0};                       \
        _cleanup_project_ struct stack_project *p = load_web((body), &err); \
        if (!ok(p != NULL, "loads: %s", __func__)) {                        \
                diag("%s", err.msg);                                        \
                return;                                                     \
        }                                                                   \
        const struct stack_service *s = &p->services[0];

static void test_ports_short(void)
{
        LOAD_WEB("    ports:\n"
                 "      - \"3000\"\n"
                 "      - 8080:80\n"
                 "      - 127.0.0.1:8081:81\n"
                 "      - 127.0.0.1::82\n"
                 "      - 9090-9091:8080-8081\n"
                 "      - 6060:6060/udp\n"
                 "      - \"[::1]:6001:6001\"\n"
                 "      - \"::1:6002:6002\"\n"
                 "      - 49100-49110:22\n"
                 "      - 53\n"
                 "      - 7000/sctp\n");
        if (!is_int(s->n_ports, 12, "ranges expanded to one entry per port"))
                return;
        struct stack_port *x = s->ports;
        ok(x[0].target == 3000 && x[0].published_start == 0 && !x[0].host_ip, "bare port: random host port");
        ok(x[1].target == 80 && x[1].published_start == 8080 && x[1].published_end == 8080,
           "HOST:CONTAINER");
        is_str(x[1].mode, "ingress", "mode defaults to ingress");
        ok(x[1].protocol == STACK_PROTO_TCP, "tcp by default");
        is_str(x[2].host_ip, "127.0.0.1", "IPv4 host ip");
        ok(x[3].target == 82 && x[3].published_start == 0 && streq_ptr(x[3].host_ip, "127.0.0.1"),
           "IP with empty host port");
        ok(x[4].target == 8080 && x[4].published_start == 9090 && x[5].target == 8081 &&
               x[5].published_start == 9091 && x[5].published_end == 9091,
           "matched ranges pair up");
        ok(x[6].protocol == STACK_PROTO_UDP && x[6].target == 6060, "udp");
        is_str(x[7].host_ip, "::1", "bracketed IPv6 host ip");
        is_int(x[7].published_start, 6001, "bracketed IPv6 host port");
        is_str(x[8].host_ip, "::1", "unbracketed IPv6 host ip");
        is_int(x[8].target, 6002, "unbracketed IPv6 container port");
        ok(x[9].target == 22 && x[9].published_start == 49100 && x[9].published_end == 49110,
           "host range for one container port: any free port in it");
        ok(x[10].target == 53 && x[10].published_start == 0, "number item");
        ok(x[11].protocol == STACK_PROTO_SCTP, "sctp");
        is_int(x[0].mark.line, 5, "ports keep their line");
}

static void test_ports_long(void)
{
        LOAD_WEB("    ports:\n"
                 "      - target: 80\n"
                 "        published: \"8080\"\n"
                 "        host_ip: 127.0.0.1\n"
                 "        protocol: UDP\n"
                 "        mode: host\n"
                 "        name: web\n"
                 "        app_protocol: http\n"
                 "      - target: 443\n"
                 "        published: 8443-8450\n"
                 "      - target: 22\n");
        if (!is_int(s->n_ports, 3, "three long ports"))
                return;
        ok(s->ports[0].target == 80 && s->ports[0].published_start == 8080, "target and published");
        ok(s->ports[0].protocol == STACK_PROTO_UDP, "protocol is case-insensitive");
        is_str(s->ports[0].mode, "host", "mode");
        is_str(s->ports[0].name, "web", "name");
        is_str(s->ports[0].app_protocol, "http", "app_protocol");
        ok(s->ports[1].published_start == 8443 && s->ports[1].published_end == 8450, "published range");
        ok(s->ports[2].published_start == 0, "no published: random");
}

static void test_port_errors(void)
{
        _cleanup_free_ char *e1 = web_error("    ports:\n"
                                            "      - 80:80\n"
                                            "      - 8000-8002:80-81\n");
        is_str(e1,
               "compose.yaml:6:9: services.web.ports[1]: invalid port range \"8000-8002:80-81\": the host "
               "range "
               "and the container range differ in length",
               "mismatched ranges, located");
        _cleanup_free_ char *e2 = web_error("    ports: [\"abc:80\"]\n");
        contains(e2, "services.web.ports[0]: invalid host port \"abc\"", "bad host port");
        _cleanup_free_ char *e3 = web_error("    ports: [\"80:70000\"]\n");
        contains(e3, "invalid container port \"70000\"", "port out of range");
        _cleanup_free_ char *e4 = web_error("    ports: [\"1.2.3:80:80\"]\n");
        contains(e4, "invalid IP address \"1.2.3\"", "bad IP");
        _cleanup_free_ char *e5 = web_error("    ports: [\"80/icmp\"]\n");
        contains(e5, "invalid protocol \"icmp\"", "bad protocol");
        _cleanup_free_ char *e6 = web_error("    ports:\n      - published: 80\n");
        contains(e6, "services.web.ports[0]: target is required", "long syntax needs target");
        _cleanup_free_ char *e7 = web_error("    ports:\n      - target: 80\n        bogus: 1\n");
        contains(e7, "compose.yaml:6:9: services.web.ports[0]: additional property \"bogus\"",
                 "unknown long key");
        _cleanup_free_ char *e8 = web_error("    ports: [\"90-80:80\"]\n");
        contains(e8, "invalid host port \"90-80\"", "reversed range");
}

static void test_expose(void)
{
        LOAD_WEB("    expose: [\"3000\", 8000-8001, \"53/udp\", 9000]\n");
        is_int(s->n_expose, 5, "expose expanded");
        ok(s->expose[0].target == 3000 && s->expose[2].target == 8001, "values");
        ok(s->expose[3].protocol == STACK_PROTO_UDP, "protocol");
}

static void test_volumes(void)
{
        LOAD_WEB("    volumes:\n"
                 "      - ./data:/data\n"
                 "      - /etc/hosts:/etc/hosts:ro\n"
                 "      - ~/cache:/cache:rw,z\n"
                 "      - named:/named:nocopy\n"
                 "      - /anon\n"
                 "      - ../up:/up:rslave,Z\n"
                 "      - type: bind\n"
                 "        source: ./conf\n"
                 "        target: /conf\n"
                 "        read_only: true\n"
                 "      - type: bind\n"
                 "        source: /srv/x\n"
                 "        target: /x\n"
                 "        bind:\n"
                 "          propagation: shared\n"
                 "          selinux: z\n"
                 "      - type: volume\n"
                 "        source: named\n"
                 "        target: /v\n"
                 "        volume: {nocopy: true, subpath: sub}\n"
                 "      - type: tmpfs\n"
                 "        target: /tmp\n"
                 "        tmpfs: {size: 64m, mode: 01777}\n"
                 "      - type: volume\n"
                 "        target: /anon2\n"
                 "volumes:\n"
                 "  named:\n");
        if (!is_int(s->n_volumes, 11, "eleven mounts"))
                return;
        const struct stack_mount *m = s->volumes;
        ok(m[0].type == STACK_MOUNT_BIND && m[0].bind_create_host_path, "short bind creates the host path");
        is_str(m[0].source, TEST_DIR "/data", "relative bind resolved against the project dir");
        is_str(m[0].target, "/data", "target");
        ok(m[1].read_only && streq(m[1].source, "/etc/hosts"), "ro");
        is_str(m[2].source, "/home/user/cache", "~ expanded from HOME");
        ok(!m[2].read_only, "rw");
        is_str(m[2].bind_selinux, "z", "z");
        ok(m[3].type == STACK_MOUNT_VOLUME && streq(m[3].source, "named") && m[3].volume_nocopy,
           "named + nocopy");
        ok(m[4].type == STACK_MOUNT_VOLUME && !m[4].source && streq(m[4].target, "/anon"),
           "anonymous volume");
        is_str(m[5].source, "/srv/up", "../ resolved");
        is_str(m[5].bind_propagation, "rslave", "propagation");
        is_str(m[5].bind_selinux, "Z", "Z");
        ok(m[6].type == STACK_MOUNT_BIND && m[6].read_only && streq(m[6].source, TEST_DIR "/conf"),
           "long bind");
        ok(!m[6].bind_create_host_path, "long bind without bind: does not create the host path");
        ok(m[7].bind_create_host_path, "a bind: block defaults create_host_path to true");
        is_str(m[7].bind_propagation, "shared", "long propagation");
        ok(m[8].volume_nocopy && streq_ptr(m[8].volume_subpath, "sub"), "long volume options");
        ok(m[9].type == STACK_MOUNT_TMPFS && m[9].tmpfs_size == 67108864 && m[9].tmpfs_mode == 01777,
           "tmpfs");
        ok(m[10].type == STACK_MOUNT_VOLUME && !m[10].source, "long anonymous volume");
}

static void test_volume_errors(void)
{
        _cleanup_free_ char *e1 = web_error("    volumes: [\"a:b:c:d\"]\n");
        contains(e1, "too many colons", "too many colons");
        _cleanup_free_ char *e2 = web_error("    volumes: [\"./x:relative\"]\n");
        contains(e2, "the container path must be absolute", "relative target");
        _cleanup_free_ char *e3 = web_error("    volumes:\n      - type: nfs\n        target: /x\n");
        contains(e3, "services.web.volumes[0].type: invalid mount type \"nfs\"", "bad type");
        _cleanup_free_ char *e4 = web_error("    volumes:\n      - source: /x\n        target: /x\n");
        contains(e4, "services.web.volumes[0]: type is required", "type required in long syntax");
        _cleanup_free_ char *e5 =
            web_error("    volumes:\n      - type: tmpfs\n        source: x\n        target: /x\n");
        contains(e5, "a tmpfs mount does not take a source", "tmpfs source");
        _cleanup_free_ char *e6 = web_error("    volumes:\n      - type: bind\n        target: /x\n");
        contains(e6, "a bind mount needs a source", "bind source");
        _cleanup_free_ char *e7 = web_error("    volumes: [\"::/x\"]\n");
        contains(e7, "empty section between colons", "empty section");
        _cleanup_free_ char *e10 =
            web_error("    volumes:\n      - type: volume\n        source: v\n        target: /x\n"
                      "        volume: {subpath: ../../etc}\nvolumes:\n  v:\n");
        contains(e10,
                 "services.web.volumes[0]: subpath \"../../etc\" must be a relative path inside the volume",
                 "subpath cannot leave the volume");
        _cleanup_free_ char *e11 = web_error("    container_name: ../evil\n");
        contains(e11, "invalid container_name \"../evil\"", "container_name is a file name");
        _cleanup_free_ char *e8 = web_error("    volumes:\n      - /a:/data\n      - /b:/data\n");
        is_str(e8,
               "compose.yaml:6:9: services.web.volumes[1]: target /data is already mounted by "
               "services.web.volumes[0]",
               "two mounts on one target");
        _cleanup_free_ char *e9 = web_error("    tmpfs: [/run]\n    volumes: [\"/x:/run\"]\n");
        contains(e9, "services.web.volumes[0]: target /run is already mounted by services.web.tmpfs[0]",
                 "tmpfs and volume on one target");
}

static void test_networks(void)
{
        LOAD_WEB("    networks:\n"
                 "      front:\n"
                 "        aliases: [www, site]\n"
                 "        ipv4_address: 172.20.0.5\n"
                 "        ipv6_address: fd00::5\n"
                 "        priority: 100\n"
                 "        gw_priority: 1\n"
                 "        interface_name: eth7\n"
                 "        mac_address: 02:42:ac:11:00:02\n"
                 "        link_local_ips: [169.254.1.1]\n"
                 "        driver_opts: {a: b}\n"
                 "      back:\n"
                 "networks:\n"
                 "  front:\n"
                 "  back:\n");
        if (!is_int(s->n_networks, 2, "two attachments"))
                return;
        is_str(s->networks[0].name, "back", "sorted by name");
        const struct stack_service_network *f = &s->networks[1];
        is_str(f->aliases[1], "site", "aliases");
        is_str(f->ipv4_address, "172.20.0.5", "ipv4_address");
        is_str(f->ipv6_address, "fd00::5", "ipv6_address");
        ok(f->priority == 100 && f->gw_priority == 1, "priorities");
        is_str(f->interface_name, "eth7", "interface_name");
        is_str(f->mac_address, "02:42:ac:11:00:02", "mac_address");
        is_str(f->link_local_ips[0], "169.254.1.1", "link_local_ips");
        is_str(stack_kvlist_get(&f->driver_opts, "a")->value, "b", "driver_opts");
        ok(!stack_project_network(p, "default"), "no default network when every service names its networks");
}

static void test_network_mode(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model("services:\n"
                                                               "  vpn: {image: v}\n"
                                                               "  app:\n"
                                                               "    image: a\n"
                                                               "    network_mode: service:vpn\n"
                                                               "  host:\n"
                                                               "    image: h\n"
                                                               "    network_mode: host\n",
                                                               &err);
        if (!ok(p != NULL, "network_mode loads"))
                return diag("%s", err.msg);
        const struct stack_service *app = stack_project_service(p, "app");
        is_int(app->n_networks, 0, "network_mode: no network attachments");
        ok(app->n_depends_on == 1 && streq(app->depends_on[0].service, "vpn"),
           "service: implies a dependency");
        is_str(stack_project_service(p, "host")->network_mode, "host", "host");
        _cleanup_free_ char *e = web_error("    network_mode: host\n    networks: [default]\n");
        contains(e, "network_mode and networks cannot be combined", "exclusive");
        _cleanup_free_ char *e2 = web_error("    network_mode: weird\n");
        contains(e2, "invalid network_mode \"weird\"", "bad mode");
        _cleanup_free_ char *e4 = web_error("    network_mode: service:ghost\n");
        contains(e4, "services.web.network_mode: service \"ghost\" not found for network_mode",
                 "unknown service:");
        _cleanup_free_ char *e3 =
            web_error("    networks:\n      default:\n        ipv4_address: fd00::1\n");
        contains(e3, "services.web.networks.default.ipv4_address: invalid IPv4 address", "address family");
}

static void test_depends_on(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p =
            load_model("services:\n"
                       "  a:\n"
                       "    image: x\n"
                       "    depends_on: [b, c]\n"
                       "    links: [d:alias]\n"
                       "  b:\n"
                       "    image: x\n"
                       "    depends_on:\n"
                       "      c:\n"
                       "        condition: service_healthy\n"
                       "        restart: true\n"
                       "      d:\n"
                       "        condition: service_completed_successfully\n"
                       "        required: false\n"
                       "  c: {image: x}\n"
                       "  d: {image: x}\n",
                       &err);
        if (!ok(p != NULL, "depends_on loads"))
                return diag("%s", err.msg);
        const struct stack_service *a = stack_project_service(p, "a"), *b = stack_project_service(p, "b");
        is_int(a->n_depends_on, 3, "list form plus the link");
        ok(a->depends_on[0].condition == STACK_DEP_STARTED && a->depends_on[0].required &&
               !a->depends_on[0].restart,
           "short form: service_started, required");
        is_str(a->depends_on[2].service, "d", "links imply depends_on");
        is_str(a->links[0], "d:alias", "links kept");
        ok(b->depends_on[0].condition == STACK_DEP_HEALTHY && b->depends_on[0].restart, "healthy + restart");
        ok(b->depends_on[1].condition == STACK_DEP_COMPLETED && !b->depends_on[1].required,
           "completed + not required");
        _cleanup_free_ char *e1 =
            load_error("services:\n  a:\n    image: x\n    depends_on:\n      b: {}\n  b: {image: x}\n");
        contains(e1, "services.a.depends_on.b: condition is required", "long form needs a condition");
        _cleanup_free_ char *e2 = load_error("services:\n  a:\n    image: x\n    depends_on:\n"
                                             "      b: {condition: service_ready}\n  b: {image: x}\n");
        contains(e2, "invalid condition \"service_ready\"", "bad condition");
}

static void test_healthcheck(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p =
            load_model("services:\n"
                       "  a:\n"
                       "    image: x\n"
                       "    healthcheck:\n"
                       "      test: curl -f http://localhost\n"
                       "      interval: 1m30s\n"
                       "      timeout: 10s\n"
                       "      retries: 3\n"
                       "      start_period: 40s\n"
                       "      start_interval: 5s\n"
                       "  b:\n"
                       "    image: x\n"
                       "    healthcheck:\n"
                       "      test: [\"CMD\", \"redis-cli\", \"ping\"]\n"
                       "  c:\n"
                       "    image: x\n"
                       "    healthcheck:\n"
                       "      test: [\"CMD-SHELL\", \"pg_isready || exit 1\"]\n"
                       "  d:\n"
                       "    image: x\n"
                       "    healthcheck:\n"
                       "      test: [\"NONE\"]\n"
                       "  e:\n"
                       "    image: x\n"
                       "    healthcheck:\n"
                       "      disable: true\n"
                       "  f:\n"
                       "    image: x\n"
                       "    healthcheck:\n"
                       "      interval: 2s\n",
                       &err);
        if (!ok(p != NULL, "healthchecks load"))
                return diag("%s", err.msg);
        const struct stack_healthcheck *h = &p->services[0].healthcheck;
        ok(h->present && h->kind == STACK_HEALTH_SHELL, "a string test is CMD-SHELL");
        is_str(h->test[0], "curl -f http://localhost", "the string as one shell command");
        is_int(h->interval_usec, 90000000, "interval");
        is_int(h->timeout_usec, 10000000, "timeout");
        is_int(h->retries, 3, "retries");
        is_int(h->start_period_usec, 40000000, "start_period");
        is_int(h->start_interval_usec, 5000000, "start_interval");
        h = &p->services[1].healthcheck;
        ok(h->kind == STACK_HEALTH_CMD && strv_length(h->test) == 2 && streq(h->test[0], "redis-cli"),
           "CMD argv");
        is_int(h->retries, -1, "retries unset");
        is_int(h->interval_usec, -1, "interval unset");
        h = &p->services[2].healthcheck;
        ok(h->kind == STACK_HEALTH_SHELL && streq(h->test[0], "pg_isready || exit 1"), "CMD-SHELL");
        ok(p->services[3].healthcheck.kind == STACK_HEALTH_NONE, "NONE");
        ok(p->services[4].healthcheck.kind == STACK_HEALTH_NONE && p->services[4].healthcheck.disable,
           "disable");
        ok(p->services[5].healthcheck.kind == STACK_HEALTH_UNSET, "no test: the image's");
        _cleanup_free_ char *e1 = web_error("    healthcheck:\n      test: [\"RUN\", \"x\"]\n");
        contains(e1, "services.web.healthcheck.test: the first element must be NONE, CMD or CMD-SHELL",
                 "bad test");
        _cleanup_free_ char *e2 = web_error("    healthcheck:\n      interval: 10\n");
        contains(
            e2,
            "compose.yaml:5:17: services.web.healthcheck.interval: invalid duration \"10\": missing unit",
            "plain number duration");
        {
                _cleanup_error_ struct stack_error e = {0};
                _cleanup_project_ struct stack_project *d =
                    load_web("    healthcheck:\n      test: [CMD, x]\n      disable: true\n", &e);
                ok(d && d->services[0].healthcheck.kind == STACK_HEALTH_NONE &&
                       !d->services[0].healthcheck.test,
                   "disable with a test (an override over a base check): disabled, as docker compose");
        }
        _cleanup_free_ char *e4 = web_error("    healthcheck:\n      retries: -1\n");
        contains(e4, "healthcheck.retries: -1 is out of range", "negative retries");
}

static void test_environment(void)
{
        {
                _cleanup_free_ char *dup =
                    web_error("    environment:\n      - A=1\n      - B=2\n      - A=3\n");
                is_str(dup,
                       "compose.yaml:7:9: services.web.environment[2]: A is already set by "
                       "services.web.environment[0] (line 5)",
                       "a key twice in one environment list is an error, located");
                _cleanup_free_ char *bare = web_error("    environment: [A, A=1]\n");
                contains(bare, "A is already set", "a bare key counts too");
        }
        LOAD_WEB("    environment:\n"
                 "      PLAIN: value\n"
                 "      NUMBER: 8080\n"
                 "      BOOL: true\n"
                 "      FROM_SHELL:\n"
                 "      NOT_IN_SHELL:\n"
                 "      EMPTY: \"\"\n");
        is_int(s->environment.n, 6, "six variables");
        is_str(s->environment.items[0].key, "BOOL", "sorted by key");
        is_str(stack_kvlist_get(&s->environment, "NUMBER")->value, "8080", "numbers as text");
        is_str(stack_kvlist_get(&s->environment, "BOOL")->value, "true", "booleans as text");
        is_str(stack_kvlist_get(&s->environment, "FROM_SHELL")->value, "shell-value",
               "bare key from the environment");
        ok(stack_kvlist_get(&s->environment, "NOT_IN_SHELL") &&
               !stack_kvlist_get(&s->environment, "NOT_IN_SHELL")->value,
           "bare key not in the environment stays unset");
        is_str(stack_kvlist_get(&s->environment, "EMPTY")->value, "", "empty string is set");
}

static void test_environment_list(void)
{
        LOAD_WEB("    environment:\n"
                 "      - A=1\n"
                 "      - B=x=y\n"
                 "      - FROM_SHELL\n"
                 "      - C=\n");
        is_str(stack_kvlist_get(&s->environment, "B")->value, "x=y", "value split on the first =");
        is_str(stack_kvlist_get(&s->environment, "FROM_SHELL")->value, "shell-value", "bare list key");
        is_str(stack_kvlist_get(&s->environment, "C")->value, "", "empty value");
        _cleanup_free_ char *e = web_error("    environment:\n      - =x\n");
        contains(e, "services.web.environment[0]: missing key", "missing key");
}

static void test_env_file(void)
{
        char dir[] = "/tmp/stack-test-envfile-XXXXXX";
        if (!ok(mkdtemp(dir) != NULL, "temp dir"))
                return;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_free_ char *f1 = path_join(dir, "a.env"), *f2 = path_join(dir, "b.env");
        write_file_atomic(f1, "A=from-a\nB=from-a\nC=from-a\n", 27, 0644, &err);
        write_file_atomic(f2, "B=from-b\n", 9, 0644, &err);
        _cleanup_project_ struct stack_project *p = load_model_in("services:\n"
                                                                  "  web:\n"
                                                                  "    image: x\n"
                                                                  "    env_file:\n"
                                                                  "      - a.env\n"
                                                                  "      - path: ./b.env\n"
                                                                  "        required: true\n"
                                                                  "      - path: missing.env\n"
                                                                  "        required: false\n"
                                                                  "    environment:\n"
                                                                  "      C: from-environment\n",
                                                                  dir, &err);
        if (ok(p != NULL, "env_file loads")) {
                const struct stack_service *s = &p->services[0];
                is_str(stack_kvlist_get(&s->environment, "A")->value, "from-a", "value from the first file");
                is_str(stack_kvlist_get(&s->environment, "B")->value, "from-b", "later files win");
                is_str(stack_kvlist_get(&s->environment, "C")->value, "from-environment",
                       "environment wins");
                is_int(strv_length(s->env_files), 2, "files read (the optional missing one is skipped)");
                is_str(s->env_files[0], f1, "absolute path kept");
        } else
                diag("%s", err.msg);
        _cleanup_project_ struct stack_project *p2 = load_model_in("services:\n"
                                                                   "  web:\n"
                                                                   "    image: x\n"
                                                                   "    env_file: a.env\n",
                                                                   dir, &err);
        ok(p2 && streq_ptr(stack_kvlist_get(&p2->services[0].environment, "A")->value, "from-a"),
           "string form");
        stack_error_clear(&err);
        _cleanup_project_ struct stack_project *p3 =
            load_model_in("services:\n  web:\n    image: x\n    env_file: [nope.env]\n", dir, &err);
        ok(!p3, "a missing required env file fails");
        contains(err.msg, "compose.yaml:4:16: services.web.env_file[0]: env file", "located");
        _cleanup_free_ char *f3 = path_join(dir, "raw.env");
        const char *raw = "\xef\xbb\xbfX='{\"k\": \"v\"}'\n  # comment\n\nFROM_SHELL\nNOT_SET\nY=$HOME \r\n";
        write_file_atomic(f3, raw, strlen(raw), 0644, &err);
        _cleanup_project_ struct stack_project *p4 = load_model_in("services:\n"
                                                                   "  web:\n"
                                                                   "    image: x\n"
                                                                   "    env_file:\n"
                                                                   "      - path: raw.env\n"
                                                                   "        format: raw\n",
                                                                   dir, &err);
        if (ok(p4 != NULL, "raw env file loads")) {
                const struct stack_kvlist *env = &p4->services[0].environment;
                is_str(stack_kvlist_get(env, "X")->value, "'{\"k\": \"v\"}'", "raw: quotes kept verbatim");
                is_str(stack_kvlist_get(env, "Y")->value, "$HOME ", "raw: no interpolation, blanks kept");
                is_str(stack_kvlist_get(env, "FROM_SHELL")->value, "shell-value",
                       "raw: bare key from the environment");
                ok(!stack_kvlist_get(env, "NOT_SET"), "raw: bare key not set is left out");
                is_int(env->n, 3, "comments and blank lines skipped");
        } else
                diag("%s", err.msg);
        unlink(f3);
        unlink(f1);
        unlink(f2);
        rmdir(dir);
}

static void test_command(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model("services:\n"
                                                               "  a:\n"
                                                               "    image: x\n"
                                                               "    command: bundle exec 'thin -p 3000'\n"
                                                               "    entrypoint: [\"/bin/sh\", \"-c\"]\n"
                                                               "  b:\n"
                                                               "    image: x\n"
                                                               "    command: \"\"\n"
                                                               "    entrypoint: []\n"
                                                               "  c:\n"
                                                               "    image: x\n",
                                                               &err);
        if (!ok(p != NULL, "commands load"))
                return diag("%s", err.msg);
        const struct stack_service *a = &p->services[0], *b = &p->services[1], *c = &p->services[2];
        ok(a->command_set && strv_length(a->command) == 3 && streq(a->command[2], "thin -p 3000"),
           "string command shell-split");
        ok(a->entrypoint_set && strv_length(a->entrypoint) == 2, "list entrypoint");
        ok(b->command_set && b->command && !b->command[0], "empty string: explicitly empty command");
        ok(b->entrypoint_set && b->entrypoint && !b->entrypoint[0],
           "empty list: explicitly empty entrypoint");
        ok(!c->command_set && !c->command, "unset command");
        _cleanup_free_ char *e = web_error("    command: echo 'unterminated\n");
        contains(e, "services.web.command: invalid command line", "unbalanced quotes");
}

static void test_restart_deploy(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p =
            load_model("services:\n"
                       "  a: {image: x, restart: always}\n"
                       "  b: {image: x, restart: \"on-failure:5\"}\n"
                       "  c: {image: x, restart: unless-stopped}\n"
                       "  d: {image: x, restart: \"no\"}\n"
                       "  e:\n"
                       "    image: x\n"
                       "    restart: always\n"
                       "    deploy:\n"
                       "      mode: replicated\n"
                       "      replicas: 3\n"
                       "      resources:\n"
                       "        limits: {cpus: '0.5', memory: 512m, pids: 100}\n"
                       "      restart_policy:\n"
                       "        condition: on-failure\n"
                       "        delay: 5s\n"
                       "        max_attempts: 2\n"
                       "        window: 120s\n"
                       "  f:\n"
                       "    image: x\n"
                       "    scale: 2\n"
                       "    cpus: 1.5\n"
                       "    mem_limit: 1g\n"
                       "    memswap_limit: -1\n"
                       "    pids_limit: 50\n"
                       "    cpu_shares: 512\n"
                       "    shm_size: 128m\n",
                       &err);
        if (!ok(p != NULL, "restart and deploy load"))
                return diag("%s", err.msg);
        ok(p->services[0].restart.policy == STACK_RESTART_ALWAYS && p->services[0].restart_set, "always");
        ok(p->services[1].restart.policy == STACK_RESTART_ON_FAILURE &&
               p->services[1].restart.max_retries == 5,
           "on-failure:5");
        ok(p->services[2].restart.policy == STACK_RESTART_UNLESS_STOPPED, "unless-stopped");
        ok(p->services[3].restart.policy == STACK_RESTART_NO && p->services[3].restart_set, "no");
        const struct stack_service *e = &p->services[4];
        is_int(e->scale, 3, "deploy.replicas");
        ok(e->resources.cpus == 0.5, "limits.cpus");
        is_int(e->resources.memory, 536870912, "limits.memory");
        is_int(e->resources.pids, 100, "limits.pids");
        ok(e->restart.policy == STACK_RESTART_ON_FAILURE && e->restart.max_retries == 2,
           "restart_policy wins");
        is_int(e->restart.delay_usec, 5000000, "delay");
        is_int(e->restart.window_usec, 120000000, "window");
        const struct stack_service *f = &p->services[5];
        is_int(f->scale, 2, "scale");
        ok(f->resources.cpus == 1.5, "legacy cpus");
        is_int(f->resources.memory, 1073741824, "mem_limit");
        is_int(f->resources.memswap, -1, "memswap_limit -1");
        is_int(f->resources.pids, 50, "pids_limit");
        is_int(f->resources.cpu_shares, 512, "cpu_shares");
        is_int(f->resources.shm_size, 134217728, "shm_size");
        ok(!p->services[0].scale || p->services[0].scale == 1, "default scale");
        ok(!stack_project_service(p, "a")->resources.memory, "memory unset");

        _cleanup_free_ char *e1 = web_error("    restart: sometimes\n");
        contains(e1, "compose.yaml:4:14: services.web.restart: invalid restart policy \"sometimes\"",
                 "bad restart");
        _cleanup_free_ char *e2 = web_error("    scale: 2\n    deploy: {replicas: 3}\n");
        contains(e2, "cannot set distinct values on 'scale' and 'deploy.replicas'", "scale conflict");
        _cleanup_free_ char *e3 =
            web_error("    mem_limit: 1g\n    deploy: {resources: {limits: {memory: 2g}}}\n");
        contains(e3, "cannot set distinct values on 'mem_limit'", "memory conflict");
        _cleanup_free_ char *e4 = web_error("    mem_limit: lots\n");
        contains(e4, "services.web.mem_limit: invalid size \"lots\"", "bad size");
        _cleanup_free_ char *e5 = web_error("    deploy: {restart_policy: {condition: maybe}}\n");
        contains(e5, "invalid condition \"maybe\"", "bad restart condition");
}

static void test_misc_keys(void)
{
        LOAD_WEB("    container_name: web-1\n"
                 "    hostname: h\n"
                 "    domainname: example.com\n"
                 "    user: 1000\n"
                 "    working_dir: /app\n"
                 "    labels: [com.example.a=1, com.example.b]\n"
                 "    cap_add: [NET_ADMIN]\n"
                 "    cap_drop: [ALL]\n"
                 "    security_opt: [no-new-privileges:true]\n"
                 "    privileged: true\n"
                 "    read_only: on\n"
                 "    init: true\n"
                 "    tty: true\n"
                 "    stdin_open: false\n"
                 "    stop_signal: SIGUSR1\n"
                 "    stop_grace_period: 1m\n"
                 "    tmpfs: /run\n"
                 "    sysctls: [net.core.somaxconn=1024]\n"
                 "    ulimits:\n"
                 "      nproc: 65535\n"
                 "      nofile: {soft: 20000, hard: 40000}\n"
                 "    extra_hosts:\n"
                 "      - somehost=162.242.195.82\n"
                 "      - otherhost:50.31.209.229\n"
                 "      - v6host:::1\n"
                 "      - bracket=[::2]\n"
                 "      - gw:host-gateway\n"
                 "    devices: [\"/dev/ttyUSB0:/dev/ttyUSB0\", {source: /dev/sda, permissions: r}, "
                 "\"/dev/fuse:rw\"]\n"
                 "    dns: 8.8.8.8\n"
                 "    dns_search: [example.com]\n"
                 "    dns_opt: [use-vc]\n"
                 "    logging: {driver: json-file, options: {max-size: 200k}}\n"
                 "    pull_policy: missing\n"
                 "    oom_score_adj: -500\n"
                 "    group_add: [mail, 1001]\n"
                 "    profiles: [debug, test.1]\n"
                 "    build: ./dir\n");
        is_str(s->container_name, "web-1", "container_name");
        is_str(s->domainname, "example.com", "domainname");
        is_str(s->user, "1000", "numeric user as text");
        is_str(stack_kvlist_get(&s->labels, "com.example.b")->value, "", "bare label");
        ok(s->privileged && s->read_only && s->init && s->init_set && s->tty && !s->stdin_open, "booleans");
        is_int(s->stop_grace_period_usec, 60000000, "stop_grace_period");
        is_str(s->tmpfs[0], "/run", "tmpfs string");
        is_str(stack_kvlist_get(&s->sysctls, "net.core.somaxconn")->value, "1024", "sysctls list");
        is_int(s->n_ulimits, 2, "ulimits");
        ok(streq(s->ulimits[0].name, "nofile") && s->ulimits[0].soft == 20000 && s->ulimits[0].hard == 40000,
           "soft/hard");
        ok(s->ulimits[1].soft == 65535 && s->ulimits[1].hard == 65535, "single number");
        is_int(s->extra_hosts.n, 5, "extra_hosts");
        is_str(stack_kvlist_get(&s->extra_hosts, "otherhost")->value, "50.31.209.229", "host:ip");
        is_str(stack_kvlist_get(&s->extra_hosts, "v6host")->value, "::1",
               "host:IPv6 splits on the first colon");
        is_str(stack_kvlist_get(&s->extra_hosts, "bracket")->value, "::2", "brackets stripped");
        is_str(stack_kvlist_get(&s->extra_hosts, "gw")->value, "host-gateway", "host-gateway");
        is_str(s->devices[1], "/dev/sda:/dev/sda:r", "long device form normalized");
        is_str(s->dns[0], "8.8.8.8", "dns string");
        is_str(s->logging.driver, "json-file", "logging driver");
        is_str(stack_kvlist_get(&s->logging.options, "max-size")->value, "200k", "logging options");
        ok(s->oom_score_adj_set && s->oom_score_adj == -500, "oom_score_adj");
        is_str(s->group_add[1], "1001", "group_add");
        is_str(s->profiles[1], "test.1", "profiles");
        ok(s->build.present, "build parsed");
        is_str(s->build.context, TEST_DIR "/dir", "build context resolved");
}

static void test_empty_strings(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p =
            load_model("services:\n"
                       "  a: {image: x, container_name: \"\", hostname: \"\"}\n"
                       "  b: {image: x, container_name: \"\"}\n",
                       &err);
        if (!ok(p != NULL, "empty container names (an unset variable) do not conflict"))
                return diag("%s", err.msg);
        ok(!p->services[0].container_name && !p->services[0].hostname,
           "an empty string is unset, as for compose");
        _cleanup_free_ char *e = load_error("services:\n  a:\n    image: \"\"\n");
        contains(e, "neither an image nor a build context", "empty image");
}

static void test_misc_errors(void)
{
        _cleanup_free_ char *e1 = web_error("    privileged: maybe\n");
        contains(e1, "compose.yaml:4:17: services.web.privileged: invalid boolean \"maybe\"", "bad boolean");
        _cleanup_free_ char *e2 = web_error("    profiles: [\"-bad\"]\n");
        contains(e2, "invalid profile name \"-bad\"", "profile regex");
        _cleanup_free_ char *e3 = web_error("    extra_hosts: [nohost]\n");
        contains(e3, "missing IP", "extra host without address");
        _cleanup_free_ char *e4 = web_error("    extra_hosts: [\"h:not-an-ip\"]\n");
        contains(e4, "invalid IP address \"not-an-ip\"", "bad extra host address");
        _cleanup_free_ char *e5 = web_error("    ulimits:\n      nofile: {soft: 2}\n");
        contains(e5, "soft and hard are both required", "ulimit");
        _cleanup_free_ char *e6 = web_error("    oom_score_adj: 2000\n");
        contains(e6, "2000 is out of range", "oom range");
        _cleanup_free_ char *e7 = web_error("    imagee: x\n");
        is_str(e7, "compose.yaml:4:5: services.web: additional property \"imagee\" is not allowed",
               "unknown key");
        _cleanup_free_ char *e8 = web_error("    cap_add: NET_ADMIN\n");
        contains(e8, "services.web.cap_add: must be a list", "type error");
        _cleanup_free_ char *e9 = web_error("    pull_policy: sometimes\n");
        contains(e9, "invalid pull policy", "pull_policy");
        _cleanup_free_ char *e11 = load_error("services:\n  web:\n    restart: always\n");
        contains(e11, "compose.yaml:2:3: services.web: neither an image nor a build context", "no image");
        _cleanup_free_ char *e13 = web_error("    devices: [\"/dev/fuse:rwx\"]\n");
        contains(e13, "services.web.devices[0]: invalid device \"/dev/fuse:rwx\"", "device permissions");
        _cleanup_free_ char *e14 = web_error("    devices: [\"dev/fuse\"]\n");
        contains(e14, "invalid device", "device host path must be absolute");
        _cleanup_free_ char *e12 = web_error("    labels: {a: [1]}\n");
        contains(e12, "services.web.labels.a: must be a string", "label value type");
}

static void test_build_image_name(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model(
            "services:\n  Web:\n    build: .\n  api:\n    image: reg/api:1\n    build: ./api\n", &err);
        if (!ok(p != NULL, "build without image loads"))
                return diag("%s", err.msg);
        const struct stack_service *api = stack_project_service(p, "api");
        const struct stack_service *web = stack_project_service(p, "Web");
        is_str(web->image, "demo-web", "image named <project>-<service>, lower case");
        ok(web->build.image_default && !api->build.image_default, "which name was derived is recorded");
        is_str(api->image, "reg/api:1", "image: names the built image");
        is_str(api->build.context, TEST_DIR "/api", "context resolved");
        _cleanup_json_ cJSON *j = spec_service_to_json(p, web, 0);
        ok(!cJSON_GetObjectItem(j, "image"), "a derived name is not printed, as compose");
        is_str(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "build"), "dockerfile")),
               "Dockerfile", "default dockerfile printed");
        _cleanup_json_ cJSON *h = spec_service_to_json(p, web, SPEC_JSON_FOR_HASH);
        ok(!cJSON_GetObjectItem(h, "build"), "build stays out of the config hash");
}

static void test_build_mapping(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p =
            load_model("services:\n"
                       "  web:\n"
                       "    build:\n"
                       "      context: ./app\n"
                       "      dockerfile: docker/Dockerfile.dev\n"
                       "      args: [VERSION=1.2, FROM_SHELL, NOT_IN_SHELL]\n"
                       "      target: dev\n"
                       "      labels: {z.b: two, a.b: one}\n"
                       "      tags: [\"reg/web:dev\", \"web:latest\"]\n"
                       "      no_cache: true\n"
                       "      pull: true\n"
                       "      network: none\n"
                       "      extra_hosts: [\"db=10.0.0.5\"]\n"
                       "      shm_size: 128m\n"
                       "      secrets: [token, {source: token, target: tk}]\n"
                       "      ssh: [default, \"key=./id\"]\n"
                       "      additional_contexts: {base: ./base, img: \"docker-image://alpine:3\", "
                       "svc: \"service:api\"}\n"
                       "      platforms: [linux/amd64]\n"
                       "      cache_from: [\"type=local,src=/tmp/c\"]\n"
                       "      cache_to: [\"type=local,dest=/tmp/c\"]\n"
                       "secrets:\n"
                       "  token: {file: ./token.txt}\n",
                       &err);
        if (!ok(p != NULL, "every build key loads"))
                return diag("%s", err.msg);
        const struct stack_build *b = &p->services[0].build;
        is_str(b->context, TEST_DIR "/app", "context");
        is_str(b->dockerfile, "docker/Dockerfile.dev", "dockerfile as given");
        is_str(stack_kvlist_get(&b->args, "VERSION")->value, "1.2", "arg list entry");
        is_str(stack_kvlist_get(&b->args, "FROM_SHELL")->value, "shell-value",
               "bare arg from the environment");
        ok(stack_kvlist_get(&b->args, "NOT_IN_SHELL") && !stack_kvlist_get(&b->args, "NOT_IN_SHELL")->value,
           "bare arg not in the environment stays unset");
        is_str(b->target, "dev", "target");
        is_str(b->labels.items[0].key, "a.b", "labels sorted");
        is_str(b->tags[1], "web:latest", "tags");
        ok(b->no_cache && b->pull, "no_cache, pull");
        is_str(b->network, "none", "network");
        is_str(stack_kvlist_get(&b->extra_hosts, "db")->value, "10.0.0.5", "extra_hosts");
        is_int(b->shm_size, 128 << 20, "shm_size");
        is_int(b->n_secrets, 2, "secrets");
        is_str(b->secrets[1].target, "/run/secrets/tk", "secret target");
        ok(stack_kvlist_get(&b->ssh, "default") && !stack_kvlist_get(&b->ssh, "default")->value,
           "ssh default");
        is_str(stack_kvlist_get(&b->ssh, "key")->value, TEST_DIR "/id", "ssh key path resolved");
        is_str(stack_kvlist_get(&b->additional_contexts, "base")->value, TEST_DIR "/base",
               "additional context directory resolved");
        is_str(stack_kvlist_get(&b->additional_contexts, "img")->value, "docker-image://alpine:3",
               "image context kept");
        is_str(stack_kvlist_get(&b->additional_contexts, "svc")->value, "service:api",
               "service context kept");
        is_str(b->platforms[0], "linux/amd64", "platforms");
        is_str(b->cache_from[0], "type=local,src=/tmp/c", "cache_from");
        is_str(b->cache_to[0], "type=local,dest=/tmp/c", "cache_to");

        _cleanup_json_ cJSON *j = spec_service_to_json(p, &p->services[0], 0);
        _cleanup_free_ char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "build"));
        is_str(
            text,
            "{\"context\":\"" TEST_DIR
            "/app\",\"dockerfile\":\"docker/Dockerfile.dev\",\"args\":{\"VERSION\":"
            "\"1.2\",\"FROM_SHELL\":\"shell-value\",\"NOT_IN_SHELL\":null},\"ssh\":[\"default\","
            "\"key=" TEST_DIR
            "/id\"],\"labels\":{\"a.b\":\"one\",\"z.b\":\"two\"},\"cache_from\":[\"type=local,src=/tmp/c\"],"
            "\"cache_to\":[\"type=local,dest=/tmp/c\"],\"no_cache\":true,\"additional_contexts\":{\"base\":"
            "\"" TEST_DIR "/base\",\"img\":\"docker-image://alpine:3\",\"svc\":\"service:api\"},\"network\":"
            "\"none\",\"pull\":true,\"target\":\"dev\",\"shm_size\":\"134217728\",\"extra_hosts\":["
            "\"db=10.0.0.5\"],\"secrets\":[{\"source\":\"token\",\"target\":\"/run/secrets/token\"},{"
            "\"source\":\"token\",\"target\":\"/run/secrets/tk\"}],\"tags\":[\"reg/"
            "web:dev\",\"web:latest\"],"
            "\"platforms\":[\"linux/amd64\"]}",
            "printed in compose's order");
}

static void test_build_errors(void)
{
        _cleanup_free_ char *e1 = load_error("services:\n  web:\n    build: {network: bridge0}\n");
        is_str(
            e1,
            "compose.yaml:3:22: services.web.build.network: unsupported build network \"bridge0\" (expected "
            "default, none or host)",
            "bad network");
        _cleanup_free_ char *e2 = load_error("services:\n  web:\n    build: {contxt: .}\n");
        contains(e2, "services.web.build: additional property \"contxt\" is not allowed", "unknown key");
        _cleanup_free_ char *e3 =
            load_error("services:\n  web:\n    build: {dockerfile: a, dockerfile_inline: b}\n");
        contains(e3, "dockerfile and dockerfile_inline are mutually exclusive", "both dockerfiles");
        _cleanup_free_ char *e4 = load_error("services:\n  web:\n    build: {secrets: [nope]}\n");
        contains(e4, "services.web.build.secrets[0]: undefined secret \"nope\"", "undeclared secret");
        _cleanup_free_ char *e5 = load_error("services:\n  web:\n    build: {ssh: [mykey]}\n");
        contains(e5, "ssh \"mykey\": give a socket or key path", "bare ssh id");
        _cleanup_free_ char *e6 = load_error("services:\n  web:\n    build: {no_cache: perhaps}\n");
        contains(e6, "services.web.build.no_cache: invalid boolean \"perhaps\"", "bad boolean");
        _cleanup_free_ char *e7 = load_error("services:\n  web:\n    build: {shm_size: lots}\n");
        contains(e7, "services.web.build.shm_size", "bad size");
        _cleanup_free_ char *e8 = load_error("services:\n  web:\n    build: [a]\n");
        contains(e8, "services.web.build: must be a mapping", "wrong type");
        struct stderr_capture cap;
        stderr_capture_begin(&cap);
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_web("    build: {context: ., sbom: true}\n", &err);
        _cleanup_free_ char *out = stderr_capture_end(&cap);
        ok(p != NULL, "a BuildKit-only key loads");
        contains(out, "compose.yaml:4:25: services.web.build.sbom: not supported by stack yet, ignored",
                 "and is named as ignored");
}

static void test_working_dir_relative(void)
{
        _cleanup_free_ char *e = web_error("    working_dir: app\n");
        contains(e, "compose.yaml:4:18: services.web: working_dir \"app\" must be an absolute path",
                 "relative working_dir");
}

static void test_legacy_bool_warns(void)
{
        struct stderr_capture cap;
        stderr_capture_begin(&cap);
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_web("    tty: yes\n", &err);
        _cleanup_free_ char *out = stderr_capture_end(&cap);
        ok(p && p->services[0].tty, "yes is true");
        contains(out,
                 "services.web.tty: \"yes\" for boolean is not supported by YAML 1.2, please use `true`",
                 "with compose's warning");
}

static void test_command_operator_warns(void)
{
        struct stderr_capture cap;
        stderr_capture_begin(&cap);
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_web("    command: echo a && echo b\n", &err);
        _cleanup_free_ char *out = stderr_capture_end(&cap);
        ok(p && strv_length(p->services[0].command) == 2, "compose stops at &&");
        contains(out, "services.web.command: \"&& echo b\" and what follows is not passed",
                 "and stack says so");
}

int main(void)
{
        test_env_init();
        test_ports_short();
        test_ports_long();
        test_port_errors();
        test_expose();
        test_volumes();
        test_volume_errors();
        test_networks();
        test_network_mode();
        test_depends_on();
        test_healthcheck();
        test_environment();
        test_environment_list();
        test_env_file();
        test_command();
        test_restart_deploy();
        test_misc_keys();
        test_empty_strings();
        test_misc_errors();
        test_legacy_bool_warns();
        test_build_image_name();
        test_build_mapping();
        test_build_errors();
        test_working_dir_relative();
        test_command_operator_warns();
        stack_kvlist_free(&test_env);
        return done_testing();
}
