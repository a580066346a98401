/* The scalar grammars of the compose file, parsed exactly as docker compose parses them.
 *
 * Durations follow Go's time.ParseDuration (compose validates them with it): "1m30s", "1.5h", "500ms", "0";
 * a plain number other than 0 lacks its unit and is an error. Byte sizes follow docker's go-units
 * RAMInBytes: a plain integer is bytes, "100k", "512m", "1.5GB", "2gib" are binary multiples. Booleans are
 * true/false in any case, plus YAML 1.1's y/yes/on/n/no/off which compose accepts with a warning. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Microseconds (stack's resolution); returns -EINVAL for a malformed duration, -ERANGE on overflow. */
int units_parse_duration(const char *s, int64_t *ret_usec);
/* As Go's Duration.String(): "1m30s", "1h0m0s", "500ms", "0s". */
char *units_format_duration(int64_t usec);
int units_parse_bytes(const char *s, int64_t *ret);
/* *ret_legacy (may be NULL) is set when the spelling is one YAML 1.2 no longer reads as a boolean. */
int units_parse_bool(const char *s, bool *ret, bool *ret_legacy);
/* Decimal integer, the whole string, within [min, max]. */
int units_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret);

/* Splits a command line as compose does (go-shellwords without environment or backtick expansion):
 * blanks separate words, single quotes are literal, double quotes group, a backslash escapes the next
 * character outside single quotes. Parsing stops at an unquoted ; & | < or >, as compose's does;
 * *ret_stop (may be NULL) then points at it, otherwise it is NULL. Unbalanced quotes are -EINVAL. */
int units_shell_split(const char *s, char ***ret, const char **ret_stop);
