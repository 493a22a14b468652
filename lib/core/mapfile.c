#include "core/mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/hugepages.h"
#include "core/platform.h"

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
    /* without blocking on a FIFO or a device (core/platform.h) */
    int fd = bn_file_open_read(path);
    if (fd < 0)
        return bn_fail(errno == ENOMEM ? BN_E_NOMEM : BN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    const char *kind = "special";
    int rc = BN_OK, regular;
    if (fstat(fd, &st) != 0) {
        rc = bn_fail(BN_E_IO, "%s: cannot stat: %s", path, strerror(errno));
    } else if ((regular = bn_file_regular(fd, &kind)) == 0) {
        rc = bn_fail(BN_E_IO, "%s: not a regular file (%s)", path, kind);
    } else if (regular < 0) {   /* reads of a regular file block as usual */
        rc = bn_fail(BN_E_IO, "%s: fcntl: %s", path, strerror(errno));
    } else if ((uint64_t)st.st_size > SIZE_MAX) {
        rc = bn_fail(BN_E_NOMEM, "%s: %llu bytes do not fit the address space", path,
                     (unsigned long long)st.st_size);
    } else if (st.st_size == 0) {
        f->data = (const uint8_t *)"";  /* empty: the parser reports it */
    } else if (use_mmap) {
        void *p = bn_file_map(fd, (size_t)st.st_size);
        if (!p)                 /* ENOMEM: address space or a memory limit (ulimit -v) */
            rc = bn_fail(errno == ENOMEM ? BN_E_NOMEM : BN_E_IO, "%s: mmap failed: %s", path, strerror(errno));
        else {
            f->data = p;
            f->mapped = 1;
            f->fd = fd;
        }
    } else {
        uint8_t *p = malloc((size_t)st.st_size);
        /* huge pages where the kernel gives them on request, as for the
         * packed weights: the F16 head is read from here once per token */
        if (p)
            bn_advise_hugepages(p, (size_t)st.st_size);
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
        bn_file_unmap((void *)f->data, (size_t)f->size);
    else if (f->size && f->aligned)
        bn_aligned_free((void *)f->data);
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
    const uintptr_t page = (uintptr_t)bn_page_size();
    uintptr_t b = (uintptr_t)p, e = b + (uintptr_t)n;
    b = (b + page - 1) & ~(page - 1);   /* whole pages inside the range only */
    e &= ~(page - 1);
    if (e > b)
        bn_release_mapped((void *)b, e - b);
}

int bn_mapfile_pread(const bn_mapfile *f, void *dst, size_t n, uint64_t offset)
{
    if (!f->mapped || f->fd < 0 || offset > f->size || n > f->size - offset)
        return 0;
    size_t done = 0;
    while (done < n) {
        int64_t r = bn_file_pread(f->fd, (uint8_t *)dst + done, n - done, offset + done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        done += (size_t)r;
    }
    return 1;
}
