using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>
/// An unknown topic is refused with the nearest name, in the same sentence whichever way it comes:
/// CLI, CSV import (tests/Cli), JSON and the web form.
/// </summary>
public sealed class TopicValidationTests : IAsyncLifetime
{
    private const string Sentence = "'cs.XX' is neither an arXiv category nor a source name; did you mean 'cs.AI'?";

    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();
    private string _baseUrl = "";

    public async ValueTask InitializeAsync()
    {
        _host.UseSmtp(_smtp.Port);
        _host.UseSources(("hf", "HuggingFaceDaily", "file:///nonexistent/hf.json"));
        _host.Set("Newsletter:Subscriptions:RateLimitPermits", "1000");
        _baseUrl = await _host.StartServiceAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    [Fact]
    public async Task JsonSubscribeAndPreferencesRefuseAnUnknownTopicNamingIt()
    {
        using var client = new FormClient(_baseUrl);

        var subscribe = await client.Http.PostAsJsonAsync("/subscribe", new { email = "grace@example.org", topics = new[] { "cs.LG", "cs.XX" } });

        Assert.Equal(HttpStatusCode.BadRequest, subscribe.StatusCode);
        var problem = await subscribe.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Sentence, problem.GetProperty("errors").GetProperty("topics")[0].GetString());
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));

        Assert.Equal(HttpStatusCode.Accepted, (await client.Http.PostAsJsonAsync("/subscribe", new { email = "ada@example.org", topics = new[] { "cs.LG", "hf" } })).StatusCode);
        var id = await _host.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var update = await client.Http.PostAsJsonAsync("/preferences?token=" + _host.Service<LinkTokens>().Create(TokenPurpose.Preferences, id), new { topics = new[] { "cs.XX" } });
        Assert.Equal(HttpStatusCode.BadRequest, update.StatusCode);
        Assert.Equal(Sentence, (await update.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("topics")[0].GetString());
        Assert.Equal("cs.LG,hf", await _host.QueryScalarAsync<string>("SELECT topics FROM subscribers WHERE email = 'ada@example.org'"));
    }

    [Fact]
    public async Task TheSubscribeFormShowsTheSameSentence()
    {
        using var browser = new FormClient(_baseUrl);

        var (response, body) = await browser.SubmitAsync("/", "/subscribe", new() { ["email"] = "grace@example.org", ["topics"] = "cs.XX" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Topics: " + Sentence, WebUtility.HtmlDecode(body));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }
}
