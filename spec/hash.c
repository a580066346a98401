#include <string.h>

#include "core/base/json.h"
#include "core/base/sha256.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/hash.h"
#include "spec/print.h"

char *spec_service_hash_input(const struct stack_project *p, const struct stack_service *s)
{
        _cleanup_(cJSON_Deletep) cJSON *j = spec_service_to_json(p, s, SPEC_JSON_FOR_HASH);
        /* Key order must not depend on the order the printer adds them in. */
        spec_json_sort(j);
        char *text = cJSON_PrintUnformatted(j);
        char *r = xasprintf("%s\n%s", SPEC_HASH_VERSION, text);
        cJSON_free(text);
        return r;
}

int spec_service_hash(const struct stack_project *p, const struct stack_service *s, char ret[65])
{
        _cleanup_free_ char *input = spec_service_hash_input(p, s);
        uint8_t md[SHA256_DIGEST_SIZE];
        sha256(input, strlen(input), md);
        sha256_hex(md, ret);
        return 0;
}
