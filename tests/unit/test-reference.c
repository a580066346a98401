/* Reference normalization, as docker's distribution/reference does it. */
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/image/reference.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

#define HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void norm(const char *in, const char *want)
{
        _cleanup_free_ char *got = NULL;
        struct stack_error err = {0};
        int r = reference_normalize(in, &got, &err);
        if (r < 0)
                diag("error: %s", err.msg);
        is_str(got, want, "%s -> %s", in, want);
        stack_error_clear(&err);
}

static void bad(const char *in, const char *why)
{
        _cleanup_free_ char *got = NULL;
        struct stack_error err = {0};
        int r = reference_normalize(in, &got, &err);
        ok(r < 0, "\"%s\" is refused", in);
        contains(err.msg, why, "  with a reason naming \"%s\"", why);
        stack_error_clear(&err);
}

static void familiar(const char *in, const char *want)
{
        _cleanup_reference_ struct reference r = {0};
        ok(reference_parse(in, &r, NULL) == 0, "parse %s", in);
        _cleanup_free_ char *f = reference_familiar_name(&r);
        is_str(f, want, "familiar name of %s", in);
}

int main(void)
{
        norm("busybox", "docker.io/library/busybox:latest");
        norm("busybox:1.36", "docker.io/library/busybox:1.36");
        norm("library/busybox", "docker.io/library/busybox:latest");
        norm("docker.io/busybox", "docker.io/library/busybox:latest");
        norm("index.docker.io/library/busybox:1", "docker.io/library/busybox:1");
        norm("user/app", "docker.io/user/app:latest");
        norm("user/app/sub:v2", "docker.io/user/app/sub:v2");
        norm("localhost/x", "localhost/x:latest");
        norm("localhost:5000/x", "localhost:5000/x:latest");
        norm("localhost:5000/x:tag", "localhost:5000/x:tag");
        norm("quay.io/coreos/etcd", "quay.io/coreos/etcd:latest");
        norm("registry.example.com:443/a/b:c", "registry.example.com:443/a/b:c");
        norm("Registry.Example.com/a", "Registry.Example.com/a:latest");
        norm("[::1]:5000/x", "[::1]:5000/x:latest");
        norm("stack-example/httpd", "docker.io/stack-example/httpd:latest");
        norm("a_b__c.d-e---f", "docker.io/library/a_b__c.d-e---f:latest");
        norm("busybox@sha256:" HEX, "docker.io/library/busybox@sha256:" HEX);
        norm("busybox:1.36@sha256:" HEX, "docker.io/library/busybox:1.36@sha256:" HEX);
        norm("localhost:5000/x@sha256:" HEX, "localhost:5000/x@sha256:" HEX);

        bad("", "empty");
        bad("BusyBox", "lowercase");
        bad("busybox:", "invalid tag");
        bad("busybox:-x", "invalid tag");
        bad("busybox@sha256:abc", "digest");
        bad("busybox@md5:" HEX, "digest");
        bad(HEX, "image ID");
        bad("a//b", "component");
        bad("-a", "component");
        bad("a_", "component");
        bad("a___b", "component");
        bad("a..b", "component");
        bad("localhost:/x", "registry");
        bad("local_host.com/x", "registry");

        familiar("busybox", "busybox");
        familiar("docker.io/library/busybox:1", "busybox");
        familiar("user/app", "user/app");
        familiar("localhost:5000/x", "localhost:5000/x");

        _cleanup_reference_ struct reference r = {0};
        ok(reference_parse("quay.io/a/b:1@sha256:" HEX, &r, NULL) == 0, "parse a full reference");
        is_str(r.domain, "quay.io", "domain");
        is_str(r.path, "a/b", "path");
        is_str(r.tag, "1", "tag");
        is_str(r.digest, "sha256:" HEX, "digest");
        _cleanup_free_ char *name = reference_name(&r);
        is_str(name, "quay.io/a/b", "reference_name drops tag and digest");
        return done_testing();
}
