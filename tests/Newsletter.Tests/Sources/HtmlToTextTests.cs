using Newsletter.Sources;

namespace Newsletter.Tests.Sources;

public sealed class HtmlToTextTests
{
    [Theory]
    [InlineData("<p>First paragraph.</p><p>Second&nbsp;one &amp; more.</p>", "First paragraph. Second one & more.")]
    [InlineData("line one<br>line two", "line one line two")]
    [InlineData("<b>bo</b>ld and <a href=\"https://x.org/?a=1&amp;b=2\">a link</a>", "bold and a link")]
    [InlineData("<img alt=\"a > b\" src=x.png>caption", "caption")]
    [InlineData("before<!-- <p>hidden</p> -->after", "beforeafter")]
    [InlineData("<script>alert('x<y')</script><style>p { color: red }</style>visible", "visible")]
    [InlineData("unclosed <i>italic and <b>bold", "unclosed italic and bold")]
    [InlineData("&lt;script&gt;not a tag&lt;/script&gt;", "<script>not a tag</script>")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void HtmlBecomesPlainSingleSpacedText(string? html, string text) =>
        Assert.Equal(text, Text.FromHtml(html));
}
