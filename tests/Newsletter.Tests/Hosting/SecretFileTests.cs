using Newsletter.Tests.Support;

namespace Newsletter.Tests.Hosting;

/// <summary>
/// The SMTP password given only as a file (key-per-file), never in appsettings.json, the environment or a command
/// line, is what authenticates against a relay that demands it: from <c>Newsletter:SecretsPath</c>, and from
/// systemd's <c>$CREDENTIALS_DIRECTORY</c> (as <c>LoadCredential=</c> leaves it) in the real executable.
/// </summary>
public sealed class SecretFileTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new(new SinkFaults { Credentials = ("digest", "s3cret-from-a-file") });
    private readonly TestHost _host = new();
    private FixtureServer _feeds = null!;

    public async ValueTask InitializeAsync()
    {
        _feeds = await FixtureServer.StartAsync();
        _feeds.Serve("/rss/cs.AI", "arxiv_rss_cs.AI.xml");
        _host.UseSources(("arxiv-cs.AI", "Rss", _feeds.Url("/rss/cs.AI")));
        _host.UseSmtp(_smtp.Port);
        _host.Set("Newsletter:Smtp:Username", "digest");
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed")).Exit);
        Assert.Equal(0, (await _host.RunAsync("collect")).Exit);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
        await _feeds.DisposeAsync();
    }

    private string SecretsFolder(string name)
    {
        var folder = Path.Combine(_host.Directory, name);
        Directory.CreateDirectory(folder);
        // As an editor or `echo` writes it: with a final newline, which is not part of the password.
        File.WriteAllText(Path.Combine(folder, "Newsletter__Smtp__Password"), "s3cret-from-a-file\n");
        File.WriteAllText(Path.Combine(folder, ".Newsletter__Smtp__Password.swp"), "not a secret");
        return folder;
    }

    [Fact]
    public async Task APasswordInTheSecretsFolderAuthenticates()
    {
        var refused = await _host.RunAsync("send-test", "--to", "ada@example.org");
        Assert.NotEqual(0, refused.Exit);
        Assert.Contains("authentication", refused.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(_smtp.Messages);

        // Where an operator names it: appsettings.json (the folder is read before any later configuration).
        await File.WriteAllTextAsync(Path.Combine(_host.Directory, "appsettings.json"),
            System.Text.Json.JsonSerializer.Serialize(new { Newsletter = new { SecretsPath = SecretsFolder("secrets") } }));
        var sent = await _host.RunAsync("send-test", "--to", "ada@example.org");

        Assert.True(sent.Exit == 0, sent.ToString());
        await _smtp.ForMailAsync("ada@example.org");
        Assert.DoesNotContain(_host.Settings, s => s.Value?.Contains("s3cret", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task ACredentialSystemdLoadedAuthenticatesTheRealExecutable()
    {
        var credentials = SecretsFolder("credentials");

        var sent = await NewsletterProcess.RunAsync(_host, ["send-test", "--to", "ada@example.org"],
            new Dictionary<string, string?> { ["CREDENTIALS_DIRECTORY"] = credentials });

        Assert.True(sent.Exit == 0, sent.ToString());
        await _smtp.ForMailAsync("ada@example.org");
    }
}
