libstack_core_la_SOURCES += \
	net/ipam.h net/ipam.c \
	net/netns.h net/netns.c \
	net/netlink.h net/netlink.c \
	net/network.h net/network.c

check_PROGRAMS += tests/unit/test-ipam
TESTS += tests/unit/test-ipam
tests_unit_test_ipam_LDADD = $(STACK_LIBS)
check_PROGRAMS += tests/unit/test-network
TESTS += tests/unit/test-network
tests_unit_test_network_LDADD = $(STACK_LIBS)

# Link-layer integration tests drive net/network.h through a small tool.
check_PROGRAMS += tests/integration/net-tool
tests_integration_net_tool_LDADD = $(STACK_LIBS)
TESTS += \
	tests/integration/t0300-net-link.sh \
	tests/integration/t0301-net-crash.sh \
	tests/integration/t0302-net-projects.sh \
	tests/integration/t0303-net-options.sh \
	tests/integration/t0304-net-cli.sh \
	tests/integration/t0305-net-concurrent.sh
EXTRA_DIST += bench/net-attach.sh
# Firewall (rule generation, libiptc backend) and host ports.
libstack_core_la_SOURCES += \
	net/firewall.h net/firewall.c net/firewall-host.c \
	net/firewall-xt.h net/firewall-xt.c net/firewall-iptc.c net/firewall-ip6tc.c \
	net/xtables-lock.h net/xtables-lock.c \
	net/ports.h net/ports.c \
	net/conntrack.h net/conntrack.c
check_PROGRAMS += net/stack-fw
net_stack_fw_SOURCES = net/firewall-tool.c
net_stack_fw_LDADD = $(STACK_LIBS)
TESTS += \
	tests/integration/t0350-fw-publish.sh \
	tests/integration/t0351-fw-loopback-guard.sh \
	tests/integration/t0352-fw-isolation.sh \
	tests/integration/t0353-fw-projects.sh \
	tests/integration/t0354-fw-udp-conntrack.sh \
	tests/integration/t0355-fw-mss.sh \
	tests/integration/t0356-fw-ipv6.sh \
	tests/integration/t0357-fw-ipv6-up.sh
EXTRA_DIST += tests/integration/t0399-fw-lib.inc bench/net-throughput.sh
check_PROGRAMS += tests/unit/test-firewall
TESTS += tests/unit/test-firewall
tests_unit_test_firewall_LDADD = $(STACK_LIBS)
check_PROGRAMS += tests/unit/test-firewall6
TESTS += tests/unit/test-firewall6
tests_unit_test_firewall6_LDADD = $(STACK_LIBS)
# nftables backend (libnftables): rule text and listing (pure, unit-tested), the backend itself.
libstack_core_la_SOURCES += \
	net/nft-rules.h net/nft-rules.c \
	net/nft-backend.h net/firewall-nft.c
check_PROGRAMS += tests/unit/test-nft-rules
TESTS += tests/unit/test-nft-rules
tests_unit_test_nft_rules_LDADD = $(STACK_LIBS)
TESTS += \
	tests/integration/t0360-fw-nft-publish.sh \
	tests/integration/t0361-fw-nft-loopback-guard.sh \
	tests/integration/t0362-fw-nft-ipv6.sh \
	tests/integration/t0363-fw-nft-coexist.sh \
	tests/integration/t0364-fw-nft-coexist-up.sh \
	tests/integration/t0365-fw-nft-auto.sh
EXTRA_DIST += tests/integration/t0369-fw-nft-lib.inc
# Beside a real dockerd (Debian's docker.io), on both backends.
TESTS += \
	tests/integration/t0370-fw-docker-nft.sh \
	tests/integration/t0371-fw-docker-legacy.sh \
	tests/integration/t0372-fw-drift.sh \
	tests/integration/t0373-fw-ufw.sh
EXTRA_DIST += tests/integration/t0379-fw-docker-lib.inc
# (end of firewall)
# DNS responder for service discovery (records table, message layer, server).
libstack_core_la_SOURCES += \
	net/dns-records.h net/dns-records.c \
	net/dns.h net/dns-internal.h net/dns.c net/dns-server.c
check_PROGRAMS += tests/unit/test-dns
TESTS += tests/unit/test-dns
tests_unit_test_dns_LDADD = $(STACK_LIBS)
check_PROGRAMS += tests/integration/dns-tool
tests_integration_dns_tool_LDADD = $(STACK_LIBS)
TESTS += tests/integration/t0400-dns.sh
TESTS += tests/integration/t0401-dns-forward.sh
TESTS += tests/integration/t0402-dns-robust.sh
TESTS += tests/integration/t0403-dns-up.sh
TESTS += tests/integration/t0404-dns-projects.sh
