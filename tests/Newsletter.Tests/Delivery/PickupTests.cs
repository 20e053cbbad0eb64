using MimeKit;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

public sealed class PickupTests
{
    [Fact]
    public async Task WithoutSmtpHostDigestsAreWrittenAsParseableEmlFiles()
    {
        await using var host = new TestHost();
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await host.RunAsync("subscribers", "add", "grace@example.org", "--confirmed");
        await host.RunAsync("collect");

        var result = await host.RunAsync("send-now");

        Assert.Equal(0, result.Exit);
        var files = Directory.GetFiles(host.Outbox, "*.eml");
        Assert.Equal(2, files.Length);
        Assert.Empty(Directory.GetFiles(host.Outbox, "*.tmp"));
        foreach (var file in files)
        {
            var message = await MimeMessage.LoadAsync(file);
            Assert.Contains("Why Language Models Hallucinate", message.TextBody);
            Assert.Contains("Why Language Models Hallucinate", message.HtmlBody);
            Assert.Equal("List-Unsubscribe=One-Click", message.Headers["List-Unsubscribe-Post"]);
            Assert.Equal("digest@papers.example.org", message.From.Mailboxes.Single().Address);
        }
    }
}
