libstack_core_la_SOURCES += \
	spec/node.h spec/node.c \
	spec/model.h \
	spec/load.h spec/load.c
libstack_core_la_SOURCES += spec/model.c spec/units.h spec/units.c spec/logging.h spec/logging.c

# The loading pipeline: YAML -> node trees -> merged tree (spec-load).
libstack_core_la_SOURCES += \
	spec/yaml.h spec/yaml.c \
	spec/merge.h spec/merge.c \
	spec/discover.h spec/discover.c \
	spec/loader.h spec/extends.c spec/include.c \
	spec/strset.h

check_PROGRAMS += tests/unit/test-yaml tests/unit/test-merge tests/unit/test-discover tests/unit/test-load
TESTS += tests/unit/test-yaml tests/unit/test-merge tests/unit/test-discover tests/unit/test-load
tests_unit_test_yaml_LDADD = $(STACK_LIBS)
tests_unit_test_merge_LDADD = $(STACK_LIBS)
tests_unit_test_discover_LDADD = $(STACK_LIBS)
tests_unit_test_load_LDADD = $(STACK_LIBS)
TESTS += tests/integration/t0100-config-load.sh
EXTRA_DIST += tests/integration/t0100-config-load.sh

# .env files and interpolation.
libstack_core_la_SOURCES += \
	spec/dotenv.h spec/dotenv.c \
	spec/interpolate.h spec/interpolate.c
check_PROGRAMS += tests/unit/test-dotenv tests/unit/test-interpolate
TESTS += tests/unit/test-dotenv tests/unit/test-interpolate
tests_unit_test_dotenv_LDADD = $(STACK_LIBS)
tests_unit_test_interpolate_LDADD = $(STACK_LIBS)
EXTRA_DIST += tests/unit/capture.h

# The typed model, `stack config` output and the config hash (spec-model).
libstack_core_la_SOURCES += \
	spec/parse.h spec/parse-internal.h spec/parse.c spec/parse-service.c \
	spec/parse-service-internal.h spec/parse-service-net.c spec/parse-service-volumes.c \
	spec/parse-service-env.c spec/parse-service-build.c \
	spec/parse.h spec/parse-internal.h spec/parse.c spec/parse-service.c spec/parse-develop.c \
	spec/print.h spec/print.c \
	spec/hash.h spec/hash.c
check_PROGRAMS += tests/unit/test-units tests/unit/test-parse tests/unit/test-parse-service tests/unit/test-print tests/unit/test-hash
TESTS += tests/unit/test-units tests/unit/test-parse tests/unit/test-parse-service tests/unit/test-print tests/unit/test-hash
tests_unit_test_units_LDADD = $(STACK_LIBS)
tests_unit_test_parse_LDADD = $(STACK_LIBS)
tests_unit_test_parse_service_LDADD = $(STACK_LIBS)
tests_unit_test_print_LDADD = $(STACK_LIBS)
tests_unit_test_hash_LDADD = $(STACK_LIBS)
TESTS += tests/integration/t0150-config.sh
TESTS += tests/integration/t0151-config-files.sh
