using System.Net;
using System.Net.Sockets;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary>What an operator sees when the service or a verb cannot start: one sentence, no trace.</summary>
public sealed class StartupFailureTests
{
    [Theory]
    [InlineData("{ \"Newsletter\": { ", "line 1, column 19")]
    [InlineData("[1,2]", "must be an object")]
    [InlineData("\"hi\"", "must be an object")]
    [InlineData("", "the file is empty")]
    public async Task ABrokenAppsettingsFileIsOneSentenceNamingTheFileAndExitsTwo(string content, string detail)
    {
        await using var host = new TestHost();
        var file = Path.Combine(host.Directory, "appsettings.json");
        await File.WriteAllTextAsync(file, content);

        foreach (var args in new[] { new[] { "collect" }, ["run", "--urls", "http://127.0.0.1:1"] })
        {
            var result = await NewsletterProcess.RunAsync(host, args);

            Assert.True(result.Exit == 2, result.ToString());
            Assert.Contains($"cannot read {file}", result.Error);
            Assert.Contains(detail, result.Error);
            Assert.DoesNotContain("   at ", result.Output + result.Error);
            Assert.DoesNotContain("Unhandled exception", result.Error);
        }
    }

    [Fact]
    public async Task ABadUrlsIsOneSentenceExitTwoAndTheDatabaseIsNotCreated()
    {
        await using var host = new TestHost();

        var result = await NewsletterProcess.RunAsync(host, ["run", "--urls", "notaurl"]);

        Assert.True(result.Exit == 2, result.ToString());
        Assert.Contains("--urls", result.Error);
        Assert.Contains("'notaurl'", result.Error);
        Assert.DoesNotContain("   at ", result.Output + result.Error);
        Assert.False(File.Exists(Path.Combine(host.Directory, "newsletter.db")));
    }

    [Fact]
    public async Task ABusyPortIsOneSentenceAndExitOne()
    {
        await using var host = new TestHost();
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}";

        var result = await NewsletterProcess.RunAsync(host, ["run", "--urls", url]);

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Contains($"Cannot listen on {url}: address already in use", result.Error);
        Assert.DoesNotContain("   at ", result.Output + result.Error);
        Assert.DoesNotContain("Hosting failed to start", result.Output + result.Error);
    }

    [Fact]
    public async Task AnUnopenableDatabaseStopsTheServiceWithOneSentence()
    {
        await using var host = new TestHost();
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite); // a SQLite connection string is the subject
        host.Set("Newsletter:Database:ConnectionString", "Data Source=/proc/nope/x.db");

        var result = await NewsletterProcess.RunAsync(host, ["run", "--urls", $"http://127.0.0.1:{SmtpSink.FreePort()}"]);

        Assert.True(result.Exit == 2, result.ToString());
        Assert.Contains("Cannot start:", result.Error);
        Assert.DoesNotContain("   at ", result.Output + result.Error);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("collect")]
    public async Task AMalformedConnectionStringIsAConfigurationProblemNamingTheKey(string verb)
    {
        await using var host = new TestHost();
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite); // a SQLite connection string is the subject
        host.Set("Newsletter:Database:ConnectionString", "Foo=bar");

        var result = await NewsletterProcess.RunAsync(host, verb == "run" ? ["run", "--urls", $"http://127.0.0.1:{SmtpSink.FreePort()}"] : [verb]);

        Assert.True(result.Exit == 2, result.ToString());
        Assert.Contains("Newsletter:Database:ConnectionString is not a valid SQLite connection string", result.Error);
        Assert.DoesNotContain("   at ", result.Output + result.Error);
    }

    [Theory]
    [InlineData("file")]
    [InlineData("/proc/nope/preview")]
    public async Task PreviewOutThatCannotBeWrittenIsOneLineExitOne(string where)
    {
        await using var host = new TestHost();
        var target = where == "file" ? Path.Combine(host.Directory, "taken") : where;
        if (where == "file")
            await File.WriteAllTextAsync(target, "x");

        var result = await NewsletterProcess.RunAsync(host, ["preview", "--out", target]);

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Contains($"Cannot write the preview to {target}", result.Error);
        Assert.DoesNotContain("   at ", result.Output + result.Error);
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
