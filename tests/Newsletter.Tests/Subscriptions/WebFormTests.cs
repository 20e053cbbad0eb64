using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>
/// The forms against their JSON twins over real HTTP: the same input is refused with the same
/// field-naming words; the confirmed page leads to the reader's preferences; the pages' script and
/// favicon come from this site with their types and caching.
/// </summary>
public sealed partial class WebFormTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();
    private string _baseUrl = "";

    public async ValueTask InitializeAsync()
    {
        _host.UseSmtp(_smtp.Port);
        _host.Set("Newsletter:Subscriptions:RateLimitPermits", "1000");
        _host.Set("Newsletter:Subscriptions:LinkRateLimitPermits", "1000");
        _baseUrl = await _host.StartServiceAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    /// <summary>Bad inputs, each as a JSON value and as the form field's text (lists comma-separated).</summary>
    public static TheoryData<string, string, string> BadInputs()
    {
        var longTerm = new string('x', 9_000); // longer than a form value could be before (8 KB)
        var manyTerms = Enumerable.Range(1, 21).Select(i => $"term{i}").ToArray();
        var longList = Enumerable.Range(1, 30).Select(i => new string((char)('a' + i % 26), 300)).ToArray();
        return new()
        {
            { "keywords", JsonSerializer.Serialize(manyTerms), string.Join(", ", manyTerms) },
            { "keywords", JsonSerializer.Serialize(new[] { longTerm }), longTerm },
            { "authors", JsonSerializer.Serialize(longList), string.Join(", ", longList) },
            { "topics", JsonSerializer.Serialize(new[] { "cs.LG\u0007" + new string('y', 9_000) }), "cs.LG\u0007" + new string('y', 9_000) },
            { "timeZone", JsonSerializer.Serialize("Asia/Tokyo\u0000"), "Asia/Tokyo\u0000" },
            { "timeZone", JsonSerializer.Serialize("Asia/\u001bTokyo"), "Asia/\u001bTokyo" },
            // Issue 22: the other lists too (a long exclude list, a control character among the days).
            { "exclude", JsonSerializer.Serialize(Enumerable.Range(1, 500).Select(i => $"x{i}")), string.Join(",", Enumerable.Range(1, 500).Select(i => $"x{i}")) },
            { "weekdays", JsonSerializer.Serialize(new[] { "Mon\u0002" }), "Mon\u0002" },
        };
    }

    [GeneratedRegex("<p class=\"field-error\" id=\"(?<field>[A-Za-z]+)-error\">(?<message>[^<]*)</p>")]
    private static partial Regex FieldError();

    private static async Task<(string Detail, Dictionary<string, string> Errors)> ProblemOfAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (problem.GetProperty("detail").GetString()!,
            problem.GetProperty("errors").EnumerateObject().ToDictionary(e => e.Name, e => e.Value[0].GetString()!));
    }

    private static Dictionary<string, string> FieldErrorsOf(string page) =>
        FieldError().Matches(page).ToDictionary(m => m.Groups["field"].Value, m => WebUtility.HtmlDecode(m.Groups["message"].Value));

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task SubscribeByJsonAndByFormRefuseTheSameInputNamingTheField(string field, string json, string text)
    {
        using var client = new FormClient(_baseUrl);

        var byJson = await client.Http.PostAsync("/subscribe",
            new StringContent($"{{\"email\": \"json@example.org\", \"{field}\": {json}}}", System.Text.Encoding.UTF8, "application/json"));
        var (byForm, page) = await client.SubmitAsync("/", "/subscribe", new() { ["email"] = "form@example.org", [field] = text });

        var (detail, errors) = await ProblemOfAsync(byJson);
        Assert.Equal(HttpStatusCode.BadRequest, byForm.StatusCode);
        Assert.Equal([field], errors.Keys);
        // The shipped subscribe page shows topics, keywords and the zone; another field's refusal is in the summary only.
        Assert.Equal(field is "topics" or "keywords" or "timeZone" ? errors : [], FieldErrorsOf(page));
        Assert.StartsWith(Label(field) + ": ", detail);
        Assert.DoesNotContain(detail, char.IsControl); // shown as \u0000, not dropped or sent raw
        Assert.Contains(WebUtility.HtmlEncode(detail), page);
        Assert.DoesNotContain("malformed", page);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task PreferencesByJsonAndByFormRefuseTheSameInputNamingTheField(string field, string json, string text)
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        var id = await _host.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var token = _host.Service<LinkTokens>().Create(TokenPurpose.Preferences, id);
        using var client = new FormClient(_baseUrl);

        var byJson = await client.Http.PostAsync("/preferences?token=" + token,
            new StringContent($"{{\"{field}\": {json}}}", System.Text.Encoding.UTF8, "application/json"));
        var (byForm, page) = await client.SubmitAsync("/preferences?token=" + token, "/preferences", new() { [field] = text });

        var (detail, errors) = await ProblemOfAsync(byJson);
        Assert.Equal(HttpStatusCode.BadRequest, byForm.StatusCode);
        Assert.Equal([field], errors.Keys);
        Assert.Equal(errors, FieldErrorsOf(page));
        Assert.Contains(WebUtility.HtmlEncode(detail), page);
        Assert.Equal("||", await _host.QueryScalarAsync<string>("SELECT topics || '|' || keywords || '|' || authors FROM subscribers WHERE id = " + id));
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE time_zone IS NULL"));
    }

    private static string Label(string field) => field switch
    {
        "keywords" => "Keywords",
        "authors" => "Authors",
        "topics" => "Topics",
        "timeZone" => "Time zone",
        "exclude" => "Exclude",
        "weekdays" => "Days",
        _ => field,
    };

    [Fact]
    public async Task AnAddressAndAPreferenceRefusedTogetherAreBothNamedAndEitherWayNothingIsStored()
    {
        using var client = new FormClient(_baseUrl);

        var byJson = await client.Http.PostAsJsonAsync("/subscribe", new { email = "ada@@example.org", timeZone = "Mars/Base" });
        var (byForm, page) = await client.SubmitAsync("/", "/subscribe", new() { ["email"] = "ada@@example.org", ["timeZone"] = "Mars/Base" });

        var (detail, errors) = await ProblemOfAsync(byJson);
        Assert.Equal(["email", "timeZone"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, byForm.StatusCode);
        Assert.Contains(WebUtility.HtmlEncode(detail), page);
        Assert.Contains("aria-invalid=\"true\" aria-describedby=\"form-error\"", page);
        Assert.Contains("value=\"Mars/Base\"", page);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }

    [Fact]
    public async Task TheConfirmedPageLinksToTheReadersOwnPreferences()
    {
        using var browser = new FormClient(_baseUrl);
        await browser.SubmitAsync("/", "/subscribe", new() { ["email"] = "ada@example.org" });
        var link = (await _smtp.ForMailAsync("ada@example.org")).ConfirmLink();

        var (_, confirmed) = await browser.SubmitAsync(link, "/confirm");

        var preferences = WebUtility.HtmlDecode(Regex.Match(confirmed, "href=\"(?<url>[^\"]+/preferences\\?token=[^\"]+)\"").Groups["url"].Value);
        Assert.StartsWith(_baseUrl + "/preferences?token=", preferences);
        var (response, page) = await browser.GetAsync(preferences);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Settings for <strong>ada@example.org</strong>.", page);
        Assert.Contains("You&#39;re subscribed and get the daily digest.", page);
    }

    [Fact]
    public async Task ThePagesScriptAndFaviconComeFromThisSiteTypedAndCacheable()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_baseUrl) };

        var page = await http.GetAsync("/");
        var body = await page.Content.ReadAsStringAsync();
        var script = await http.GetAsync("/assets/time-zone.js");
        var again = new HttpRequestMessage(HttpMethod.Get, "/assets/time-zone.js");
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        var revalidated = await http.SendAsync(again);
        var favicon = await http.GetAsync("/favicon.ico");
        var linked = await http.GetAsync("/favicon.svg");

        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("<script src=\"/assets/time-zone.js\"", body);
        Assert.DoesNotMatch("<script(?![^>]*\\bsrc=)", body); // no inline script for the policy to block
        Assert.Contains("<link rel=\"icon\" href=\"/favicon.svg\"", body);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Contains("resolvedOptions().timeZone", await script.Content.ReadAsStringAsync());
        Assert.True(script.Headers.CacheControl is { Public: true, MaxAge: not null });
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.Equal(HttpStatusCode.OK, favicon.StatusCode);
        Assert.Equal("image/svg+xml", favicon.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("<svg", await favicon.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, linked.StatusCode);
    }
}
