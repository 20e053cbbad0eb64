using System.Text;
using System.Text.Json;
using MimeKit;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// Finding 2 of the hardening review: a feed's long unbroken token went out as a 20,001-octet line
/// in an 8bit part, and a NUL from a feed reached the body; strict relays refuse both.
/// </summary>
public sealed class CleanBodyTests
{
    [Fact]
    public async Task ALongUnbrokenTokenAndControlCharactersFromAFeedLeaveEveryLineWithin998OctetsAndNoControls()
    {
        await using var smtp = new SmtpSink();
        await using var host = new TestHost();
        var token = "https://papers.example.org/p?q=" + new string('a', 20_000);
        var feed = Path.Combine(host.Directory, "feed.json");
        await File.WriteAllTextAsync(feed, JsonSerializer.Serialize(new
        {
            version = "https://jsonfeed.org/version/1.1",
            title = "Lab",
            items = new object[]
            {
                new { id = "1", url = token, title = "Bell\u0007 and NUL\u0000 in a title", summary = "Look: " + token + " \u0001end", date_published = "2025-09-08T09:00:00Z" },
                new { id = "2", url = "https://papers.example.org/2", title = "宽字符" + new string('字', 600), summary = new string('字', 2000), date_published = "2025-09-08T09:00:00Z" },
            },
        }));
        host.UseSources(("lab", "JsonFeed", new Uri(feed).AbsoluteUri));
        host.UseSmtp(smtp.Port);
        await host.RunAsync("subscribers", "add", "reader@example.org", "--confirmed");
        Assert.Equal(0, (await host.RunAsync("collect")).Exit);

        var result = await host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Contains("1 sent", result.Output);
        var raw = Assert.Single(smtp.Raw);
        var lines = Encoding.Latin1.GetString(raw).Split("\r\n");
        Assert.True(lines.Max(l => l.Length) <= 998, $"longest line {lines.Max(l => l.Length)} octets");
        Assert.DoesNotContain(raw, b => b < 0x20 && b is not ((byte)'\t' or (byte)'\r' or (byte)'\n') || b == 0x7F);
        // Nothing is lost on the way: the long link reads back whole.
        var message = Assert.Single(smtp.Messages);
        Assert.Contains(token, message.TextBody);
        Assert.Contains("Bell  and NUL  in a title", message.TextBody);
        Assert.DoesNotContain("\0", message.HtmlBody, StringComparison.Ordinal);
    }
}
