/* IPv6 isolation rules (the IPv6 part of firewall_build): which networks get rules, in which chains and
 * order. Pure; the libip6tc family of the backend is tested for real by tests/integration/t0356-fw-ipv6.sh.
 */
#include <errno.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/firewall.h"
#include "tests/unit/tap.h"

/* The IPv6 part of the text (after "# ip6tables"), and the number of IPv6 chains. */
static char *build_text(const struct fw_network *nets, size_t n, size_t *ret_chains)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        struct fw_project pr = {"demo", nets, n, NULL, 0};
        if (firewall_build(&pr, &rs, &err) < 0)
                return xstrdup(err.msg ? err.msg : "error");
        *ret_chains = 0;
        for (size_t i = 0; i < rs.n_chains; i++)
                if (rs.chains[i].family == FW_IPV6) {
                        ok(rs.chains[i].table == FW_TABLE_FILTER, "IPv6 chains are in filter");
                        (*ret_chains)++;
                }
        _cleanup_free_ char *text = fw_ruleset_format(&rs);
        const char *six = strstr(text, "# ip6tables\n");
        return xstrdup(six ? six + strlen("# ip6tables\n") : "");
}

int main(void)
{
        char prefix[FW_CHAIN_MAX];
        firewall_chain_prefix("demo", prefix);
        size_t n_chains = 99;

        struct fw_network only4[] = {{.name = "front", .bridge = "br-front"}};
        _cleanup_free_ char *none = build_text(only4, ELEMENTSOF(only4), &n_chains);
        is_str(none, "", "a network without IPv6 gives no IPv6 rule");
        is_int((int) n_chains, 0, "and no chain at all");

        struct fw_network nets[] = {
            {.name = "front", .bridge = "br-front", .ipv6 = true},
            {.name = "plain", .bridge = "br-plain"},
            {.name = "secret", .bridge = "br-secret", .internal = true, .ipv6 = true},
        };
        _cleanup_free_ char *text = build_text(nets, ELEMENTSOF(nets), &n_chains);
        _cleanup_free_ char *want = xasprintf(
            "*filter\n"
            "-A STACK-FORWARD -m comment --comment \"stack:demo\" -j %sINT\n"
            "-A %sINT -i br-secret ! -o br-secret -m comment --comment \"stack:demo:secret\" -j DROP\n"
            "-A STACK-FORWARD -m comment --comment \"stack:demo\" -j %sISO\n"
            "-A %sISO -o br-front -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "
            "\"stack:demo:front\" -j ACCEPT\n"
            "-A %sISO -i br-front -o br-front -m comment --comment \"stack:demo:front\" -j ACCEPT\n"
            "-A %sISO -o br-front -m comment --comment \"stack:demo:front\" -j DROP\n"
            "-A %sISO -o br-secret -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "
            "\"stack:demo:secret\" -j ACCEPT\n"
            "-A %sISO -i br-secret -o br-secret -m comment --comment \"stack:demo:secret\" -j ACCEPT\n"
            "-A %sISO -o br-secret -m comment --comment \"stack:demo:secret\" -j DROP\n",
            prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix);
        is_str(text, want,
               "IPv6 networks: isolation per bridge, internal one shut first, IPv4-only skipped");
        is_int((int) n_chains, 2, "two chains");
        is_int((int) firewall_chain_group("STACK-0123456789-INT"), FW_GROUP_INTERNAL,
               "INT is jumped to first");

        struct fw_network bad[] = {{.name = "x", .bridge = "a-bridge-name-too-long", .ipv6 = true}};
        _cleanup_error_ struct stack_error err = {0};
        struct fw_ruleset rs = {0};
        struct fw_project pr = {"demo", bad, 1, NULL, 0};
        is_int(firewall_build(&pr, &rs, &err), -EINVAL, "a bridge name longer than IFNAMSIZ fails");
        contains(err.msg, "a-bridge-name-too-long", "naming the bridge");
        return done_testing();
}
