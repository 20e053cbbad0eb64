using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Newsletter.Tests.Cli;

public sealed class HealthTests
{
    [Fact]
    public async Task HealthReportsDatabaseAndTemplates()
    {
        var directory = Path.Combine(Path.GetTempPath(), "newsletter-tests", Guid.NewGuid().ToString("N"));
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("Newsletter:Database:ConnectionString", $"Data Source={Path.Combine(directory, "n.db")}");
            web.UseSetting("Newsletter:TemplatesPath", Path.Combine(AppContext.BaseDirectory, "templates"));
            web.UseSetting("Newsletter:Sources:0:Name", "none");
            web.UseSetting("Newsletter:Sources:0:Url", "file:///nonexistent.json");
            web.UseSetting("Newsletter:Schedule:Collect", "0 0 0 1 1 ? 2099");
        });
        var client = factory.CreateClient();

        var response = await client.GetAsync("/health");

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Contains("\"database\":{\"status\":\"Healthy\"", body);
        Assert.Contains("\"templates\":{\"status\":\"Healthy\"", body);
    }
}

public sealed class TemplateHealthTests
{
    private static async Task<string> TemplatesStatusAsync(HttpClient client, string expected)
    {
        // Template edits are picked up a moment after the file is quiet.
        var body = "";
        for (var attempt = 0; attempt < 50; attempt++)
        {
            body = await (await client.GetAsync("/health")).Content.ReadAsStringAsync();
            if (body.Contains($"\"templates\":{{\"status\":\"{expected}\"", StringComparison.Ordinal))
                return body;
            await Task.Delay(100);
        }
        return body;
    }

    [Fact]
    public async Task ARequiredTemplateWithARuntimeErrorDegradesHealthAndADeletedOneMakesItUnhealthy()
    {
        await using var host = new Support.TestHost();
        var templates = host.CopyTemplates();
        var baseUrl = await host.StartServiceAsync();
        using var client = new HttpClient { BaseAddress = new Uri(baseUrl) };
        Assert.Contains("\"templates\":{\"status\":\"Healthy\"", await TemplatesStatusAsync(client, "Healthy"));

        // Parses, but fails every time it renders: each confirmation mail would fail.
        await File.AppendAllTextAsync(Path.Combine(templates, "confirm.txt.sbn"), "\n{{ include 'nope.sbn' }}\n");
        var degraded = await TemplatesStatusAsync(client, "Degraded");
        Assert.Contains("\"templates\":{\"status\":\"Degraded\"", degraded);
        Assert.Contains("confirm.txt.sbn", degraded);
        Assert.Contains("nope.sbn", degraded);

        File.Delete(Path.Combine(templates, "confirm.html.sbn"));
        var unhealthy = await TemplatesStatusAsync(client, "Unhealthy");
        Assert.Contains("\"templates\":{\"status\":\"Unhealthy\"", unhealthy);
        Assert.Contains("confirm.html.sbn", unhealthy);
    }

    [Fact]
    public async Task ARequiredTemplateThatDoesNotParseAtStartUpIsAStartUpError()
    {
        await using var host = new Support.TestHost();
        var templates = host.CopyTemplates();
        await File.WriteAllTextAsync(Path.Combine(templates, "confirm.txt.sbn"), "{{ if }");

        var result = await Support.NewsletterProcess.RunAsync(host, ["run", "--urls", $"http://127.0.0.1:{Support.SmtpSink.FreePort()}"]);

        Assert.True(result.Exit == 2, result.ToString());
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(result.Error, @"required template templates/confirm\.txt\.sbn:\d+:\d+: "));
        Assert.DoesNotContain("   at ", result.Output + result.Error);
    }
}
