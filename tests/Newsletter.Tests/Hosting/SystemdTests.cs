using System.Net.Sockets;
using System.Text;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Hosting;

/// <summary>
/// The real executable as systemd runs a <c>Type=notify</c> unit: <c>NOTIFY_SOCKET</c> names a Unix datagram socket
/// this test owns; <c>READY=1</c> must arrive only once the web front answers, and <c>STOPPING=1</c> on SIGTERM.
/// </summary>
public sealed class SystemdTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private readonly string _socketPath = Path.Combine(Path.GetTempPath(), $"nl-notify-{Guid.NewGuid():N}"[..40] + ".sock");
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public ValueTask InitializeAsync()
    {
        _socket.Bind(new UnixDomainSocketEndPoint(_socketPath));
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        File.Delete(_socketPath);
        await _host.DisposeAsync();
    }

    private async Task<string> ReceiveAsync(TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var limit = new CancellationTokenSource(timeout);
        var received = await _socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
        return Encoding.UTF8.GetString(buffer, 0, received);
    }

    [Fact]
    public async Task ReadyIsSentOnceTheWebFrontListensAndStoppingOnSigterm()
    {
        var port = SmtpSink.FreePort();
        var url = $"http://127.0.0.1:{port}";
        _host.Set("Newsletter:Schedule:Collect", "0 0 0 1 1 ? 2099");
        _host.Set("Newsletter:Schedule:Digest", "0 0 0 1 1 ? 2099");
        _host.Set("NOTIFY_SOCKET", _socketPath);
        await File.WriteAllTextAsync(Path.Combine(_host.Directory, "appsettings.json"), "{}");
        using var service = new ServiceProcess(_host, "--urls", url);

        string ready;
        try { ready = await ReceiveAsync(TimeSpan.FromSeconds(60)); }
        catch (OperationCanceledException) { throw new Xunit.Sdk.XunitException("no READY=1 within 60 s\n" + service); }

        Assert.Contains("READY=1", ready.Split('\n'));
        // At the moment systemd hears READY=1, the web front already answers.
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var health = await client.GetAsync(url + "/health");
        Assert.True((int)health.StatusCode is 200 or 503, service.ToString());

        service.Signal(ServiceProcess.SigTerm);
        var stopping = await ReceiveAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("STOPPING=1", stopping.Split('\n'));
        Assert.Equal(0, await service.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task WithoutNotifySocketNothingIsSentAndTheServiceStillStopsOnSigterm()
    {
        var port = SmtpSink.FreePort();
        _host.Set("Newsletter:Schedule:Collect", "0 0 0 1 1 ? 2099");
        await File.WriteAllTextAsync(Path.Combine(_host.Directory, "appsettings.json"), "{}");
        using var service = new ServiceProcess(_host, "--urls", $"http://127.0.0.1:{port}");
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try { await client.GetAsync($"http://127.0.0.1:{port}/health"); break; }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !service.HasExited) { await Task.Delay(100); }
        }

        service.Signal(ServiceProcess.SigTerm);

        Assert.Equal(0, await service.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, _socket.Available);
    }
}
