libstack_core_la_SOURCES += \
	core/base/cleanup.h \
	core/base/json.h core/base/json.c \
	core/base/error.h core/base/error.c \
	core/base/util.h core/base/util.c \
	core/base/fileio.h core/base/fileio.c \
	core/base/log.h core/base/log.c

check_PROGRAMS += tests/unit/test-util
TESTS += tests/unit/test-util
tests_unit_test_util_LDADD = $(STACK_LIBS)

libstack_core_la_SOURCES += core/engine/plan.h core/engine/plan.c
check_PROGRAMS += tests/unit/test-plan
TESTS += tests/unit/test-plan
tests_unit_test_plan_LDADD = $(STACK_LIBS)

libstack_core_la_SOURCES += core/engine/health.h core/engine/health.c core/engine/restart.h core/engine/restart.c
check_PROGRAMS += tests/unit/test-health
TESTS += tests/unit/test-health
tests_unit_test_health_LDADD = $(STACK_LIBS)

libstack_core_la_SOURCES += core/engine/state.h core/engine/state.c
check_PROGRAMS += tests/unit/test-state
TESTS += tests/unit/test-state
tests_unit_test_state_LDADD = $(STACK_LIBS)

libstack_core_la_SOURCES += core/engine/apply.h core/engine/apply.c
check_PROGRAMS += tests/unit/test-apply
TESTS += tests/unit/test-apply
tests_unit_test_apply_LDADD = $(STACK_LIBS) -lpthread

# Image store: digests (on our own SHA-256), references, the tar unpacker, the store itself.
libstack_core_la_SOURCES += \
	core/base/sha256.h core/base/sha256.c \
	core/base/digest.h core/base/digest.c \
	core/image/reference.h core/image/reference.c \
	core/image/layer.h core/image/layer.c core/image/layer-source.c \
	core/image/image.h core/image/image-internal.h core/image/image.c core/image/image-stage.c \
	core/image/image-import.c
check_PROGRAMS += tests/unit/test-digest tests/unit/test-reference tests/unit/test-layer
TESTS += tests/unit/test-digest tests/unit/test-reference tests/unit/test-layer
tests_unit_test_digest_LDADD = $(STACK_LIBS)
tests_unit_test_reference_LDADD = $(STACK_LIBS)
tests_unit_test_layer_LDADD = $(STACK_LIBS)
check_PROGRAMS += tests/unit/test-sha256
TESTS += tests/unit/test-sha256
tests_unit_test_sha256_LDADD = $(STACK_LIBS)

# Dropping the clean file pages a long-running process touched only while starting (the supervisor).
libstack_core_la_SOURCES += core/base/memtrim.h core/base/memtrim.c
check_PROGRAMS += tests/unit/test-memtrim
TESTS += tests/unit/test-memtrim
tests_unit_test_memtrim_LDADD = $(STACK_LIBS)

# Containers: OCI config, seccomp policy, runtime driver, lifecycle, volumes, users.
libstack_core_la_SOURCES += \
	core/runtime/user.h core/runtime/user.c \
	core/runtime/seccomp.h core/runtime/seccomp.c \
	core/runtime/oci.h core/runtime/oci.c \
	core/runtime/runtime.h core/runtime/runtime.c \
	core/runtime/console.h core/runtime/console.c \
	core/runtime/volume.h core/runtime/volume.c \
	core/runtime/container-id.h \
	core/runtime/container.h core/runtime/container.c \
	core/runtime/container-internal.h core/runtime/container-files.c \
	core/runtime/logfile.h core/runtime/logfile.c

libstack_core_la_SOURCES += core/engine/supervisor.h core/engine/supervisor.c core/engine/supervisor-client.c \
	core/engine/supervisor-internal.h core/engine/supervisor-health.c core/engine/supervisor-table.c \
	core/engine/supervisor-socket.c core/engine/supervisor-logs.c core/engine/supervisor-events.c \
	core/engine/status.h core/engine/status.c \
	core/engine/logs.h core/engine/logs.c \
	core/engine/stop.h core/engine/stop.c \
	core/engine/lifecycle.h core/engine/lifecycle.c \
	core/engine/top.h core/engine/top.c \
	core/engine/port.h core/engine/port.c \
	core/engine/options.h core/engine/options.c \
	core/engine/reconcile.h core/engine/reconcile.c
check_PROGRAMS += tests/integration/ctr-tool
tests_integration_ctr_tool_LDADD = $(STACK_LIBS)
EXTRA_DIST += tests/integration/t0299-ctr-lib.inc
TESTS += tests/integration/t0250-ctr-basics.sh
TESTS += tests/integration/t0251-ctr-security.sh
check_PROGRAMS += tests/unit/test-logs
TESTS += tests/unit/test-logs
tests_unit_test_logs_LDADD = $(STACK_LIBS)

