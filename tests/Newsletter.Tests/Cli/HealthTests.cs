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

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"database\":{\"status\":\"Healthy\"", body);
        Assert.Contains("\"templates\":{\"status\":\"Healthy\"", body);
    }
}
