using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cluster;

/// <summary>
/// One instance of the real service in its own process (<c>dotnet Newsletter.dll run</c>),
/// configured through environment variables as an operator would, with an SMTP sink of its own so
/// a test can tell which instance sent what.
/// </summary>
internal sealed class ServiceNode : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServiceNode(string name, Process process, SmtpSink smtp, string baseUrl)
    {
        Name = name;
        _process = process;
        Smtp = smtp;
        BaseUrl = baseUrl;
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) lock (_log) _log.AppendLine(line.Data); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) lock (_log) _log.AppendLine(line.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public SmtpSink Smtp { get; }

    public string BaseUrl { get; }

    /// <summary>The Quartz instance id (AUTO), known once the node is up.</summary>
    public string? InstanceId { get; set; }

    public bool HasExited => _process.HasExited;

    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <param name="relayPort">Send through this relay (shared by several nodes) instead of the node's own sink.</param>
    public static ServiceNode Start(string name, TestHost host, TimeSpan smtpDelay, int connections, int? relayPort = null)
    {
        var smtp = new SmtpSink(new SinkFaults { DelayPerMessage = smtpDelay });
        var baseUrl = $"http://127.0.0.1:{SmtpSink.FreePort()}";
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = host.Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Newsletter.dll"));
        start.ArgumentList.Add("run");
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseUrl);
        foreach (var (key, value) in host.Settings)
            start.Environment[key.Replace(":", "__")] = value;
        start.Environment["Newsletter__PublicBaseUrl"] = baseUrl;
        // The shipped appsettings.json lists two internet sources; the environment overrides index
        // 0 only, so index 1 is pointed at a fixture too: no test reaches the internet.
        start.Environment["Newsletter__Sources__1__Name"] = "hf-again";
        start.Environment["Newsletter__Sources__1__Kind"] = "HuggingFaceDaily";
        start.Environment["Newsletter__Sources__1__Url"] = new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri;
        start.Environment["Newsletter__Smtp__Host"] = "127.0.0.1";
        start.Environment["Newsletter__Smtp__Port"] = (relayPort ?? smtp.Port).ToString(CultureInfo.InvariantCulture);
        start.Environment["Newsletter__Smtp__Security"] = "None";
        start.Environment["Newsletter__Smtp__MaxConnections"] = connections.ToString(CultureInfo.InvariantCulture);
        // The daily loop's lines say which node composed an issue.
        start.Environment["Logging__LogLevel__Newsletter.Orchestration"] = "Information";
        // ... and which node ran the (shared) start-up collect.
        start.Environment["Logging__LogLevel__Newsletter.Sources.Collector"] = "Information";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        return new ServiceNode(name, Process.Start(start)!, smtp, baseUrl);
    }

    /// <summary>Waits for /health to answer and returns the node's Quartz instance id.</summary>
    public async Task<string> WaitUntilUpAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Log}");
            try
            {
                var health = JsonDocument.Parse(await http.GetStringAsync("/health")).RootElement;
                if (health.GetProperty("self").GetString() is { Length: > 0 } self)
                    return self;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{Name} did not answer /health within {timeout}:\n{Log}");
    }

    /// <summary>SIGKILL: no shutdown of any kind, as when a machine dies.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            await KillAsync();
        _process.Dispose();
        await Smtp.DisposeAsync();
    }
}
