using Microsoft.Extensions.Time.Testing;
using Newsletter.Subscriptions;

namespace Newsletter.Tests.Subscriptions;

public sealed class LinkTokenTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 9, 8, 7, 0, 0, TimeSpan.Zero));
    private readonly SigningKeys _keys = new();
    private readonly LinkTokens _tokens;

    public LinkTokenTests()
    {
        _keys.Load("current-secret-0123456789", ["old-secret-0123456789"]);
        _tokens = new LinkTokens(_keys, _time);
    }

    [Fact]
    public void AValidTokenNamesItsSubscriber()
    {
        var token = _tokens.Create(TokenPurpose.Unsubscribe, 42);

        Assert.True(_tokens.TryRead(token, TokenPurpose.Unsubscribe, out var id));
        Assert.Equal(42, id);
    }

    [Fact]
    public void TamperedWrongPurposeAndExpiredTokensAreRefused()
    {
        var token = _tokens.Create(TokenPurpose.Confirm, 42, _time.GetUtcNow().AddDays(7));
        var tampered = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];

        Assert.False(_tokens.TryRead(tampered, TokenPurpose.Confirm, out _));
        Assert.False(_tokens.TryRead(token, TokenPurpose.Unsubscribe, out _));
        Assert.False(_tokens.TryRead("garbage", TokenPurpose.Confirm, out _));
        Assert.True(_tokens.TryRead(token, TokenPurpose.Confirm, out _));
        _time.Advance(TimeSpan.FromDays(8));
        Assert.False(_tokens.TryRead(token, TokenPurpose.Confirm, out _));
    }

    [Fact]
    public void TokensSignedWithAPreviousSecretStillVerify()
    {
        var old = new SigningKeys();
        old.Load("old-secret-0123456789", []);
        var token = new LinkTokens(old, _time).Create(TokenPurpose.Unsubscribe, 7);

        Assert.True(_tokens.TryRead(token, TokenPurpose.Unsubscribe, out var id));
        Assert.Equal(7, id);
    }
}

public sealed class EmailAddressTests
{
    [Theory]
    [InlineData("ada@example.org", "ada@example.org")]
    [InlineData("  Ada+papers@Example.ORG ", "Ada+papers@example.org")]
    [InlineData("\"odd,local\"@example.org", "\"odd,local\"@example.org")]
    [InlineData("user@bücher.example", "user@xn--bcher-kva.example")]
    public void ValidAddressesAreNormalisedOnTheDomainOnly(string input, string expected)
    {
        Assert.True(EmailAddress.TryParse(input, out var address, out var error), error);
        Assert.Equal(expected, address!.Address);
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("a@b@c")]
    [InlineData("Ada <ada@example.org>")]
    [InlineData("a@example.org, b@example.org")]
    [InlineData("ada@example.org\r\nBcc: x@example.org")]
    [InlineData("ädä@example.org")]
    [InlineData("ada\0@example.org")]
    [InlineData("ada\t@example.org")]
    public void InvalidAddressesAreRefused(string input) =>
        Assert.False(EmailAddress.TryParse(input, out _, out _));

    [Fact]
    public void OverlongAddressesAreRefused()
    {
        Assert.False(EmailAddress.TryParse(new string('a', 65) + "@example.org", out _, out _));
        Assert.True(EmailAddress.TryParse(new string('a', 64) + "@example.org", out _, out _));
        var longDomain = string.Join('.', Enumerable.Repeat(new string('d', 60), 4)) + ".org"; // 248 characters
        Assert.False(EmailAddress.TryParse("abcdefg@" + longDomain, out _, out _));
    }

    [Fact]
    public void NonAsciiLocalPartsCanBeAllowed() =>
        Assert.True(EmailAddress.TryParse("ädä@example.org", out _, out _, allowUnicodeLocalPart: true));
}
