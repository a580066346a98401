EXTRA_DIST += tests/run-all.sh tests/unit/tap.h tests/unit/spec-test.h tests/integration/run.sh \
	tests/integration/lib.sh
# Automake distributes test programs through their sources but not test scripts: every script in TESTS,
# whichever local.mk lists it, goes into the tarball here (make distcheck runs them).
EXTRA_DIST += $(filter %.sh %.test,$(TESTS))

# Checks of the tree itself (plain TAP scripts, no namespaces needed): includes run down the layers
# (tools/check-layers.sh; tools/layers-allow.txt is a temporary list of known violations).
TESTS += tests/tools/check-layers.test
# shellcheck over every shell script of the tree (skipped where shellcheck is not installed).
TESTS += tests/tools/shellcheck.test
EXTRA_DIST += tools/check-layers.sh tools/layers-allow.txt

# Integration tests: shell scripts, each run by tests/integration/run.sh in its own namespaces.
TESTS += \
	tests/integration/t0001-cli.sh \
	tests/integration/t0500-up.sh \
	tests/integration/t0501-notify.sh \
	tests/integration/t0502-up-crash.sh \
	tests/integration/t0503-down-records.sh \
	tests/integration/t0504-up-port-clash.sh \
	tests/integration/t0505-up-dep-failed.sh \
	tests/integration/t0506-ps-logs.sh \
	tests/integration/t0507-dns-supervisor.sh \
	tests/integration/t0508-up-concurrent.sh \
	tests/integration/t0509-up-errors.sh \
	tests/integration/t0510-up-supervisor-killed.sh \
	tests/integration/t0511-down-rmi.sh \
	tests/integration/t0512-up-interrupt.sh \
	tests/integration/t0513-up-bad-root.sh
# Read-only commands on roots that do not exist yet create nothing there.
TESTS += tests/integration/t0516-readonly-roots.sh
	tests/integration/t0513-up-bad-root.sh \
	tests/integration/t0517-noop-view.sh
TESTS += \
	tests/integration/t0200-image.sh \
	tests/integration/t0201-image-integrity.sh

# stack logs -t/--since/--until.
TESTS += tests/integration/t0520-logs-time.sh
# exec and run: commands in running containers, one-off containers.
TESTS += tests/integration/t0514-exec.sh tests/integration/t0515-run.sh
EXTRA_DIST += tests/integration/pty-run.py
TESTS += tests/integration/t0521-logs-rotate.sh
TESTS += tests/integration/t0522-events.sh
# Strictness of the command line: unknown services, flag values, root, read-only commands.
TESTS += tests/integration/t0530-cli-strict.sh
TESTS += tests/integration/t0650-systemd-generate.sh

# Building images: stack build, up building missing images, the step cache.
TESTS += tests/integration/t0600-build.sh tests/integration/t0601-build-config.sh tests/integration/t0602-build-buildah.sh \
	tests/integration/t0603-build-pull.sh
# Registries: pull, push, login against a real docker-registry on loopback.
EXTRA_DIST += tests/integration/t0549-registry-lib.inc
TESTS += tests/integration/t0540-registry-pull.sh tests/integration/t0541-registry-auth.sh tests/integration/t0544-registry-tls.sh \
	tests/integration/t0542-registry-up.sh tests/integration/t0543-registry-example.sh
EXTRA_DIST += examples/registry.sh
# Network shapes of real stacks: proxy on internal + public networks, network_mode service: targets.
TESTS += tests/integration/t0700-net-shapes-publish.sh tests/integration/t0701-net-shapes-service-mode.sh \
	tests/integration/t0702-net-shapes-static-address.sh
# The lifecycle verbs: stop/start/create, restart/kill, pause/unpause/rm/top on real containers.
TESTS += tests/integration/t0560-life-stop-start.sh tests/integration/t0561-life-restart-kill.sh \
	tests/integration/t0562-life-pause-rm-top.sh
TESTS += tests/integration/t0800-watch.sh tests/integration/t0801-cp.sh tests/integration/t0802-watch-rebuild.sh
EXTRA_DIST += tests/integration/t0809-watch-lib.inc
