using System.Diagnostics;

namespace Newsletter.Delivery;

/// <summary>
/// Who holds a delivery run's claims: this host, process and process start. A run registers
/// itself and beats; another run takes a dead owner's claims at once instead of waiting for
/// <c>Delivery:LeaseDuration</c>.
/// </summary>
/// <remarks>
/// On the same host (and PID namespace: two containers can share a host name and PIDs, never a
/// namespace) a dead process is certain: its PID is gone or belongs to a younger process. Elsewhere
/// only the heartbeat tells, so an owner counts as dead when it has missed three beats.
/// </remarks>
public sealed record RunOwner(string Id, string Host, long Pid, long StartedAt)
{
    /// <summary>This process as an owner, with a fresh id per run.</summary>
    public static RunOwner ForThisRun()
    {
        using var self = Process.GetCurrentProcess();
        var started = new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
        return new RunOwner($"{ThisHost}/{self.Id}/{Guid.NewGuid():N}", ThisHost, self.Id, started);
    }

    /// <summary>The host name plus, on Linux, the PID namespace: what makes a PID mean one process.</summary>
    public static readonly string ThisHost = Environment.MachineName + PidNamespace();

    private static string PidNamespace()
    {
        try
        {
            // "pid:[4026531836]": differs per container even when host names repeat.
            return File.ResolveLinkTarget("/proc/self/ns/pid", returnFinalTarget: false) is { } target ? "#" + target.Name : "";
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return "";
        }
    }

    /// <summary>Whether an owner recorded on this host is certainly gone (false when it is elsewhere or alive).</summary>
    public static bool IsGoneFromThisHost(string host, long pid, long startedAt)
    {
        if (host != ThisHost)
            return false;
        try
        {
            using var process = Process.GetProcessById((int)pid);
            var started = new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
            // The same PID with another start time is a new process that reused the number.
            return Math.Abs(started - startedAt) > 2000;
        }
        catch (ArgumentException)
        {
            return true; // no such process
        }
        catch (Exception exception) when (exception is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return false; // cannot tell: leave it to the heartbeat
        }
    }
}

/// <summary>An owner as stored, with its last heartbeat.</summary>
public sealed record StoredRunOwner(string Id, string Host, long Pid, long StartedAt, long HeartbeatAt);
