/* The lock every xtables user takes around a table change (iptables -w, firewalld, docker): without it a
 * commit can replace another tool's rules changed in between. Both libiptc backends take it. */
#pragma once

#include "core/base/error.h"

/* Takes /run/xtables.lock ($XTABLES_LOCKFILE if set), waiting at most 30 s; returns the fd holding it.
 * `who` prefixes the messages ("firewall"). */
int xtables_lock(const char *who, struct stack_error *err);
