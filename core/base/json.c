/* Reading and writing whole JSON files: the one reader and writer of stack's JSON records (project and
 * container state, the image store's records and references). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"

int json_write_file(const char *path, const cJSON *j, struct stack_error *err)
{
        _cleanup_free_ char *text = cJSON_Print(j);
        if (!text)
                return stack_error_set(err, ENOMEM, "serialize %s", path);
        _cleanup_free_ char *dir = path_dirname(path);
        int r = mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        return write_file_atomic(path, text, strlen(text), 0600, err);
}

int json_read_file(const char *path, cJSON **ret, struct stack_error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL, err);
        if (r < 0)
                return r;
        cJSON *j = cJSON_Parse(text);
        if (!j)
                return stack_error_set(err, EBADMSG, "%s: not valid JSON", path);
        *ret = j;
        return 0;
}
