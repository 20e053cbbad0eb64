using System.Net;
using System.Net.Sockets;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

public sealed class CommandLineTests
{
    [Theory]
    [InlineData(new[] { "sned-now" }, "Unknown command 'sned-now'", "did you mean 'send-now'?")]
    [InlineData(new[] { "collect", "--verbose" }, "Unknown option '--verbose'", "collect --help")]
    [InlineData(new[] { "send-now", "--dat", "2025-09-08" }, "Unknown option '--dat'", "did you mean '--date'?")]
    [InlineData(new[] { "--url", "http://127.0.0.1:1" }, "Unknown option '--url'", "did you mean '--urls'?")]
    [InlineData(new[] { "subscribers", "ad", "a@example.org" }, "Unknown command 'ad'", "did you mean 'add'?")]
    public async Task AMistypedCommandLineExitsTwoWithASuggestionAndNeverStartsTheService(string[] args, string problem, string suggestion)
    {
        await using var host = new TestHost();
        // Hold the port the service would bind: had it started, it would say so or fail on it.
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var result = await NewsletterProcess.RunAsync(host, args, new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" });

        Assert.True(result.Exit == 2, result.ToString());
        Assert.Contains(problem, result.Error);
        Assert.Contains(suggestion, result.Error);
        Assert.DoesNotContain("listening", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("address already in use", result.Output + result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(Path.Combine(host.Directory, "newsletter.db")), "a mistyped command must not even open the database");
    }

    [Theory]
    [InlineData("help")]
    [InlineData("help", "collect")]
    public async Task HelpAsAVerbActsAsDashDashHelp(params string[] args)
    {
        await using var host = new TestHost();

        var result = await NewsletterProcess.RunAsync(host, args);

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("Usage:", result.Output);
        if (args.Length > 1)
            Assert.Contains("collect", result.Output);
    }

    [Fact]
    public async Task SendNowWithNothingToDoPrintsNoEmptyLedgerLine()
    {
        await using var host = new TestHost();

        var result = await NewsletterProcess.RunAsync(host, ["send-now"]);

        Assert.True(result.Exit == 0, result.ToString());
        Assert.DoesNotMatch(@"(?m)^Ledger: *\r?$", result.Output);
        Assert.Contains("Ledger: no deliveries yet", result.Output);
    }

    [Theory]
    [InlineData("send-now", "--", "--date", "2026-01-01")]
    [InlineData("send-now", "--", "collect")]
    public async Task ADoubleDashIsRefusedWithASentenceAndNeverSuggestsTheTokenItself(params string[] args)
    {
        await using var host = new TestHost();

        var result = await NewsletterProcess.RunAsync(host, args);

        Assert.True(result.Exit == 2, result.ToString());
        Assert.Contains("'Newsletter send-now' takes no arguments after '--'", result.Error);
        Assert.DoesNotContain("did you mean", result.Error);
        Assert.False(File.Exists(Path.Combine(host.Directory, "newsletter.db")));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("collect")]
    [InlineData("send-now")]
    [InlineData("preview")]
    [InlineData("templates")]
    [InlineData("templates", "check")]
    [InlineData("send-test")]
    [InlineData("subscribers")]
    [InlineData("subscribers", "add")]
    [InlineData("subscribers", "list")]
    [InlineData("subscribers", "remove")]
    [InlineData("subscribers", "import")]
    [InlineData("subscribers", "export")]
    public async Task EveryVerbHasHelp(params string[] verb)
    {
        await using var host = new TestHost();

        var result = await host.RunAsync([.. verb, "--help"]);

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("Usage:", result.Output);
        Assert.Contains(string.Join(' ', verb), result.Output);
    }

    [Fact]
    public async Task CollectExitsOneWhenEverySourceFailedAndSaysEachFailureOnce()
    {
        await using var host = new TestHost();
        host.UseSources(("first", "JsonFeed", "file:///nonexistent/first.json"), ("second", "Rss", "file:///nonexistent/second.xml"));

        var result = await NewsletterProcess.RunAsync(host, ["collect"]);

        Assert.True(result.Exit == 1, result.ToString());
        var all = result.Output + result.Error;
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(all, "first.json"));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(all, "second.xml"));
        Assert.Contains("Every source failed", result.Error);
    }

    [Fact]
    public async Task CollectExitsZeroWhenOneSourceWasRead()
    {
        await using var host = new TestHost();
        var feed = Path.Combine(host.Directory, "feed.json");
        await File.WriteAllTextAsync(feed, """{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}""");
        host.UseSources(("broken", "JsonFeed", "file:///nonexistent/broken.json"), ("good", "JsonFeed", new Uri(feed).AbsoluteUri));

        var result = await host.RunAsync("collect");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("(1 failed)", result.Output);
    }

    [Theory]
    [InlineData("http://localhost:5080", "http://127.0.0.1:5977", true)]
    [InlineData("http://localhost:5977", "http://127.0.0.1:5977", false)]
    [InlineData("http://127.0.0.1:5977/news", "http://0.0.0.0:5977", false)]
    [InlineData("https://papers.example.org", "http://127.0.0.1:5977", false)]
    [InlineData("http://localhost:5080", "http://[::]:5080", false)]
    public void PublicBaseUrlThatMissesTheListeningAddressIsAWarning(string publicBaseUrl, string listening, bool warned)
    {
        var warning = Newsletter.Health.StartupReport.PublicBaseUrlMismatch(publicBaseUrl, [listening]);

        Assert.Equal(warned, warning is not null);
        if (warned)
            Assert.Contains("Newsletter:PublicBaseUrl", warning);
    }
}
