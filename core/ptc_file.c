/* SPDX-License-Identifier: BSD-2-Clause */
#include "core/ptc_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ptc_log.h"
#include "core/ptc_pool.h"

static void
file_close_cleanup(void *data)
{
    close(*(int *)data);
}

int
ptc_temp_file_open(ptc_pool_t *pool, const ptc_str_t *dir, bool keep, ptc_log_t *log,
                   ptc_str_t *path)
{
    static unsigned seq; /* with the pid: unique among the workers */
    ptc_str_t name;
    ptc_pool_cleanup_t *cln = ptc_pool_cleanup_add(pool, sizeof(int));
    if (cln == NULL
        || ptc_psprintf(pool, &name, PTC_STR_FMT "/%010u%05d", PTC_STR_ARG(*dir), ++seq,
                        (int)getpid() % 100000)
               != PTC_OK) {
        return -1;
    }
    int fd = open((char *)name.data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1 && errno == ENOENT) {
        char *d = ptc_str_cstr(pool, dir);
        if (d) {
            mkdir(d, 0700);
        }
        fd = open((char *)name.data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (fd == -1) {
        ptc_log_error(PTC_LOG_CRIT, log, errno, "open() \"%s\" failed", (char *)name.data);
        return -1;
    }
    if (!keep) {
        unlink((char *)name.data);
    }
    *(int *)cln->data = fd;
    cln->handler = file_close_cleanup;
    if (path) {
        *path = name;
    }
    return fd;
}
