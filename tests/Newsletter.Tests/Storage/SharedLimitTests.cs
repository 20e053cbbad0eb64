using System.Net;
using System.Net.Http.Json;
using Newsletter.Storage;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Storage;

/// <summary>On PostgreSQL the subscribe allowance per client holds across instances.</summary>
public sealed class SharedLimitTests
{
    [Fact]
    public async Task SubscribeRequestsSpreadOverTwoInstancesShareOneAllowance()
    {
        TestPostgres.Require();
        await using var smtp = new SmtpSink();
        await using var first = new TestHost(new() { ["Newsletter:Subscriptions:RateLimitPermits"] = "3" }, DatabaseProvider.Postgres);
        first.UseSmtp(smtp.Port);
        await using var second = new TestHost(new()
        {
            ["Newsletter:Subscriptions:RateLimitPermits"] = "3",
            ["Newsletter:Database:ConnectionString"] = first.ConnectionString,
        }, DatabaseProvider.Postgres);
        second.UseSmtp(smtp.Port);
        using var a = new HttpClient { BaseAddress = new Uri(await first.StartServiceAsync()) };
        using var b = new HttpClient { BaseAddress = new Uri(await second.StartServiceAsync()) };

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
            statuses.Add((await (i % 2 == 0 ? a : b).PostAsJsonAsync("/subscribe", new { email = $"r{i}@example.org" })).StatusCode);

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(3L, await first.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }
}
