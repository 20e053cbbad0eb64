using System.Net;
using System.Text.RegularExpressions;

namespace Newsletter.Sources;

/// <summary>Turns feed text (hard-wrapped, sometimes HTML) into plain single-spaced text.</summary>
public static partial class Text
{
    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"<[^>]*>")]
    private static partial Regex Tag();

    public static string Clean(string? value) =>
        value is null ? "" : Whitespace().Replace(value, " ").Trim();

    /// <summary>Drops tags and decodes entities; the result is text, escaped again when rendered.</summary>
    public static string FromHtml(string? html) =>
        html is null ? "" : Clean(WebUtility.HtmlDecode(Tag().Replace(html, " ")));

    public static IReadOnlyList<string> SplitAuthors(string? value) =>
        value is null ? [] : value.Split([',', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Clean).Where(a => a.Length > 0).ToArray();

    public static string Truncate(string value, int length) =>
        value.Length <= length ? value : value[..(length - 1)].TrimEnd() + "…";
}
