using System.Runtime.InteropServices;

namespace Newsletter.Hosting;

/// <summary>
/// Caps glibc's malloc arenas at two, as <c>MALLOC_ARENA_MAX=2</c> would. glibc gives each thread that meets a busy
/// arena a new one (up to 8 per core), and native allocations (SQLite's page caches, OpenSSL, sockets) spread over
/// them fragment: a million-reader send grew to 258 MB resident with ~30 MB of live managed objects, and 238 MB with two
/// arenas (docs/benchmarks.md). Done first thing in Main, before the host starts its threads; elsewhere (not Linux, not
/// glibc, e.g. musl) nothing happens.
/// </summary>
internal static class MallocArenas
{
    private const int ArenaMax = -8; // M_ARENA_MAX in glibc's malloc.h

    public static void Cap()
    {
        // An operator's own MALLOC_ARENA_MAX wins.
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is not null)
            return;
        try
        {
            Mallopt(ArenaMax, 2);
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: its allocator has no arenas to cap.
        }
    }

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);
}
