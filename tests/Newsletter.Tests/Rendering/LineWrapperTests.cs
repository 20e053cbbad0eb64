using Newsletter.Rendering;

namespace Newsletter.Tests.Rendering;

/// <summary>How long lines of the plain-text and HTML parts are broken.</summary>
public sealed class LineWrapperTests
{
    private const string Words = "Scaling laws for sparse mixture of experts language models trained on synthetic data from many sources";

    [Fact]
    public void AWrappedNumberedLineContinuesUnderItsTextNotAtColumnZero()
    {
        var wrapped = LineWrapper.WrapText("12. " + Words, 30).Split('\n');

        Assert.True(wrapped.Length > 2);
        Assert.StartsWith("12. Scaling", wrapped[0]);
        Assert.All(wrapped[1..], line => Assert.Matches("^    [^ ]", line));
        Assert.All(wrapped, line => Assert.True(line.Length <= 30, $"'{line}' is longer than 30"));
        Assert.Equal("12. " + Words, string.Join(' ', wrapped.Select(line => line.Trim())));
    }

    [Fact]
    public void AWrappedIndentedLineKeepsItsIndentation()
    {
        var wrapped = LineWrapper.WrapText("   " + Words, 40).Split('\n');

        Assert.True(wrapped.Length > 2);
        Assert.All(wrapped, line => Assert.Matches("^   [^ ]", line));
        Assert.All(wrapped, line => Assert.True(line.Length <= 40, $"'{line}' is longer than 40"));
    }

    [Fact]
    public void ALongLinkStaysWholeOnItsLineWithoutAnEmptyLineBeforeIt()
    {
        var link = "   https://arxiv.org/abs/2509.04664?" + new string('q', 120);

        Assert.Equal(link, LineWrapper.WrapText(link, 76));
        Assert.Equal("Unsubscribe:\n" + link.Trim(), LineWrapper.WrapText("Unsubscribe: " + link.Trim(), 76));
    }

    [Fact]
    public void ShortLinesAndHtmlAreLeftAtColumnZero()
    {
        var html = LineWrapper.Wrap("<p>" + Words + "</p>", 30).Split('\n');

        Assert.Equal("1. Short\n   short", LineWrapper.WrapText("1. Short\n   short", 76));
        Assert.True(html.Length > 2);
        Assert.All(html, line => Assert.DoesNotMatch("^ ", line));
    }
}
