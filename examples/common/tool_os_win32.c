/* examples/common/tool_os.h on Windows. */
#include "tool_os.h"

#include <io.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <psapi.h>

void bn_tool_fill_std_fds(void)
{
}

int bn_tool_exe_dir(char *buf, size_t size)
{
    wchar_t w[32768];
    DWORD n = GetModuleFileNameW(NULL, w, (DWORD)(sizeof w / sizeof w[0]));
    if (n == 0 || n >= sizeof w / sizeof w[0])
        return 0;
    wchar_t *slash = wcsrchr(w, L'\\');
    if (!slash)
        return 0;
    *slash = 0;
    /* UTF-8, as the library takes paths */
    int k = WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, size > 0x7fffffff ? 0x7fffffff : (int)size, NULL, NULL);
    return k > 0;
}

int bn_tool_readable(const char *path)
{
    int wn = MultiByteToWideChar(CP_UTF8, 0, path, -1, NULL, 0);
    if (wn <= 0 || wn > 32768)
        return 0;
    wchar_t w[32768];
    MultiByteToWideChar(CP_UTF8, 0, path, -1, w, wn);
    return _waccess(w, 4) == 0;
}

long bn_tool_peak_rss_kb(void)
{
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc))
        return 0;
    return (long)(pmc.PeakWorkingSetSize / 1024);
}

void *bn_tool_huge_alloc(size_t bytes)
{
    return _aligned_malloc(bytes ? bytes : 1, (size_t)2 << 20);
}

void bn_tool_huge_free(void *p)
{
    _aligned_free(p);
}

/* The CRT's signal() resets the handler before calling it: re-armed first
 * (the handler may still set SIG_DFL itself). It runs on its own thread. */
static void (*volatile sigint_handler)(int);

static void sigint_trampoline(int sig)
{
    signal(SIGINT, sigint_trampoline);
    sigint_handler(sig);
}

void bn_tool_on_sigint(void (*handler)(int))
{
    sigint_handler = handler;
    signal(SIGINT, sigint_trampoline);
}

/* The console's Ctrl-C runs its handler on a thread of its own: it never
 * interrupts a write. */
void bn_tool_hold_sigint(int hold)
{
    (void)hold;
}

double bn_tool_in_child(double (*fn)(void *), void *arg)
{
    return fn(arg);
}
