/* core/platform.h on POSIX systems (Linux, the BSDs, macOS). */
#include "core/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>
#if defined(__linux__)
#include <sys/syscall.h>
#  if defined(__has_include)
#    if __has_include(<sys/random.h>)
#      include <sys/random.h>
#      define HAVE_GETRANDOM 1
#    endif
#  endif
#endif

void *bn_aligned_alloc(size_t align, size_t size)
{
    /* C11 wants the size to be a multiple of the alignment */
    size_t rounded = (size + align - 1) & ~(align - 1);
    return rounded < size ? NULL : aligned_alloc(align, rounded ? rounded : align);
}

void bn_aligned_free(void *p)
{
    free(p);
}

char *bn_thread_error_buffer(void)
{
    static _Thread_local char msg[BN_ERROR_MSG_SIZE];
    return msg;
}

int bn_os_random(void *buf, size_t n)
{
#if defined(HAVE_GETRANDOM)
    return getrandom(buf, n, GRND_NONBLOCK) == (ssize_t)n;
#else
    (void)buf;
    (void)n;
    return 0;
#endif
}

uint64_t bn_time_ns(void)
{
    struct timespec t = { 0, 0 };
    timespec_get(&t, TIME_UTC);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t bn_monotonic_ns(void)
{
    struct timespec t = { 0, 0 };
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int bn_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
}

size_t bn_page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

void bn_release_mapped(void *p, size_t n)
{
    (void)madvise(p, n, MADV_DONTNEED);
}

int bn_file_open_read(const char *path)
{
    return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
}

int bn_file_regular(int fd, const char **kind)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        *kind = S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO"
              : S_ISCHR(st.st_mode) ? "a character device" : S_ISBLK(st.st_mode) ? "a block device"
              : S_ISSOCK(st.st_mode) ? "a socket" : "special";
        return 0;
    }
    return fcntl(fd, F_SETFL, 0) == 0 ? 1 : -1;
}

void *bn_file_map(int fd, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

void bn_file_unmap(void *p, size_t size)
{
    munmap(p, size);
}

int64_t bn_file_pread(int fd, void *dst, size_t n, uint64_t offset)
{
    return pread(fd, dst, n, (off_t)offset);
}

void *bn_memmem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    return memmem(hay, hlen, needle, nlen);
}

int bn_os_amx_available(void)
{
#if defined(__linux__)
    return 1;
#else
    return 0;
#endif
}

/* Linux (5.16+) gives a process the AMX tile data state only on request;
 * once granted, every thread's signal frames are larger (doc/design.md). */
int bn_os_amx_request(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return 0;
#endif
}
