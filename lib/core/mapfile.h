/* A read-only view of a whole file: mmap'ed, or read into memory. */
#ifndef BN_CORE_MAPFILE_H
#define BN_CORE_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bn_mapfile {
    const uint8_t *data;
    uint64_t size;
    int mapped;     /* 1: munmap on close; 0: free */
    int fd;         /* a mapped file stays open (for bn_mapfile_pread); else -1 */
} bn_mapfile;

/* Returns BN_OK, BN_E_IO or BN_E_NOMEM (also when mmap fails for lack of
 * address space); every message names the path. Anything but a regular file
 * (a FIFO, a device, a directory) is refused without blocking on it. */
int bn_mapfile_open(bn_mapfile *f, const char *path, int use_mmap);
void bn_mapfile_close(bn_mapfile *f);

/* Drops the file pages wholly inside [p, p + n) from memory: with mmap they
 * are re-read from the page cache only if touched again. Nothing when the
 * file was read into memory. */
void bn_mapfile_drop(const bn_mapfile *f, const void *p, uint64_t n);

/* Copies [offset, offset + n) of a mapped file with pread, without mapping
 * its pages into the process. Returns 1 when all n bytes were read. */
int bn_mapfile_pread(const bn_mapfile *f, void *dst, size_t n, uint64_t offset);

#endif
