using System.Text.RegularExpressions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary><c>templates check</c> as an operator runs it: the built executable, from the folder holding templates/.</summary>
public sealed class TemplatesCheckProcessTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private string _templates = "";

    /// <summary>Each test breaks its own copy of the shipped templates, in templates/ of the host's folder.</summary>
    public ValueTask InitializeAsync()
    {
        _templates = _host.CopyTemplates();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    /// <summary>The check in a child process, run from the host's folder with the host's settings.</summary>
    private Task<CliResult> CheckAsync() => NewsletterProcess.RunAsync(_host, ["templates", "check"]);

    [Fact]
    public async Task TemplatesCheckStillReportsOtherConfigurationMistakesWithExitTwo()
    {
        _host.Set("Newsletter:Smtp:Port", "abc");

        var result = await CheckAsync();

        Assert.True(result.Exit == 2, result.ToString());
        Assert.Contains("Newsletter:Smtp:Port must be a whole number", result.Error);
        Assert.DoesNotContain("All templates are valid", result.Output);
    }

    [Fact]
    public async Task TemplatesCheckReportsAMissingTemplateItselfNotAsAConfigurationProblem()
    {
        File.Delete(Path.Combine(_templates, "confirm.txt.sbn"));

        var result = await CheckAsync();

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Contains("templates/confirm.txt.sbn:1:1: required template is missing", result.Error);
        Assert.DoesNotContain("Invalid configuration", result.Error);
    }

    [Fact]
    public async Task EachParseErrorIsPrintedExactlyOnceInTheFileLineColumnForm()
    {
        await _host.WriteTemplateAsync("digest.txt.sbn", "line one\n{{ for entry in issue.entries }}\n{{ entry.title ");

        var result = await CheckAsync();

        Assert.True(result.Exit == 1, result.ToString());
        var all = result.Output + result.Error;
        Assert.DoesNotContain("fail:", all);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.All(lines, line => Assert.Matches(@"^templates/[\w.]+\.sbn:\d+:\d+: \S", line));
        Assert.Equal(lines.Length, lines.Distinct().Count());
        Assert.Single(Regex.Matches(all, @"digest\.txt\.sbn:3:"));
    }

    [Fact]
    public async Task AMissingIncludeSaysNotFoundWithTheTemplatesRelativePath()
    {
        var confirm = Path.Combine(_templates, "confirm.txt.sbn");
        await File.AppendAllTextAsync(confirm, "\n{{ include 'nope.sbn' }}\n");

        var result = await CheckAsync();

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Matches(@"(?m)^templates/confirm\.txt\.sbn:\d+:\d+: include 'nope.sbn' not found \(templates/nope\.sbn\)", result.Error);
        Assert.DoesNotContain("Unexpected exception", result.Error);
        Assert.DoesNotContain(_host.Directory, result.Error);
    }
}
