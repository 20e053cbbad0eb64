using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>
/// Findings 5 and 7 of the hardening review, against the real host over HTTP with a real SMTP
/// server: subscription bombing by spelling and by address spread, proxies, oversized requests,
/// headers, stale confirmation links, admin guessing, formula export, timing and counting leaks.
/// </summary>
public sealed class AbuseTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();
    private string _baseUrl = "";
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _host.UseSmtp(_smtp.Port);
        _host.Set("Newsletter:Subscriptions:RateLimitPermits", "10");
        _host.Set("Newsletter:Subscriptions:LinkRateLimitPermits", "5");
        _host.Set("Newsletter:Admin:Password", "correct horse battery staple");
        _baseUrl = await _host.StartServiceAsync();
        _http = new HttpClient { BaseAddress = new Uri(_baseUrl) };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    /// <summary>A subscribe request as if it came through the local reverse proxy from <paramref name="client"/>.</summary>
    private Task<HttpResponseMessage> SubscribeAsync(string email, string client)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/subscribe") { Content = JsonContent.Create(new { email }) };
        request.Headers.Add("X-Forwarded-For", client);
        return _http.SendAsync(request);
    }

    [Fact]
    public async Task SixtyFourSpellingsOfOneMailboxAreOneSubscriberAndOneConfirmationMail()
    {
        var spellings = Enumerable.Range(0, 64)
            .Select(i => new string("victim".Select((c, at) => (i >> at & 1) == 1 ? char.ToUpperInvariant(c) : c).ToArray()) + "@Example.org").ToList();
        Assert.Equal(64, spellings.Distinct().Count());

        for (var i = 0; i < spellings.Count; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await SubscribeAsync(spellings[i], $"198.51.100.{i + 1}")).StatusCode);

        await _smtp.ForMailAsync("victim@example.org");
        await Task.Delay(300);
        Assert.Single(_smtp.Messages);
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }

    [Fact]
    public async Task LimitsCountPerIPv4AddressPerIPv6SlashSixtyFourAndPerForwardedClient()
    {
        // 14 clients behind the proxy: 14 buckets, each well within its limit.
        for (var i = 1; i <= 14; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await SubscribeAsync($"reader{i}@example.org", $"203.0.113.{i}")).StatusCode);
        // 40 addresses of one IPv6 /64: one bucket of 10.
        var answers = new List<HttpStatusCode>();
        for (var i = 1; i <= 40; i++)
            answers.Add((await SubscribeAsync($"v6reader{i}@example.org", $"2001:db8:1:2::{i:x}")).StatusCode);
        Assert.Equal(10, answers.Count(a => a == HttpStatusCode.Accepted));
        Assert.Equal(30, answers.Count(a => a == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task OneAddressIsLimitedWhereverTheRequestsComeFrom()
    {
        for (var i = 1; i <= 6; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await SubscribeAsync("target@example.org", $"192.0.2.{i}")).StatusCode);
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'unsubscribed'"); // would get a new mail per request
        for (var i = 7; i <= 12; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await SubscribeAsync("target@example.org", $"192.0.2.{i}")).StatusCode);

        // Three requests per hour went through (AddressRateLimitPermits): the ones after the unsubscribe did nothing.
        Assert.Equal("unsubscribed", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers"));
        // The first confirmation mail goes out from a background queue: wait for it (a loaded CI
        // machine can take longer than a fixed pause), then give a second one time to show up.
        await _smtp.ForMailAsync("target@example.org");
        await Task.Delay(300);
        Assert.Single(_smtp.Messages);
    }

    [Fact]
    public async Task LinkEndpointsAreRateLimitedToo()
    {
        var codes = new List<HttpStatusCode>();
        foreach (var path in new[] { "/unsubscribe?token=x", "/confirm", "/preferences" })
            for (var i = 0; i < 4; i++)
                codes.Add((await _http.PostAsync(path, new FormUrlEncodedContent([new("token", "x")]))).StatusCode);

        Assert.Equal(5, codes.Count(c => c == HttpStatusCode.BadRequest));
        Assert.Equal(7, codes.Count(c => c == HttpStatusCode.TooManyRequests));
    }

    [Theory]
    [InlineData("/subscribe")]
    [InlineData("/confirm")]
    [InlineData("/unsubscribe?token=x")]
    public async Task OversizedRequestsGet413Or400NeverA500(string path)
    {
        var huge = new StringContent("email=" + new string('a', 200_000), Encoding.ASCII, "application/x-www-form-urlencoded");
        var many = new FormUrlEncodedContent(Enumerable.Range(0, 500).Select(i => new KeyValuePair<string, string>($"f{i}", "v")));
        var longValue = new FormUrlEncodedContent([new("token", new string('t', 20_000))]);

        var answers = new[] { await _http.PostAsync(path, huge), await _http.PostAsync(path, many), await _http.PostAsync(path, longValue) };

        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge, $"{path}: {a.StatusCode}"));
        foreach (var answer in answers)
            Assert.DoesNotContain("   at ", await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task EveryResponseCarriesTheSecurityHeadersAndHttpsGetsHsts()
    {
        foreach (var path in new[] { "/", "/health", "/confirm?token=x", "/unsubscribe?token=x", "/preferences?token=x", "/no-such-page", "/admin/preview" })
        {
            var response = await _http.GetAsync(path);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").First());
            Assert.False(response.Headers.Contains("Strict-Transport-Security"), path);
        }
        var https = new HttpRequestMessage(HttpMethod.Get, "/");
        https.Headers.Add("X-Forwarded-Proto", "https");
        Assert.True((await _http.SendAsync(https)).Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task AnOldConfirmationLinkDiesWhenTheReaderLeavesAndAStrangerResubscribesThem()
    {
        Assert.Equal(HttpStatusCode.Accepted, (await SubscribeAsync("ada@example.org", "198.51.100.1")).StatusCode);
        var firstLink = (await _smtp.ForMailAsync("ada@example.org")).ConfirmLink();
        using var browser = new FormClient(_baseUrl);
        Assert.Contains("confirmed", (await browser.SubmitAsync(firstLink, "/confirm")).Body, StringComparison.OrdinalIgnoreCase);
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'unsubscribed'");
        await Task.Delay(5);

        Assert.Equal(HttpStatusCode.Accepted, (await SubscribeAsync("ada@example.org", "198.51.100.2")).StatusCode); // a stranger
        var (_, page) = await browser.GetAsync(firstLink);
        var (posted, _) = await browser.SubmitAsync(firstLink, "/confirm", new() { ["token"] = new Uri(firstLink).Query["?token=".Length..] });

        Assert.Contains("Link invalid or expired", page);
        Assert.Equal(HttpStatusCode.BadRequest, posted.StatusCode);
        Assert.Equal("pending", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers"));
    }

    [Fact]
    public async Task AdminGuessesAreLockedOutWithGrowingWaits()
    {
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/admin/preview");
            request.Headers.Add("X-Api-Key", $"guess{i}");
            codes.Add((await _http.SendAsync(request)).StatusCode);
        }
        var right = new HttpRequestMessage(HttpMethod.Get, "/admin/preview");
        right.Headers.Add("X-Api-Key", "correct horse battery staple");
        var during = await _http.SendAsync(right);

        // The fifth failure locks (for a minute), and then every guess is refused unchecked.
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), codes.Take(5));
        Assert.All(codes.Skip(5), c => Assert.Equal(HttpStatusCode.TooManyRequests, c));
        Assert.Equal(HttpStatusCode.TooManyRequests, during.StatusCode);
        Assert.NotNull(during.Headers.RetryAfter);
    }

    [Fact]
    public async Task NewAndKnownAddressesTakeTheSameTime()
    {
        await _host.ExecuteAsync("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
            INSERT INTO subscribers (email, email_key, status, created_at) SELECT 'known' || i || '@example.org', 'known' || i || '@example.org', 'active', 0 FROM n
            """);
        var known = new List<double>();
        var fresh = new List<double>();
        for (var i = 1; i <= 60; i++)
        {
            foreach (var (list, email) in new[] { (known, $"known{i}@example.org"), (fresh, $"new{i}@example.org") })
            {
                var clock = Stopwatch.StartNew();
                Assert.Equal(HttpStatusCode.Accepted, (await SubscribeAsync(email, $"10.{i}.{list.Count}.1")).StatusCode);
                list.Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        double Median(List<double> values) => values.Skip(10).Order().ElementAt(25);
        var ratio = Median(known) / Median(fresh);
        output.WriteLine($"median subscribe: known {Median(known):0.00} ms, new {Median(fresh):0.00} ms");
        Assert.InRange(ratio, 0.8, 1.25);
    }

    [Fact]
    public async Task MessageIdsAndTokensRevealNoCounts()
    {
        await _host.ExecuteAsync(_host.Provider == Newsletter.Storage.DatabaseProvider.Postgres
            ? "SELECT setval(pg_get_serial_sequence('subscribers', 'id'), 4242)"
            : "INSERT INTO sqlite_sequence (name, seq) SELECT 'subscribers', 4242 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'subscribers')");
        Assert.Equal(HttpStatusCode.Accepted, (await SubscribeAsync("ada@example.org", "198.51.100.1")).StatusCode);
        var mail = await _smtp.ForMailAsync("ada@example.org");
        var id = await _host.QueryScalarAsync<long>("SELECT id FROM subscribers");
        var token = new Uri(mail.ConfirmLink()).Query["?token=".Length..];

        Assert.DoesNotContain(id.ToString(System.Globalization.CultureInfo.InvariantCulture), mail.MessageId);
        Assert.DoesNotContain($".{id}.", Encoding.Latin1.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(token)));
    }

    [Fact]
    public async Task BehindATlsProxyTheAntiforgeryCookieIsSecure()
    {
        await using var host = new TestHost();
        var baseUrl = await host.StartServiceAsync(publicBaseUrl: "https://papers.example.org");
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-For", "198.51.100.7");

        var page = await http.SendAsync(request);

        var cookie = Assert.Single(page.Headers.GetValues("Set-Cookie"));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.True(page.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task ForwardedHeadersFromAnUnknownProxyAreIgnored()
    {
        await using var host = new TestHost(new()
        {
            ["Newsletter:Web:KnownProxies:0"] = "10.9.8.7",
            ["Newsletter:Subscriptions:RateLimitPermits"] = "3",
        });
        var baseUrl = await host.StartServiceAsync();
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };

        var codes = new List<HttpStatusCode>();
        for (var i = 1; i <= 5; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/subscribe") { Content = JsonContent.Create(new { email = $"r{i}@example.org" }) };
            request.Headers.Add("X-Forwarded-For", $"203.0.113.{i}"); // forged: 127.0.0.1 is not a known proxy here
            codes.Add((await http.SendAsync(request)).StatusCode);
        }

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], codes);
    }
}
