/* What differs between POSIX systems and Windows, in one place: the engine
 * calls these and never includes an OS header for them. One implementation
 * per OS, chosen by Meson: platform_posix.c, platform_win32.c. Threads are
 * POSIX threads everywhere (mingw-w64's winpthreads on Windows). */
#ifndef BN_CORE_PLATFORM_H
#define BN_CORE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Memory aligned to `align` (a power of two, at least sizeof(void *)), of
 * at least `size` bytes; NULL when out of memory. Windows has no
 * aligned_alloc whose memory free() takes: release with bn_aligned_free. */
void *bn_aligned_alloc(size_t align, size_t size);
void bn_aligned_free(void *p);

/* The calling thread's buffer of BN_ERROR_MSG_SIZE bytes for its last
 * error message (zeroed when new), or NULL when it cannot be had. POSIX: a
 * _Thread_local array. Windows: allocated on first use and freed when the
 * thread ends, because GCC's emulated TLS on mingw-w64 aborts the process
 * when its own allocation fails. */
#define BN_ERROR_MSG_SIZE 512
char *bn_thread_error_buffer(void);

/* Fills buf with n bytes from the OS's random generator (Linux getrandom,
 * Windows BCryptGenRandom) without blocking; 0 when there is none or it
 * failed. */
int bn_os_random(void *buf, size_t n);

/* The wall-clock time in nanoseconds since 1970 (for seeds, not timing). */
uint64_t bn_time_ns(void);

/* A monotonic clock in nanoseconds from an arbitrary start, for timing. */
uint64_t bn_monotonic_ns(void);

/* Logical CPUs online for this process, at least 1. */
int bn_cpu_count(void);

/* The virtual memory page size in bytes. */
size_t bn_page_size(void);

/* Drops the pages of a read-only file mapping inside [p, p + n) from the
 * process's memory; they are read again from the page cache only if
 * touched. A hint: does nothing where unsupported. */
void bn_release_mapped(void *p, size_t n);

/* Opens a file read-only (UTF-8 path, binary, not inherited by child
 * processes) without waiting: a FIFO or a device must not block the open
 * before bn_file_regular can refuse it (POSIX: O_NONBLOCK, and O_NOCTTY: a
 * terminal never becomes ours). A file descriptor, or -1 with errno set. */
int bn_file_open_read(const char *path);

/* 1 when an open file is a regular file, which then reads blocking as usual;
 * 0 when not, with *kind naming it ("a directory", "a FIFO", ...); -1 with
 * errno when the file could not be made blocking. fstat cannot tell on
 * Windows, where it calls a directory regular. */
int bn_file_regular(int fd, const char **kind);

/* Maps `size` bytes (> 0) of an open file read-only; NULL with errno set on
 * failure. bn_file_unmap takes the same size. */
void *bn_file_map(int fd, size_t size);
void bn_file_unmap(void *p, size_t size);

/* Reads up to n bytes at `offset` without using the file position; the byte
 * count, 0 at the end of the file, or -1 with errno set. */
int64_t bn_file_pread(int fd, void *dst, size_t n, uint64_t offset);

/* The first occurrence of needle (nlen > 0 bytes) in hay, or NULL. */
void *bn_memmem(const void *hay, size_t hlen, const void *needle, size_t nlen);

/* AMX on x86-64: whether the OS can hand this process the tile data state
 * (Linux: on request; Windows: when the kernel enabled it among the XSAVE
 * features. Wine on Linux cannot make Linux's request and reports only x87,
 * SSE and AVX, so AMX is not used there), and the request itself: 1 when the
 * state is granted. */
int bn_os_amx_available(void);
int bn_os_amx_request(void);

#endif
