using Newsletter.Tests.Support;

namespace Newsletter.Tests.Configuration;

/// <summary>
/// A misspelt top-level section of appsettings.json ("Newsleter") is read by nobody, so every setting
/// in it would silently be its default: every verb and the service say so, with the nearest name.
/// </summary>
public sealed class UnknownSectionTests : IAsyncLifetime
{
    private const string Warning = "Warning: Unknown section 'Newsleter' in appsettings.json; did you mean 'Newsletter'? Its keys are ignored.";

    private readonly TestHost _host = new();

    /// <summary>The operator's file: the misspelt section beside the ones ASP.NET Core reads itself.</summary>
    public async ValueTask InitializeAsync() =>
        await File.WriteAllTextAsync(Path.Combine(_host.Directory, "appsettings.json"), """
            {
              "Logging": { "LogLevel": { "Default": "Warning" } },
              "AllowedHosts": "*",
              "Kestrel": { "Limits": { "MaxConcurrentConnections": 100 } },
              "ConnectionStrings": { "Other": "Data Source=other.db" },
              "Newsleter": { "Smtp": { "Host": "smtp.example.org" } },
              "Papers": { "Size": 3 }
            }
            """);

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task AVerbWarnsOfAMisspeltSectionWithTheNearestNameAndRuns()
    {
        var result = await _host.RunAsync("subscribers", "list");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains(Warning, result.Error);
        Assert.Contains("Warning: Unknown section 'Papers' in appsettings.json; its keys are ignored.", result.Error);
        Assert.Equal(2, result.Error.Split('\n').Count(l => l.StartsWith("Warning: Unknown section", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task TheBuiltExecutableWarnsForAVerbAndForTheService()
    {
        var verb = await NewsletterProcess.RunAsync(_host, ["templates", "check"]);
        Assert.True(verb.Exit == 0, verb.ToString());
        Assert.Contains(Warning, verb.Error);

        using var service = new ServiceProcess(_host, "run", "--urls", $"http://127.0.0.1:{SmtpSink.FreePort()}");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!service.Error.Contains(Warning, StringComparison.Ordinal) && !service.HasExited && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(service.Error.Contains(Warning, StringComparison.Ordinal), service.ToString());
        Assert.False(service.HasExited, service.ToString());
        service.Signal(ServiceProcess.SigTerm);
        await service.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
