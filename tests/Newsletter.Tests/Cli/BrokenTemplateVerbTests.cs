using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary>
/// While a template is broken, the verbs that render no mail still run (with a warning naming the
/// file), so an operator can look at the list, collect, copy the database and check the templates;
/// the verbs that render or send mail refuse, naming the file.
/// </summary>
public sealed class BrokenTemplateVerbTests : IAsyncLifetime
{
    private const string Broken = "templates/digest.html.sbn:2:";

    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await _host.WriteTemplateAsync("digest.html.sbn", "{{ unsubscribe_url }}\n{{ if }");
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    /// <summary>The verb as an operator runs it, from the folder holding templates/, so that files are named as they see them.</summary>
    private Task<CliResult> RunAsync(params string[] args) => NewsletterProcess.RunAsync(_host, args);

    [Fact]
    public async Task ReadOnlyVerbsRunAndWarnOfTheBrokenTemplate()
    {
        var list = await RunAsync("subscribers", "list");
        var export = await RunAsync("subscribers", "export");
        var collect = await RunAsync("collect");
        var set = await RunAsync("subscribers", "set", "ada@example.org", "--keywords", "diffusion");
        var copy = await RunAsync("database", "copy", "--provider", "Sqlite", "--to", $"Data Source={Path.Combine(_host.Directory, "copy.db")}");

        foreach (var result in new[] { list, export, collect, set, copy })
        {
            Assert.True(result.Exit == 0, result.ToString());
            Assert.Contains("Warning: required template " + Broken, result.Error);
            Assert.DoesNotContain("Invalid configuration", result.Error);
        }
        Assert.Contains("ada@example.org\tactive", list.Output);
        Assert.Contains("ada@example.org,active", export.Output);
        Assert.Contains("new entries from 1 sources", collect.Output);
        Assert.True(File.Exists(Path.Combine(_host.Directory, "copy.db")));
    }

    [Fact]
    public async Task TemplatesCheckReportsTheBrokenTemplate()
    {
        var check = await RunAsync("templates", "check");

        Assert.True(check.Exit == 1, check.ToString());
        Assert.Contains(Broken, check.Error);
    }

    [Fact]
    public async Task VerbsThatRenderMailRefuseNamingTheFile()
    {
        var sendNow = await RunAsync("send-now");
        var pending = await RunAsync("subscribers", "add", "grace@example.org");
        var confirmed = await RunAsync("subscribers", "add", "grace@example.org", "--confirmed");

        Assert.True(sendNow.Exit == 2, sendNow.ToString());
        Assert.Contains("Invalid configuration: required template " + Broken, sendNow.Error);
        // The confirmation mail is rendered from the templates too; with --confirmed no mail is sent.
        Assert.True(pending.Exit == 2, pending.ToString());
        Assert.Contains(Broken, pending.Error);
        Assert.True(confirmed.Exit == 0, confirmed.ToString());
    }
}
