using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary>
/// <c>templates check --lint</c>: the rendered sample mails against caniemail's data and
/// html-validate's accessibility rules, through Node and the npm packages of <c>lint/</c>
/// (installed by <c>npm ci --prefix lint</c>, as <c>.ci/lint-mail.sh</c> does).
/// </summary>
public sealed class MailLintTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task LintWithoutItsPackagesSaysInOneLineHowToGetThemAndPasses()
    {
        // The default place (lint/node_modules under the current directory) holds nothing here.
        var result = await _host.RunAsync("templates", "check", "--lint");

        Assert.Equal(0, result.Exit);
        Assert.Contains("All templates are valid.", result.Output);
        var note = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Mail lint not run: its npm packages are not in ", note);
        Assert.Contains("`npm ci --prefix lint`", note);
    }

    [Fact]
    public async Task LintWithANamedFolderThatLacksThePackagesFails()
    {
        var result = await _host.RunAsync("templates", "check", "--lint", "--lint-modules", Path.Combine(_host.Directory, "nothing-here"));

        Assert.Equal(1, result.Exit);
        Assert.Contains("Mail lint not run: its npm packages are not in " + Path.Combine(_host.Directory, "nothing-here"), result.Error);
    }

    [Fact]
    public async Task TheShippedTemplatesPassTheLint()
    {
        var result = await LintAsync();

        Assert.True(result.Exit == 0, result.Output + result.Error);
        Assert.Contains("Mail lint: 4 sample mails", result.Output);
        Assert.Contains(": no problems", result.Output);
        Assert.DoesNotContain("matched nothing", result.Output);
    }

    [Fact]
    public async Task ThePaddedLinkButtonOnABodyBackdropFailsAndTheLintNamesWhatOutlookLacks()
    {
        // The confirmation mail as it was: a link styled as a button, centred with auto margins on a <body> backdrop.
        await _host.WriteTemplateAsync("confirm.html.sbn", """
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><title>Confirm your subscription</title></head>
            <body style="margin:0;padding:24px;background:#f6f6f4;">
            <table role="presentation" width="560" style="max-width:560px;width:100%;margin:0 auto;background:#ffffff;border-radius:8px;">
            <tr><td style="padding:28px;">
            <p><a href="{{ confirm_url }}" style="display:inline-block;padding:11px 22px;background:#0b57d0;color:#ffffff;border-radius:8px;">Confirm subscription</a></p>
            </td></tr>
            </table>
            </body>
            </html>
            """);

        var result = await LintAsync();

        Assert.Equal(1, result.Exit);
        Assert.Contains("confirm.html.sbn (confirmation): `padding` on <a>: works only on table cells, not on <a> (outlook.windows, outlook.windows-mail; caniemail)", result.Error);
        Assert.Contains("confirm.html.sbn (confirmation): `display` on <a>: supports only display:none, not display:inline-block (outlook.windows", result.Error);
        Assert.Contains("confirm.html.sbn (confirmation): `margin` on <table>: ignores `auto`", result.Error);
        Assert.Contains("confirm.html.sbn (confirmation): `max-width` on <table>: does not work on <table> (apple-mail.ios", result.Error);
        Assert.Contains("confirm.html.sbn (confirmation): `<body> element` on <body>: drops or replaces <body> and its styles", result.Error);
        Assert.DoesNotContain("digest.html.sbn", result.Error);
        Assert.Contains("problem(s)", result.Output);
    }

    [Fact]
    public async Task APreheaderHiddenWithDisplayNoneAloneFailsWhereItWouldShow()
    {
        var shipped = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "templates", "digest.html.sbn"));
        var start = shipped.IndexOf("<div class=\"preheader\" style=\"", StringComparison.Ordinal);
        var end = shipped.IndexOf('"', start + "<div class=\"preheader\" style=\"".Length);
        await _host.WriteTemplateAsync("digest.html.sbn", shipped[..start] + "<div class=\"preheader\" style=\"display:none" + shipped[end..]);

        var result = await LintAsync();

        Assert.Equal(1, result.Exit);
        Assert.Contains("digest.html.sbn (digest): `display:none` on <div>: not supported, so the hidden content shows", result.Error);
        Assert.Contains("(gmail.mobile-webmail; caniemail)", result.Error);
        Assert.DoesNotContain("confirm.html.sbn", result.Error);
    }

    [Fact]
    public async Task WithoutTheirExceptionsTheShippedTemplatesFailOnTheAcceptedFeatures()
    {
        await _host.WriteTemplateAsync("lint-exceptions.txt", "");

        var result = await LintAsync();

        Assert.Equal(1, result.Exit);
        Assert.Contains("`border-radius` on <table>: not supported (outlook.windows, outlook.windows-mail; caniemail)", result.Error);
    }

    [Fact]
    public async Task AnExceptionWithoutAReasonIsRefusedWithItsLine()
    {
        await _host.WriteTemplateAsync("lint-exceptions.txt", "# accepted\n`border-radius` | outlook.windows\n");

        var result = await LintAsync();

        Assert.Equal(1, result.Exit);
        Assert.Contains("lint-exceptions.txt:2: an exception is \"FEATURE | CLIENTS | REASON\"", result.Error);
    }

    /// <summary>The real lint; skipped (failed under the CI switch) when Node or the packages are missing.</summary>
    private async Task<CliResult> LintAsync()
    {
        var modules = Path.Combine(RepositoryRoot(), "lint", "node_modules");
        SystemPrograms.Require(Directory.Exists(Path.Combine(modules, "html-validate")) && Directory.Exists(Path.Combine(modules, "@jsx-email", "doiuse-email")),
            $"the mail lint's npm packages are not in {modules}: install them with `npm ci --prefix lint` in the repository root (Node.js 20+: `apt-get install nodejs npm`)");
        return await _host.RunAsync("templates", "check", "--lint", "--lint-modules", modules);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Newsletter.sln")))
                return directory.FullName;
        throw new InvalidOperationException($"No Newsletter.sln above {AppContext.BaseDirectory}.");
    }
}
