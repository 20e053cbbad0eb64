using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>Spellings of one mailbox share one key; RFC 5322 comments are refused, never silently dropped.</summary>
public sealed class EmailAddressSpellingTests
{
    [Theory]
    [InlineData("victim@example.net")]
    [InlineData("\"victim\"@example.net")]
    [InlineData("\"v\\ictim\"@example.net")]
    [InlineData("\"\\v\\i\\c\\t\\i\\m\"@example.net")]
    [InlineData("\"VICTIM\"@Example.NET")]
    public void QuotedSpellingsOfOneMailboxShareItsKey(string spelling)
    {
        Assert.True(EmailAddress.TryParse(spelling, out var address, out var error), error);
        Assert.Equal("victim@example.net", address!.Key);
    }

    [Fact]
    public void AQuotedLocalPartThatNeedsItsQuotesKeepsThem()
    {
        Assert.True(EmailAddress.TryParse("\"a b\"@example.net", out var spaced, out _));
        Assert.True(EmailAddress.TryParse("\"a\\ b\"@example.net", out var escaped, out _));
        Assert.Equal("\"a b\"@example.net", spaced!.Key);
        Assert.Equal(spaced.Key, escaped!.Key);
        Assert.NotEqual("ab@example.net", spaced.Key);
    }

    [Theory]
    [InlineData("+SUM(1)@example.org")]
    [InlineData("\"=HYPERLINK(x)\"@example.org(comment)")]
    [InlineData("ada(x)@example.org")]
    [InlineData("ada@example.org (Ada)")]
    public void AddressesWithCommentsAreRefused(string input)
    {
        Assert.False(EmailAddress.TryParse(input, out _, out var error));
        Assert.Contains("parentheses", error);
    }

    [Fact]
    public void ParenthesesInsideQuotesAreNotAComment()
    {
        Assert.True(EmailAddress.TryParse("\"=HYPERLINK(x)\"@example.org", out var address, out var error), error);
        Assert.Contains("HYPERLINK(x)", address!.Address);
    }

    [Fact]
    public async Task ImportRefusesCommentsInsteadOfRewritingThem()
    {
        await using var host = new TestHost();
        var csv = Path.Combine(host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", "+SUM(1)@example.org", "\"victim\"@example.net", "victim@example.net", "\"v\\ictim\"@example.net"]);

        var result = await host.RunAsync("subscribers", "import", csv, "--confirmed");

        Assert.Contains("parentheses", result.Output + result.Error);
        Assert.Equal(0L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE email LIKE '%SUM%'"));
        Assert.Equal(1L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE email_key = 'victim@example.net'"));
        Assert.Equal(1L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }
}
