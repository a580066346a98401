#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/xtables-lock.h"

#define LOCK_TIMEOUT_USEC (30ULL * 1000000)

int xtables_lock(const char *who, struct stack_error *err)
{
        const char *path = getenv("XTABLES_LOCKFILE");
        if (isempty(path))
                path = "/run/xtables.lock";
        _cleanup_close_ int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return stack_error_errno(err, errno, "%s: open %s", who, path);
        /* Bounded, as `iptables -w` can be: a stuck holder must not hang `stack up` forever. */
        uint64_t deadline = now_usec() + LOCK_TIMEOUT_USEC;
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return stack_error_errno(err, errno, "%s: lock %s", who, path);
                if (now_usec() >= deadline)
                        return stack_error_set(err, EBUSY,
                                               "%s: %s is held by another process (waited %llu s)", who,
                                               path, (unsigned long long) (LOCK_TIMEOUT_USEC / 1000000));
                usleep(20000);
        }
        return TAKE_FD(fd);
}
