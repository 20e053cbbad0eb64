using System.Diagnostics;

namespace Newsletter.Tests.Support;

/// <summary>
/// Postfix's <c>smtp-sink</c> (Debian package <c>postfix</c>, installed by <c>.ci/run</c>; the
/// daemon is never started) on a free 127.0.0.1 port, for faults at the wire level.
/// </summary>
public sealed class PostfixSink : IDisposable
{
    public static string Executable => SystemPrograms.SmtpSink;

    private readonly Process _process;

    /// <param name="faults">smtp-sink options, e.g. <c>-q .</c> to hang up after DATA without replying.</param>
    public PostfixSink(params string[] faults)
    {
        SystemPrograms.RequireSmtpSink();
        Port = SmtpSink.FreePort();
        var start = new ProcessStartInfo(Executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-4", "-u", "nobody", "-t", "10" }.Concat(faults).Concat([$"127.0.0.1:{Port}", "64"]))
            start.ArgumentList.Add(argument);
        _process = Process.Start(start) ?? throw new InvalidOperationException("smtp-sink did not start");
        if (!SmtpSink.WaitUntilListening(Port))
            throw new InvalidOperationException($"smtp-sink did not listen on {Port}: {_process.StandardError.ReadToEnd()}");
    }

    public int Port { get; }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }
}
