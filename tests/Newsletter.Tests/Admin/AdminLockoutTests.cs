using System.Net;
using System.Net.Http.Headers;
using Newsletter.Storage;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Admin;

/// <summary>
/// Guessing the admin password against several instances on one PostgreSQL database: the lockout
/// is kept in the database, so the instances share one allowance and one lock.
/// </summary>
public sealed class AdminLockoutTests
{
    private const string Password = "correct horse battery staple";

    [Fact]
    public async Task FiveWrongPasswordsAgainstOneInstanceLockTheCredentialOnAll()
    {
        TestPostgres.Require();
        await using var first = Instance(null);
        await using var second = Instance(first.ConnectionString);
        await using var third = Instance(first.ConnectionString);
        using var a = Client(await first.StartServiceAsync());
        using var b = Client(await second.StartServiceAsync());
        using var c = Client(await third.StartServiceAsync());

        for (var i = 1; i <= 5; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await PreviewAsync(a, "wrong " + i)).StatusCode);

        // Now even the right password is refused unchecked, on every instance, for a minute.
        foreach (var instance in new[] { b, c, a })
        {
            var refused = await PreviewAsync(instance, Password);
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(60));
        }
        Assert.Equal(5, first.Logs.Count(line => line.Contains("Admin authentication failed from loopback", StringComparison.Ordinal)));
        Assert.Contains(first.Logs, line => line.Contains("(5 in a row; locked for 60 s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AParallelBurstOverTwoInstancesGetsFiveTriesInAll()
    {
        TestPostgres.Require();
        await using var first = Instance(null);
        await using var second = Instance(first.ConnectionString);
        using var a = Client(await first.StartServiceAsync());
        using var b = Client(await second.StartServiceAsync());

        // Counted before checked: however the attempts race, only five are ever compared.
        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => PreviewAsync(i % 2 == 0 ? a : b, "guess " + i)));

        Assert.Equal(5, answers.Count(r => r.StatusCode == HttpStatusCode.Unauthorized));
        Assert.Equal(25, answers.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task TheRightPasswordBeforeTheFifthFailureStartsTheCountAfresh()
    {
        await using var host = new TestHost(new() { ["Newsletter:Admin:Password"] = Password });
        using var client = Client(await host.StartServiceAsync());

        for (var i = 0; i < 4; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await PreviewAsync(client, "wrong")).StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await PreviewAsync(client, Password)).StatusCode);
        for (var i = 0; i < 4; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await PreviewAsync(client, "wrong")).StatusCode);
        Assert.NotEqual(HttpStatusCode.TooManyRequests, (await PreviewAsync(client, Password)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PreviewAsync(client, "wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PreviewAsync(client, "wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PreviewAsync(client, "wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PreviewAsync(client, "wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PreviewAsync(client, "wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await PreviewAsync(client, Password)).StatusCode);
    }

    private static TestHost Instance(string? connectionString)
    {
        var settings = new Dictionary<string, string?> { ["Newsletter:Admin:Password"] = Password };
        if (connectionString is not null)
            settings["Newsletter:Database:ConnectionString"] = connectionString;
        return new TestHost(settings, DatabaseProvider.Postgres);
    }

    private static HttpClient Client(string baseUrl) => new() { BaseAddress = new Uri(baseUrl) };

    private static Task<HttpResponseMessage> PreviewAsync(HttpClient client, string password)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/preview");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("admin:" + password)));
        return client.SendAsync(request);
    }
}
