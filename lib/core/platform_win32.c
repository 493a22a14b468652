/* core/platform.h on Windows (built with mingw-w64; C that MSVC accepts). */
#include "core/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <bcrypt.h>

void *bn_aligned_alloc(size_t align, size_t size)
{
    /* _aligned_malloc adds the alignment and a pointer to the size */
    if (size > SIZE_MAX - align - sizeof(void *))
        return NULL;
    return _aligned_malloc(size ? size : align, align);
}

void bn_aligned_free(void *p)
{
    _aligned_free(p);
}

static DWORD error_slot = FLS_OUT_OF_INDEXES;

static void WINAPI free_error_msg(void *msg)
{
    free(msg);
}

static BOOL CALLBACK make_error_slot(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    error_slot = FlsAlloc(free_error_msg);   /* runs when a thread ends */
    return TRUE;
}

char *bn_thread_error_buffer(void)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    InitOnceExecuteOnce(&once, make_error_slot, NULL, NULL);
    if (error_slot == FLS_OUT_OF_INDEXES)
        return NULL;
    char *msg = FlsGetValue(error_slot);
    if (!msg && (msg = calloc(1, BN_ERROR_MSG_SIZE)) && !FlsSetValue(error_slot, msg)) {
        free(msg);
        msg = NULL;
    }
    return msg;
}

int bn_os_random(void *buf, size_t n)
{
    return n <= 0xffffffffu
        && BCryptGenRandom(NULL, buf, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}

uint64_t bn_time_ns(void)
{
    FILETIME ft;    /* 100 ns units since 1601 */
    GetSystemTimePreciseAsFileTime(&ft);
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (t - 116444736000000000ull) * 100u;
}

uint64_t bn_monotonic_ns(void)
{
    LARGE_INTEGER c, f;
    QueryPerformanceCounter(&c);
    QueryPerformanceFrequency(&f);
    /* seconds and remainder apart: c * 1e9 overflows after a few hours */
    const uint64_t n = (uint64_t)c.QuadPart, hz = (uint64_t)f.QuadPart;
    return n / hz * 1000000000u + n % hz * 1000000000u / hz;
}

int bn_cpu_count(void)
{
    /* all processor groups: GetSystemInfo counts only the caller's (64) */
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
}

size_t bn_page_size(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize ? si.dwPageSize : 4096;
}

/* Unlocking pages that are not locked takes them out of the working set,
 * the documented way to trim it; the call then fails, by design. */
void bn_release_mapped(void *p, size_t n)
{
    (void)VirtualUnlock(p, n);
}

int bn_file_open_read(const char *path)
{
    /* UTF-8 to UTF-16: the narrow calls would take the ANSI code page */
    int wn = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (wn <= 0) {
        errno = ENOENT;
        return -1;
    }
    wchar_t *wpath = malloc((size_t)wn * sizeof *wpath);
    if (!wpath) {
        errno = ENOMEM;
        return -1;
    }
    MultiByteToWideChar(CP_UTF8, 0, path, -1, wpath, wn);
    /* CreateFileW rather than _wopen: with FILE_FLAG_BACKUP_SEMANTICS a
     * directory opens too, so that fstat says what it is, as on POSIX */
    HANDLE h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    free(wpath);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        errno = e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ? ENOENT
              : e == ERROR_ACCESS_DENIED || e == ERROR_SHARING_VIOLATION ? EACCES : EIO;
        return -1;
    }
    int fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY);
    if (fd < 0) {
        CloseHandle(h);
        errno = EMFILE;
    }
    return fd;
}

int bn_file_regular(int fd, const char **kind)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    DWORD type = GetFileType(h);
    BY_HANDLE_FILE_INFORMATION fi;
    if (type == FILE_TYPE_PIPE)
        *kind = "a FIFO";
    else if (type == FILE_TYPE_CHAR)
        *kind = "a character device";
    else if (type != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &fi))
        *kind = "special";
    else if (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
        *kind = "a directory";
    else if (fi.dwFileAttributes & FILE_ATTRIBUTE_DEVICE)
        *kind = "a device";
    else
        return 1;
    return 0;
}

void *bn_file_map(int fd, size_t size)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return NULL;
    }
    HANDLE m = CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL);
    if (!m) {
        errno = EACCES;
        return NULL;
    }
    void *p = MapViewOfFile(m, FILE_MAP_READ, 0, 0, size);
    CloseHandle(m);     /* the view keeps the mapping alive */
    if (!p)
        errno = ENOMEM;
    return p;
}

void bn_file_unmap(void *p, size_t size)
{
    (void)size;
    UnmapViewOfFile(p);
}

int64_t bn_file_pread(int fd, void *dst, size_t n, uint64_t offset)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)offset;
    ov.OffsetHigh = (DWORD)(offset >> 32);
    DWORD chunk = n > 0x40000000u ? 0x40000000u : (DWORD)n, got = 0;
    if (!ReadFile(h, dst, chunk, &got, &ov)) {
        if (GetLastError() == ERROR_HANDLE_EOF)
            return 0;
        errno = EIO;
        return -1;
    }
    return (int64_t)got;
}

void *bn_memmem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    const unsigned char *h = hay, *n = needle;
    if (nlen == 0 || nlen > hlen)
        return NULL;
    for (size_t i = 0; i <= hlen - nlen; i++) {
        const unsigned char *c = memchr(h + i, n[0], hlen - nlen + 1 - i);
        if (!c)
            return NULL;
        i = (size_t)(c - h);
        if (!memcmp(c, n, nlen))
            return (void *)c;
    }
    return NULL;
}

/* XSTATE_AMX_TILE_CONFIG (17) and XSTATE_AMX_TILE_DATA (18). Windows hands
 * every process the state it enabled: no request. */
int bn_os_amx_available(void)
{
    const DWORD64 amx = (DWORD64)3 << 17;
    return (GetEnabledXStateFeatures() & amx) == amx;
}

int bn_os_amx_request(void)
{
    return bn_os_amx_available();
}
