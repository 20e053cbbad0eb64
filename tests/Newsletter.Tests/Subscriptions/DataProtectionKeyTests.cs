using System.Net;
using System.Text.RegularExpressions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

public sealed class DataProtectionKeyTests
{
    [Fact]
    public async Task AFormServedBeforeARestartIsAcceptedAfterItAndTheKeysLiveBesideTheDatabase()
    {
        await using var host = new TestHost(new()
        {
            ["Newsletter:Schedule:Collect"] = "0 0 0 1 1 ? 2099",
            ["Newsletter:Schedule:Digest"] = "0 0 0 1 1 ? 2099",
        });
        var baseUrl = $"http://127.0.0.1:{SmtpSink.FreePort()}";
        var first = host.Build(["--urls", baseUrl]);
        await first.StartAsync();
        using var browser = new FormClient(baseUrl);
        var (_, page) = await browser.GetAsync("/");
        var form = Regex.Matches(page, "<input type=\"hidden\" name=\"(?<name>[^\"]+)\" value=\"(?<value>[^\"]*)\"")
            .ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        form["email"] = "ada@example.org";
        await first.StopAsync();
        await first.DisposeAsync();

        var second = host.Build(["--urls", baseUrl]);
        await second.StartAsync();
        var response = await browser.Http.PostAsync("/subscribe", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        Assert.Contains("Check your inbox", body);
        if (host.Provider == Newsletter.Storage.DatabaseProvider.Postgres)
        {
            // Shared by every instance on the database.
            Assert.True(await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM data_protection_keys") >= 1);
            return;
        }
        var keys = Path.Combine(host.Directory, "newsletter-keys");
        Assert.NotEmpty(Directory.GetFiles(keys, "key-*.xml"));
    }
}
