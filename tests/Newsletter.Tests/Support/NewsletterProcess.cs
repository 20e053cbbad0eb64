using System.Diagnostics;

namespace Newsletter.Tests.Support;

/// <summary>
/// The real built executable (<c>dotnet Newsletter.dll VERB ...</c>) in a child process, run from
/// the test host's folder and configured through environment variables, as an operator would.
/// </summary>
public static class NewsletterProcess
{
    public static async Task<CliResult> RunAsync(TestHost host, string[] args, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        // The folder's own appsettings.json keeps the shipped one (and its internet sources) out.
        var settingsFile = Path.Combine(host.Directory, "appsettings.json");
        if (!File.Exists(settingsFile))
            await File.WriteAllTextAsync(settingsFile, "{}");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = host.Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Newsletter.dll"));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Newsletter__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in host.Settings)
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return new CliResult(-1, await output, await error + "\n(killed: still running after the time limit)");
        }
        return new CliResult(process.ExitCode, await output, await error);
    }
}
