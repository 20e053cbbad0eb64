using System.Text.RegularExpressions;

namespace Newsletter.Sources;

/// <summary>
/// A paper's link as a reader can click it: scheme-less arXiv, Hugging Face and DOI links read as their
/// <c>https://</c> pages, and the narrow test of a stored link that a later sighting may repair.
/// </summary>
public static partial class PaperLinks
{
    // Hosts whose bare "host/path" form feeds were seen to write instead of a URL.
    [GeneratedRegex(@"^(?:(?:www|export)\.)?arxiv\.org/|^(?:www\.)?huggingface\.co/|^(?:(?:dx|www)\.)?doi\.org/", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SchemelessPaperHost();

    // What resolving such a bare link against a feed's own address made of it: the host inside the path
    // (http://rss.arxiv.org/rss/arxiv.org/abs/ID). Not after "/" or ":", so a link that embeds a whole
    // URL (an archive's https://web.archive.org/web/2025/https://arxiv.org/abs/ID) is not taken for one.
    [GeneratedRegex(@"(?<![/:])/(?:(?:(?:www|export)\.)?arxiv\.org/|(?:www\.)?huggingface\.co/papers/|(?:(?:dx|www)\.)?doi\.org/10\.)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PaperHostInPath();

    /// <summary>
    /// The <c>https://</c> page of a link written without a scheme on arxiv.org, huggingface.co or doi.org:
    /// a paper's canonical page (<c>arxiv.org/abs/2611.10050v2</c> → <c>https://arxiv.org/abs/2611.10050</c>,
    /// <c>dx.doi.org/10.1038/X</c> → <c>https://doi.org/10.1038/x</c>), any other page of those hosts with
    /// <c>https://</c> in front. Null for everything else, which stays a relative link of its feed.
    /// </summary>
    public static string? FromSchemeless(string? link)
    {
        var value = link?.Trim();
        if (string.IsNullOrEmpty(value) || !SchemelessPaperHost().IsMatch(value))
            return null;
        var identity = CanonicalId.For("link", [value]);
        return identity is null ? null : CanonicalId.PageUrl(identity) ?? "https://" + value;
    }

    /// <summary>An absolute http(s) link as written, a scheme-less paper link as its page, or null.</summary>
    public static string? Absolute(string? link) =>
        IsHttp(link) ? link!.Trim() : FromSchemeless(link);

    /// <summary>
    /// Whether a stored link is one a later sighting's link may replace: there is none, it is not an
    /// absolute http(s) URL (a relative path, <c>doi:…</c>, a bare <c>arxiv.org/abs/…</c>), or it is a
    /// bare paper link that an earlier version resolved against the feed's own address. Nothing else
    /// counts: a link that works is never replaced, whatever a later source brings.
    /// </summary>
    public static bool IsBroken(string? url) =>
        !IsHttp(url) || PaperHostInPath().IsMatch(new Uri(url!.Trim()).AbsolutePath);

    /// <summary>On Linux "/articles/123" parses as an absolute file: URI, so a leading slash is no URL.</summary>
    private static bool IsHttp(string? value) =>
        !string.IsNullOrWhiteSpace(value) && !value.TrimStart().StartsWith('/')
        && Uri.TryCreate(value.Trim(), UriKind.Absolute, out var url) && url.Scheme is "http" or "https";
}
