#include "core/mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

static int read_all(int fd, uint8_t *dst, uint64_t size, const char *path)
{
    uint64_t done = 0;
    while (done < size) {
        size_t chunk = size - done > (1u << 30) ? (1u << 30) : (size_t)(size - done);
        ssize_t n = read(fd, dst + done, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return bn_fail(BN_E_IO, "%s: read failed: %s", path, n < 0 ? strerror(errno) : "file shrank");
        done += (uint64_t)n;
    }
    return BN_OK;
}

int bn_mapfile_open(bn_mapfile *f, const char *path, int use_mmap)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    /* O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer
     * before fstat can reject it; O_NOCTTY: a terminal never becomes ours. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return bn_fail(errno == ENOMEM ? BN_E_NOMEM : BN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = BN_OK;
    if (fstat(fd, &st) != 0) {
        rc = bn_fail(BN_E_IO, "%s: cannot stat: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = bn_fail(BN_E_IO, "%s: not a regular file (%s)", path, S_ISDIR(st.st_mode) ? "a directory"
                     : S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISCHR(st.st_mode) ? "a character device"
                     : S_ISBLK(st.st_mode) ? "a block device" : S_ISSOCK(st.st_mode) ? "a socket" : "special");
    } else if (fcntl(fd, F_SETFL, 0) != 0) {    /* reads of a regular file block as usual */
        rc = bn_fail(BN_E_IO, "%s: fcntl: %s", path, strerror(errno));
    } else if ((uint64_t)st.st_size > SIZE_MAX) {
        rc = bn_fail(BN_E_NOMEM, "%s: %llu bytes do not fit the address space", path,
                     (unsigned long long)st.st_size);
    } else if (st.st_size == 0) {
        f->data = (const uint8_t *)"";  /* empty: the parser reports it */
    } else if (use_mmap) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)    /* ENOMEM: address space or a memory limit (ulimit -v) */
            rc = bn_fail(errno == ENOMEM ? BN_E_NOMEM : BN_E_IO, "%s: mmap failed: %s", path, strerror(errno));
        else {
            f->data = p;
            f->mapped = 1;
            f->fd = fd;
        }
    } else {
        uint8_t *p = malloc((size_t)st.st_size);
        if (!p)
            rc = bn_fail(BN_E_NOMEM, "%s: cannot allocate %llu bytes", path, (unsigned long long)st.st_size);
        else if ((rc = read_all(fd, p, (uint64_t)st.st_size, path)))
            free(p);
        else
            f->data = p;
    }
    if (f->fd != fd)
        close(fd);
    if (rc == BN_OK) {
        f->size = (uint64_t)st.st_size;
    } else {
        memset(f, 0, sizeof *f);
        f->fd = -1;
    }
    return rc;
}

void bn_mapfile_close(bn_mapfile *f)
{
    if (!f || !f->data)
        return;
    if (f->mapped)
        munmap((void *)f->data, (size_t)f->size);
    else if (f->size)
        free((void *)f->data);
    if (f->fd >= 0)
        close(f->fd);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

void bn_mapfile_drop(const bn_mapfile *f, const void *p, uint64_t n)
{
    if (!f->mapped)
        return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t b = (uintptr_t)p, e = b + (uintptr_t)n;
    b = (b + page - 1) & ~(page - 1);   /* whole pages inside the range only */
    e &= ~(page - 1);
    if (e > b)
        madvise((void *)b, e - b, MADV_DONTNEED);
}

int bn_mapfile_pread(const bn_mapfile *f, void *dst, size_t n, uint64_t offset)
{
    if (!f->mapped || f->fd < 0 || offset > f->size || n > f->size - offset)
        return 0;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(f->fd, (uint8_t *)dst + done, n - done, (off_t)(offset + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        done += (size_t)r;
    }
    return 1;
}
