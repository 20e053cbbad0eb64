using System.Text.RegularExpressions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary><c>templates check</c> as an operator runs it: the built executable, from the folder holding templates/.</summary>
public sealed class TemplatesCheckProcessTests
{
    [Fact]
    public async Task TemplatesCheckStillReportsOtherConfigurationMistakesWithExitTwo()
    {
        await using var host = new TestHost();
        host.CopyTemplates();
        host.Set("Newsletter:Smtp:Port", "abc");

        var result = await NewsletterProcess.RunAsync(host, ["templates", "check"]);

        Assert.True(result.Exit == 2, result.ToString());
        Assert.Contains("Newsletter:Smtp:Port must be a whole number", result.Error);
        Assert.DoesNotContain("All templates are valid", result.Output);
    }

    [Fact]
    public async Task TemplatesCheckReportsAMissingTemplateItselfNotAsAConfigurationProblem()
    {
        await using var host = new TestHost();
        var templates = host.CopyTemplates();
        File.Delete(Path.Combine(templates, "confirm.txt.sbn"));

        var result = await NewsletterProcess.RunAsync(host, ["templates", "check"]);

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Contains("templates/confirm.txt.sbn:1:1: required template is missing", result.Error);
        Assert.DoesNotContain("Invalid configuration", result.Error);
    }

    [Fact]
    public async Task EachParseErrorIsPrintedExactlyOnceInTheFileLineColumnForm()
    {
        await using var host = new TestHost();
        var templates = host.CopyTemplates();
        await File.WriteAllTextAsync(Path.Combine(templates, "digest.txt.sbn"), "line one\n{{ for entry in issue.entries }}\n{{ entry.title ");

        var result = await NewsletterProcess.RunAsync(host, ["templates", "check"]);

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
        await using var host = new TestHost();
        var templates = host.CopyTemplates();
        var confirm = Path.Combine(templates, "confirm.txt.sbn");
        await File.AppendAllTextAsync(confirm, "\n{{ include 'nope.sbn' }}\n");

        var result = await NewsletterProcess.RunAsync(host, ["templates", "check"]);

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Matches(@"(?m)^templates/confirm\.txt\.sbn:\d+:\d+: include 'nope.sbn' not found \(templates/nope\.sbn\)", result.Error);
        Assert.DoesNotContain("Unexpected exception", result.Error);
        Assert.DoesNotContain(host.Directory, result.Error);
    }
}
