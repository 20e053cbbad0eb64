using System.Diagnostics;
using System.Text;

namespace Newsletter.Tests.Support;

/// <summary>
/// The real executable in a child process, configured through environment variables as an
/// operator would, with its output collected (the pipes are drained so it never blocks).
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    public ServiceProcess(TestHost host, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = host.Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Newsletter.dll"));
        foreach (var argument in args)
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in host.Settings)
            start.Environment[key.Replace(":", "__")] = value;
        Process = Process.Start(start)!;
        Process.OutputDataReceived += (_, line) => { if (line.Data is not null) lock (_output) _output.AppendLine(line.Data); };
        Process.ErrorDataReceived += (_, line) => { if (line.Data is not null) lock (_error) _error.AppendLine(line.Data); };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Output { get { lock (_output) return _output.ToString(); } }

    public string Error { get { lock (_error) return _error.ToString(); } }

    public int ExitCode => Process.ExitCode;

    public bool HasExited => Process.HasExited;

    /// <summary>Sends a POSIX signal (SIGTERM = 15, SIGINT = 2), as systemd, docker stop or Ctrl+C would.</summary>
    public void Signal(int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
            throw new InvalidOperationException($"kill -{signal} {Process.Id} failed");
    }

    public const int SigInt = 2;
    public const int SigTerm = 15;

    /// <summary>SIGKILL: no cleanup of any kind.</summary>
    public void KillHard()
    {
        Process.Kill(entireProcessTree: true);
        Process.WaitForExit();
    }

    /// <summary>Waits for the exit, then for the output pipes to be drained.</summary>
    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await Process.WaitForExitAsync(cancel.Token);
        Process.WaitForExit();
        return Process.ExitCode;
    }

    public override string ToString() => $"exit {(HasExited ? ExitCode : "(running)")}\n--- stdout\n{Output}\n--- stderr\n{Error}";

    public void Dispose()
    {
        if (!Process.HasExited)
            KillHard();
        Process.Dispose();
    }
}
