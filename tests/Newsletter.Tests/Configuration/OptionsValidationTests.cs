using Microsoft.Extensions.Options;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Configuration;

public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("Newsletter:Smtp:Port", "70000", "Newsletter:Smtp:Port")]
    [InlineData("Newsletter:Smtp:MaxConnections", "0", "Newsletter:Smtp:MaxConnections")]
    [InlineData("Newsletter:Schedule:Digest", "every morning", "Newsletter:Schedule:Digest")]
    [InlineData("Newsletter:Schedule:TimeZone", "Mars/Olympus", "Newsletter:Schedule:TimeZone")]
    [InlineData("Newsletter:PublicBaseUrl", "not a url", "Newsletter:PublicBaseUrl")]
    [InlineData("Newsletter:From:Address", "nobody", "Newsletter:From:Address")]
    [InlineData("Newsletter:Sources:0:Url", "ftp://example.org/feed", "Newsletter:Sources:0:Url")]
    [InlineData("Newsletter:Delivery:Mode", "Smtp", "Newsletter:Smtp:Host")]
    [InlineData("Newsletter:MaxMoreEntriesPerIssue", "-1", "Newsletter:MaxMoreEntriesPerIssue")]
    [InlineData("Newsletter:CarryOverMaxAge", "00:00:00", "Newsletter:CarryOverMaxAge")]
    public async Task AnInvalidValueStopsAVerbWithTheKeyNamed(string key, string value, string named)
    {
        await using var host = new TestHost(new() { [key] = value });

        var result = await host.RunAsync("send-now");

        Assert.Equal(2, result.Exit);
        Assert.Contains("Invalid configuration", result.Error);
        Assert.Contains(named, result.Error);
    }

    [Theory]
    [InlineData("Data Source=data/newsletter.db", "is not an Npgsql connection string")]
    [InlineData("Port=5432;Database=newsletter", "names no Host")]
    [InlineData("Host=127.0.0.1;Username=newsletter", "names no Database")]
    [InlineData("Hots=127.0.0.1;Database=newsletter", "is not an Npgsql connection string")]
    public async Task APostgresProviderWithoutAPostgresConnectionStringSaysWhatIsMissing(string connectionString, string problem)
    {
        await using var host = new TestHost(new()
        {
            ["Newsletter:Database:Provider"] = "Postgres",
            ["Newsletter:Database:ConnectionString"] = connectionString,
        });

        var result = await host.RunAsync("send-now");

        Assert.Equal(2, result.Exit);
        Assert.Contains("Invalid configuration", result.Error);
        Assert.Contains("Newsletter:Database:ConnectionString", result.Error);
        Assert.Contains(problem, result.Error);
    }

    [Fact]
    public async Task AnInvalidValueStopsTheServiceAtStartUp()
    {
        await using var host = new TestHost(new() { ["Newsletter:Smtp:Port"] = "0", ["Newsletter:Schedule:TimeZone"] = "Nowhere/Else" });
        var app = host.Build([]);

        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        var failure = Assert.IsType<OptionsValidationException>(thrown is AggregateException aggregate ? aggregate.InnerExceptions[0] : thrown);

        var message = thrown.Message;
        Assert.Contains("Newsletter:Smtp:Port", message);
        Assert.Contains("Newsletter:Schedule:TimeZone", message);
    }

    [Fact]
    public async Task AnUnparsableEnumNamesItsKey()
    {
        await using var host = new TestHost(new() { ["Newsletter:Smtp:Security"] = "Sometimes" });

        var result = await host.RunAsync("send-now");

        Assert.NotEqual(0, result.Exit);
        Assert.Contains("Newsletter:Smtp:Security", result.Error);
    }
}