# The desired-state graph: nodes, edges, start levels.
libstack_core_la_SOURCES += core/engine/graph.h core/engine/graph.c
check_PROGRAMS += tests/unit/test-graph
TESTS += tests/unit/test-graph
tests_unit_test_graph_LDADD = $(STACK_LIBS)
TESTS += tests/integration/t0252-ctr-resources.sh tests/integration/t0253-ctr-volumes.sh tests/integration/t0254-ctr-stop.sh
check_PROGRAMS += tests/unit/test-oci tests/unit/test-user
TESTS += tests/unit/test-oci tests/unit/test-user
tests_unit_test_oci_LDADD = $(STACK_LIBS)
tests_unit_test_user_LDADD = $(STACK_LIBS)
TESTS += tests/integration/t0255-ctr-etc.sh
TESTS += tests/integration/t0256-ctr-parallel.sh
check_PROGRAMS += tests/unit/test-image
TESTS += tests/unit/test-image
tests_unit_test_image_LDADD = $(STACK_LIBS)
TESTS += tests/integration/t0257-ctr-image.sh
check_PROGRAMS += tests/unit/test-runtime
TESTS += tests/unit/test-runtime
tests_unit_test_runtime_LDADD = $(STACK_LIBS)

# The time index of container logs (written by the supervisor, read by `stack logs -t/--since/--until`).
libstack_core_la_SOURCES += core/runtime/logindex.h core/runtime/logindex.c
check_PROGRAMS += tests/unit/test-logindex
TESTS += tests/unit/test-logindex
tests_unit_test_logindex_LDADD = $(STACK_LIBS)
check_PROGRAMS += tests/unit/test-logfile
TESTS += tests/unit/test-logfile
tests_unit_test_logfile_LDADD = $(STACK_LIBS)

# systemd units for a project (stack systemd generate|install).
libstack_core_la_SOURCES += core/engine/unit.h core/engine/unit.c
check_PROGRAMS += tests/unit/test-unit
TESTS += tests/unit/test-unit
tests_unit_test_unit_LDADD = $(STACK_LIBS)
# The reconciler's parts beside reconcile.c, and the adapters from the compose model to net/'s terms.
libstack_core_la_SOURCES += core/engine/netmodel.h core/engine/netmodel.c \
	core/engine/reconcile-internal.h core/engine/reconcile-desired.c core/engine/reconcile-observe.c \
	core/engine/reconcile-exec.c core/engine/reconcile-containers.c core/engine/reconcile-publish.c
check_PROGRAMS += tests/unit/test-reconcile
TESTS += tests/unit/test-reconcile
tests_unit_test_reconcile_LDADD = $(STACK_LIBS)
check_PROGRAMS += tests/unit/test-netmodel
TESTS += tests/unit/test-netmodel
tests_unit_test_netmodel_LDADD = $(STACK_LIBS)
# The image builder: the Dockerfile parser, layer tars of overlay upper directories, the executor.
libstack_core_la_SOURCES += core/build/dockerfile.h core/build/dockerfile.c core/build/ignore.h core/build/ignore.c \
	core/build/layertar.h core/build/layertar.c core/build/builder.h core/build/builder-internal.h \
	core/build/builder.c core/build/builder-copy.c core/build/builder-meta.c
check_PROGRAMS += tests/unit/test-dockerfile
TESTS += tests/unit/test-dockerfile
tests_unit_test_dockerfile_LDADD = $(STACK_LIBS)
check_PROGRAMS += tests/unit/test-build-files
TESTS += tests/unit/test-build-files
tests_unit_test_build_files_LDADD = $(STACK_LIBS)
# Registries: HTTP over libcurl, the distribution protocol's pure parts, credentials, pull and push.
libstack_core_la_SOURCES += \
	core/image/http.h core/image/http.c \
	core/image/distribution.h core/image/distribution.c \
	core/image/registry-auth.h core/image/registry-auth.c \
	core/image/registry.h core/image/registry-internal.h core/image/registry.c core/image/registry-pull.c
check_PROGRAMS += tests/unit/test-distribution
TESTS += tests/unit/test-distribution
tests_unit_test_distribution_LDADD = $(STACK_LIBS)
libstack_core_la_SOURCES += core/engine/images.h core/engine/images.c
check_PROGRAMS += tests/unit/test-images
TESTS += tests/unit/test-images
tests_unit_test_images_LDADD = $(STACK_LIBS)

# exec and run: a command in a running container, one-off containers.
libstack_core_la_SOURCES += core/engine/exec.h core/engine/exec.c core/engine/run.h core/engine/run.c
check_PROGRAMS += tests/unit/test-exec
TESTS += tests/unit/test-exec
tests_unit_test_exec_LDADD = $(STACK_LIBS)
# The lifecycle verbs' plans and top's formats.
check_PROGRAMS += tests/unit/test-lifecycle
TESTS += tests/unit/test-lifecycle
tests_unit_test_lifecycle_LDADD = $(STACK_LIBS)
# Files inside running containers (cp, watch), and the watcher of develop.watch.
libstack_core_la_SOURCES += core/runtime/ctrfs.h core/runtime/ctrfs.c \
	core/engine/ctrfs-open.h core/engine/ctrfs-open.c \
	core/engine/watch.h core/engine/watch.c
check_PROGRAMS += tests/unit/test-ctrfs tests/unit/test-watch
TESTS += tests/unit/test-ctrfs tests/unit/test-watch
tests_unit_test_ctrfs_LDADD = $(STACK_LIBS)
tests_unit_test_watch_LDADD = $(STACK_LIBS)
