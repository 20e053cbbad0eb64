using Newsletter.Tests.Support;

namespace Newsletter.Tests.Configuration;

/// <summary>
/// Every configuration mistake is named at once — one sentence per key, allowed values listed —
/// with exit 2 and no stack trace, both for the service and for a verb.
/// </summary>
public sealed class ConfigurationCheckTests
{
    /// <summary>key, bad value, what the sentence must say.</summary>
    public static TheoryData<string, string, string> BadValues => new()
    {
        { "Newsletter:Smtp:Port", "abc", "Newsletter:Smtp:Port must be a whole number; got 'abc'" },
        { "Newsletter:Smtp:Security", "Tls", "Newsletter:Smtp:Security must be one of None, StartTls, SslOnConnect, Auto; got 'Tls'" },
        { "Newsletter:Sources:0:Kind", "RSS2", "Newsletter:Sources:0:Kind must be one of Auto, HuggingFaceDaily, Rss, Atom, JsonFeed, ArxivApi; got 'RSS2'" },
        { "Newsletter:Sources:0:Url", "ftp://example.org/feed", "Newsletter:Sources:0:Url must be an absolute http://, https:// or file:// URL" },
        { "Newsletter:Delivery:Mode", "Carrier", "Newsletter:Delivery:Mode must be one of Smtp, Pickup; got 'Carrier'" },
        { "Newsletter:Delivery:BatchSize", "0", "Newsletter:Delivery:BatchSize must be between 1 and 10000" },
        { "Newsletter:Delivery:RetryWindow", "a day", "Newsletter:Delivery:RetryWindow must be a duration" },
        { "Newsletter:Database:Provider", "MySql", "Newsletter:Database:Provider must be one of Sqlite, Postgres; got 'MySql'" },
        { "Newsletter:Schedule:TimeZone", "Mars/Olympus", "Newsletter:Schedule:TimeZone is not a known IANA time zone" },
        { "Newsletter:Schedule:Digest", "every morning", "Newsletter:Schedule:Digest is not a valid Quartz cron expression" },
        { "Newsletter:PublicBaseUrl", "papers.example.org", "Newsletter:PublicBaseUrl must be an absolute http(s) URL" },
        { "Newsletter:TemplatesPath", "/nonexistent/templates", "Newsletter:TemplatesPath must be a folder of templates; '/nonexistent/templates' does not exist" },
        { "Newsletter:Admin:AllowRemote", "yes", "Newsletter:Admin:AllowRemote must be true or false; got 'yes'" },
        { "Newsletter:Subscriptions:RateLimitPermits", "0", "Newsletter:Subscriptions:RateLimitPermits must be at least 1" },
    };

    private static readonly Dictionary<string, string> ThreeMistakes = new()
    {
        ["Newsletter:Smtp:Port"] = "abc",
        ["Newsletter:Sources:0:Kind"] = "RSS2",
        ["Newsletter:Schedule:TimeZone"] = "Mars/Olympus",
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task EachBadValueStopsTheServiceWithOneSentence(string key, string value, string sentence)
    {
        await using var host = new TestHost(new() { [key] = value });

        var result = await NewsletterProcess.RunAsync(host, ["run", "--urls", $"http://127.0.0.1:{SmtpSink.FreePort()}"]);

        AssertRefused(result, [sentence]);
    }

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task EachBadValueStopsAVerbWithOneSentence(string key, string value, string sentence)
    {
        await using var host = new TestHost(new() { [key] = value });

        var result = await host.RunAsync("send-now");

        AssertRefused(result, [sentence]);
    }

    [Fact]
    public async Task ThreeMistakesAreAllNamedByTheService()
    {
        await using var host = new TestHost(ThreeMistakes.ToDictionary(p => p.Key, p => (string?)p.Value));

        // Also without a verb: the service is the default.
        var result = await NewsletterProcess.RunAsync(host, ["--urls", $"http://127.0.0.1:{SmtpSink.FreePort()}"]);

        AssertRefused(result, ThreeMistakes.Keys.ToArray(), problems: 3);
    }

    [Fact]
    public async Task ThreeMistakesAreAllNamedByAVerb()
    {
        await using var host = new TestHost(ThreeMistakes.ToDictionary(p => p.Key, p => (string?)p.Value));

        var result = await NewsletterProcess.RunAsync(host, ["collect"]);

        AssertRefused(result, ThreeMistakes.Keys.ToArray(), problems: 3);
    }

    [Fact]
    public async Task ABrokenSourcesListIsNeverReplacedByTheDefaults()
    {
        await using var host = new TestHost();
        host.UseSources(("mine", "RSS2", "https://example.org/feed.xml"));

        var result = await host.RunAsync("collect");

        AssertRefused(result, ["Newsletter:Sources:0:Kind"]);
        Assert.DoesNotContain("huggingface.co", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ATemplatesFolderWithoutARequiredTemplateStopsStartUp()
    {
        await using var host = new TestHost();
        var templates = host.CopyTemplates();
        File.Delete(Path.Combine(templates, "digest.txt.sbn"));

        var result = await host.RunAsync("send-now");

        AssertRefused(result, ["Newsletter:TemplatesPath", "digest.txt.sbn"]);
    }

    [Fact]
    public async Task AMistypedKeyIsAWarningWithTheNearestKey()
    {
        await using var host = new TestHost(new() { ["Newsletter:Smtp:Hots"] = "smtp.example.org" });

        var result = await host.RunAsync("subscribers", "list");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("Warning: Newsletter:Smtp:Hots is not a setting this version knows and is ignored; did you mean Newsletter:Smtp:Host?", result.Error);
    }

    [Fact]
    public async Task ACommandLineOverrideReachesAVerb()
    {
        await using var host = new TestHost();

        var result = await host.RunAsync("send-now", "--Newsletter:Smtp:Port=abc");

        AssertRefused(result, ["Newsletter:Smtp:Port must be a whole number"]);
    }

    private static void AssertRefused(CliResult result, string[] sentences, int problems = 1)
    {
        Assert.True(result.Exit == 2, result.ToString());
        foreach (var sentence in sentences)
            Assert.Contains(sentence, result.Error);
        var lines = result.Error.Split('\n').Count(l => l.StartsWith("Invalid configuration: ", StringComparison.Ordinal));
        Assert.True(lines == problems, $"expected {problems} sentence(s), one per mistake:\n{result}");
        Assert.DoesNotContain("   at ", result.Output + result.Error);
        Assert.DoesNotContain("Exception", result.Output + result.Error);
        Assert.DoesNotContain("Hosting failed", result.Output + result.Error);
        Assert.DoesNotContain("listening", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
    }
}
