using System.Text;
using System.Text.RegularExpressions;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace Newsletter.Sources;

/// <summary>Turns feed text (hard-wrapped, sometimes HTML) into plain single-spaced text.</summary>
public static partial class Text
{
    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    // Elements that sit inside a line of text: no space is added around them ("<b>bo</b>ld" is "bold").
    private static readonly HashSet<string> Inline = new(StringComparer.OrdinalIgnoreCase)
    {
        "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "mark", "q", "s",
        "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
    };

    // Elements whose content is never text a reader should see.
    private static readonly HashSet<string> Hidden = new(StringComparer.OrdinalIgnoreCase) { "script", "style", "template", "head", "noscript" };

    /// <summary>
    /// One line, single-spaced, in Unicode normal form C: a feed that writes "José" decomposed (e + combining
    /// accent) is stored with the same characters a reader types. Every feed text goes through here.
    /// </summary>
    public static string Clean(string? value) =>
        value is null ? "" : Composed(Whitespace().Replace(value, " ").Trim());

    private static string Composed(string value)
    {
        if (Ascii.IsValid(value))
            return value;
        try
        {
            return value.IsNormalized() ? value : value.Normalize();
        }
        catch (ArgumentException)
        {
            return value; // a lone surrogate has no normal form; the text is kept as it came
        }
    }

    /// <summary>
    /// Drops markup and decodes entities with a real HTML5 parser (AngleSharp), so comments, CDATA,
    /// attributes holding "&gt;", unclosed tags and script or style bodies never leak into the text;
    /// block elements and line breaks become spaces. The result is text, escaped again when rendered.
    /// </summary>
    public static string FromHtml(string? html)
    {
        if (string.IsNullOrEmpty(html))
            return "";
        var document = new HtmlParser().ParseDocument(html);
        var text = new StringBuilder(html.Length);
        Append(document.Body ?? (INode)document, text);
        return Clean(text.ToString());
    }

    private static void Append(INode node, StringBuilder text)
    {
        foreach (var child in node.ChildNodes)
        {
            switch (child)
            {
                case IText part:
                    text.Append(part.Data);
                    break;
                case IElement element when Hidden.Contains(element.LocalName):
                    break;
                case IElement element when Inline.Contains(element.LocalName):
                    Append(element, text);
                    break;
                case IElement element:
                    text.Append(' ');
                    Append(element, text);
                    text.Append(' ');
                    break;
            }
        }
    }

    public static IReadOnlyList<string> SplitAuthors(string? value) =>
        value is null ? [] : value.Split([',', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Clean).Where(a => a.Length > 0).ToArray();

    public static string Truncate(string value, int length) =>
        value.Length <= length ? value : value[..(length - 1)].TrimEnd() + "…";
}
