using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;
using Newsletter.Tests.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Admin;

public sealed class AdminPreviewTests : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private readonly TestHost _host = new(new() { ["Newsletter:Admin:Password"] = Password });
    private string _baseUrl = "";

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await _host.RunAsync("collect");
        _baseUrl = await _host.StartServiceAsync();
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ThePreviewNeedsTheAdminCredential()
    {
        using var client = new FormClient(_baseUrl);

        var anonymous = await client.Http.GetAsync("/admin/preview");
        var wrong = await Send(client, "admin", "guess");
        var right = await Send(client, "admin", Password);
        var apiKey = await client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/admin/preview") { Headers = { { "X-Api-Key", Password } } });

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.StartsWith("Basic", anonymous.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Contains("Why Language Models Hallucinate", await right.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, apiKey.StatusCode);
    }

    [Theory]
    [InlineData("Authorization", "Basic !!!not-base64!!!")]
    [InlineData("Authorization", "Basic YWRtaW4=")] // "admin", no colon
    [InlineData("Authorization", "Bearer correct horse battery staple")]
    [InlineData("X-Api-Key", "guess")]
    public async Task AMalformedOrWrongCredentialIsRefused(string header, string value)
    {
        using var client = new FormClient(_baseUrl);
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/preview");
        request.Headers.TryAddWithoutValidation(header, value);

        var response = await client.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ThePreviewOfAReaderIsTheirPersonalDigest()
    {
        // Both readers joined before the papers came, so the papers are theirs.
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed", "--keywords", "hallucinate");
        await _host.RunAsync("subscribers", "add", "grace@example.org", "--confirmed");
        await _host.ExecuteAsync("UPDATE subscribers SET served_until = 0");
        using var client = new FormClient(_baseUrl);
        client.Http.DefaultRequestHeaders.Add("X-Api-Key", Password);

        var ada = await (await client.Http.GetAsync("/admin/preview?email=ada@example.org")).Content.ReadAsStringAsync();
        var grace = await (await client.Http.GetAsync("/admin/preview?email=grace@example.org")).Content.ReadAsStringAsync();
        var cli = await _host.RunAsync("preview", "--email", "ada@example.org", "--out", Path.Combine(_host.Directory, "ada"));

        Assert.Contains("Why Language Models Hallucinate", ada);
        Assert.Contains("matches \u201challucinate\u201d", ada);
        Assert.DoesNotContain("A Composed Example Paper With Code", ada);
        Assert.Contains("A Composed Example Paper With Code", grace);
        Assert.Contains("(1 entry) rendered for ada@example.org", cli.Output);
        Assert.Contains("matches \u201challucinate\u201d", await File.ReadAllTextAsync(Path.Combine(_host.Directory, "ada", "digest.txt")));
    }

    [Fact]
    public async Task WithoutAConfiguredPasswordTheAdminPagesDoNotExist()
    {
        await using var host = new TestHost();
        var baseUrl = await host.StartServiceAsync();
        using var client = new FormClient(baseUrl);

        Assert.Equal(HttpStatusCode.NotFound, (await client.Http.GetAsync("/admin/preview")).StatusCode);
    }

    [Fact]
    public async Task TheRenderedPreviewLooksRightInABrowser()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await BrowserFlowTests.LaunchChromiumAsync(playwright);
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { HttpCredentials = new HttpCredentials { Username = "admin", Password = Password } });
        var page = await context.NewPageAsync();

        await page.GotoAsync(_baseUrl + "/admin/preview?email=reader@example.org");

        Assert.Equal("Why Language Models Hallucinate", await page.InnerTextAsync("h2 a >> nth=0"));
        Directory.CreateDirectory(BrowserFlowTests.ArtifactsDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFlowTests.ArtifactsDirectory, "admin-preview.png"), FullPage = true });
    }

    private static Task<HttpResponseMessage> Send(FormClient client, string user, string password) =>
        client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/admin/preview")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}"))) },
        });
}
