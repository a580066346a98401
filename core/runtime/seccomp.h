/* The default seccomp policy (Docker's, in substance) and profile files, turned into OCI linux.seccomp.
 *
 * Profiles are written in docker's format: rules may apply only when some capabilities are granted
 * (includes.caps), only when they are not (excludes.caps), only on some architectures or from a kernel
 * version on. A container gets the rules that apply to its capability set, architecture and kernel,
 * flattened into the plain OCI form the runtime reads. */
#pragma once

#include <cjson/cJSON.h>

#include "core/base/error.h"

/* The default policy in docker's profile format (a new tree the caller owns). It denies by default with
 * EPERM, allows the ordinary system calls, and allows the privileged ones only with the capability that
 * makes them meaningful (mount with CAP_SYS_ADMIN, reboot with CAP_SYS_BOOT, ...). */
cJSON *seccomp_default_profile(void);

/* seccomp_profile_to_oci() of the default policy, which is built once per process and shared. */
int seccomp_default_oci(char *const *caps, const char *machine, const char *release, cJSON **ret,
                        struct stack_error *err);

/* Flattens a profile in docker's format (or an OCI linux.seccomp object, which passes through with only
 * its rules filtered) for a container granted caps ("CAP_CHOWN", ...), running on machine (uname -m;
 * NULL: this host) and kernel release (NULL: this host). */
int seccomp_profile_to_oci(const cJSON *profile, char *const *caps, const char *machine, const char *release,
                           cJSON **ret, struct stack_error *err);

/* Parses and flattens a profile file's text (security_opt seccomp=FILE). */
int seccomp_profile_parse(const char *text, const char *origin, char *const *caps, const char *machine,
                          const char *release, cJSON **ret, struct stack_error *err);
