using System.Text.RegularExpressions;

namespace Newsletter.Sources;

/// <summary>
/// One identity per paper across sources: arXiv ids lose their version and prefixes
/// (<c>oai:arXiv.org:2307.01234v2</c>, <c>https://arxiv.org/abs/2307.01234v1</c> and <c>2307.01234</c>
/// are all <c>arxiv:2307.01234</c>); anything else is keyed by its normalised link.
/// </summary>
public static partial class CanonicalId
{
    // New-style ids (2307.01234) and old-style ones (hep-th/9901001, math.AP/0601001).
    [GeneratedRegex(@"^(?:oai:arxiv\.org:|arxiv:|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)?(?<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?/?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ArxivPattern();

    public static string? TryArxiv(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var match = ArxivPattern().Match(value.Trim());
        return match.Success ? "arxiv:" + match.Groups["id"].Value.ToLowerInvariant() : null;
    }

    /// <summary>The first candidate that is an arXiv id wins; otherwise the first usable link or id.</summary>
    public static string For(string sourceName, params string?[] candidates)
    {
        foreach (var candidate in candidates)
            if (TryArxiv(candidate) is { } arxiv)
                return arxiv;
        foreach (var candidate in candidates)
            if (Uri.TryCreate(candidate, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
                return "url:" + Normalise(url);
        var id = candidates.FirstOrDefault(c => !string.IsNullOrWhiteSpace(c));
        return id is null ? throw new SourceException("an item has neither id nor link") : $"id:{sourceName}:{id.Trim()}";
    }

    private static string Normalise(Uri url)
    {
        var builder = new UriBuilder(url) { Fragment = "", Scheme = url.Scheme.ToLowerInvariant(), Host = url.Host.ToLowerInvariant() };
        if (builder.Uri.IsDefaultPort)
            builder.Port = -1;
        return builder.Uri.AbsoluteUri.TrimEnd('/');
    }

    /// <summary>The public page of an arXiv paper.</summary>
    public static string ArxivAbsUrl(string canonicalId) => "https://arxiv.org/abs/" + canonicalId["arxiv:".Length..];
}
