#include <errno.h>

#include "spec/load.h"

int spec_load(const struct spec_options *o, struct stack_project **ret, struct stack_error *err)
{
        return stack_error_set(err, ENOSYS, "loading compose files is not implemented yet");
}
