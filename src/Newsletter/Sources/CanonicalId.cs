using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Newsletter.Sources;

/// <summary>
/// One identity per paper across sources, whatever form a feed writes it in:
/// <list type="bullet">
/// <item>arXiv: every URL (abs/pdf/html/format, versions, query, fragment, <c>www.</c>/<c>export.</c>, with
/// or without scheme), <c>oai:arXiv.org:</c> guids, <c>arXiv:</c> prefixes, old-style ids, Hugging Face paper
/// pages and arXiv's own DOIs (<c>10.48550/arXiv.ID</c>) all become <c>arxiv:ID</c> without the version;</item>
/// <item>journals: <c>https://doi.org/...</c>, <c>dx.doi.org</c>, <c>doi:</c> and <c>info:doi/</c> forms and bare DOIs
/// become <c>doi:10.x/y</c> (DOIs are case-insensitive, so lower case);</item>
/// <item>anything else: the normalised link (no fragment, no <c>utm_*</c> tracking), else the source's own id,
/// else a hash of title and date, so an item with neither id nor link still has exactly one identity.</item>
/// </list>
/// </summary>
public static partial class CanonicalId
{
    // New-style ids (2307.01234, 0704.0001) and old-style ones (hep-th/9901001; math.AP/0601001 is the
    // same paper as math/0601001: the subject class is not part of the id).
    private const string ArxivIdPattern = @"(?<id>\d{4}\.\d{4,5}|(?<archive>[a-z]+(?:-[a-z]+)?)(?:\.[a-z]+(?:-[a-z]+)?)?/(?<number>\d{7}))(?:v\d+)?";

    [GeneratedRegex(@"^(?:(?<prefix>(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format|ps)/|oai:arxiv\.org:|arxiv:\s*))?" + ArxivIdPattern + @"(?:\.pdf)?/?(?:[?#].*)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ArxivPattern();

    /// <summary>
    /// arXiv's archives, current and retired: only these make "name/NNNNNNN" an old-style id, so a
    /// blog's <c>story/1234567</c> guid stays the blog's.
    /// </summary>
    private static readonly HashSet<string> ArxivArchives = new(StringComparer.OrdinalIgnoreCase)
    {
        "hep-th", "hep-ph", "hep-lat", "hep-ex", "math", "math-ph", "cond-mat", "astro-ph", "gr-qc", "nucl-th", "nucl-ex",
        "quant-ph", "physics", "nlin", "cs", "q-bio", "q-fin", "stat", "eess", "econ",
        "alg-geom", "chao-dyn", "cmp-lg", "comp-gas", "dg-ga", "funct-an", "mtrl-th", "patt-sol", "q-alg", "solv-int",
        "supr-con", "adap-org", "ao-sci", "atom-ph", "bayes-an", "chem-ph", "plasm-ph", "acc-phys",
    };

    [GeneratedRegex(@"^(?:https?://)?(?:www\.)?huggingface\.co/papers/(?<id>\d{4}\.\d{4,5})(?:v\d+)?/?(?:[?#].*)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HuggingFacePattern();

    [GeneratedRegex(@"^(?:(?:https?://)?(?:dx\.|www\.)?doi\.org/|doi:\s*|info:doi/|urn:doi:)?(?<doi>10\.\d{4,9}/\S+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DoiPattern();

    [GeneratedRegex(@"^10\.48550/arxiv\.(?<id>.+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ArxivDoiPattern();

    /// <summary>
    /// <c>arxiv:ID</c>, or null. A bare new-style id (<c>2026.12345</c>) counts only in an arXiv-shaped
    /// context (<paramref name="arxivContext"/>: an arXiv or Hugging Face source); a number of that shape is
    /// otherwise just some site's id. With a prefix (<c>arXiv:</c>, <c>oai:arXiv.org:</c>, an arXiv URL) it always counts.
    /// </summary>
    public static string? TryArxiv(string? value, bool arxivContext = false)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var trimmed = value.Trim();
        if (HuggingFacePattern().Match(trimmed) is { Success: true } hf)
            return "arxiv:" + hf.Groups["id"].Value;
        var match = ArxivPattern().Match(trimmed);
        if (!match.Success)
            return null;
        if (match.Groups["number"].Success)
            return ArxivArchives.Contains(match.Groups["archive"].Value)
                ? "arxiv:" + (match.Groups["archive"].Value + "/" + match.Groups["number"].Value).ToLowerInvariant()
                : null;
        return match.Groups["prefix"].Success || arxivContext ? "arxiv:" + match.Groups["id"].Value : null;
    }

    /// <summary><c>doi:10.x/y</c> in lower case, or null; arXiv's DOIs are left to <see cref="TryArxiv"/>.</summary>
    public static string? TryDoi(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var trimmed = value.Trim();
        // doi.org links may percent-encode the slash (https://doi.org/10.1000%2Fxyz).
        if (trimmed.Contains('%'))
            trimmed = Uri.UnescapeDataString(trimmed);
        var match = DoiPattern().Match(trimmed);
        if (!match.Success)
            return null;
        var doi = match.Groups["doi"].Value.TrimEnd('.', ',', ';').ToLowerInvariant();
        if (doi.IndexOfAny(['?', '#']) is var cut and > 0 && trimmed.Contains("doi.org/", StringComparison.OrdinalIgnoreCase))
            doi = doi[..cut];
        return "doi:" + doi;
    }

    /// <summary>
    /// The strongest identity among <paramref name="candidates"/> (ids, links, DOIs of one item, in the
    /// feed's order): arXiv, then DOI, then a link, then the source's own id; failing all, title and
    /// date. Null only when the item has nothing at all to be known by.
    /// </summary>
    public static string? For(string sourceName, IEnumerable<string?> candidates, string? title = null, DateTimeOffset? date = null, bool arxivContext = false)
    {
        var values = candidates.Where(c => !string.IsNullOrWhiteSpace(c)).Select(c => c!.Trim()).ToList();
        foreach (var value in values)
            if ((TryArxiv(value, arxivContext) ?? ArxivFromDoi(value)) is { } arxiv)
                return arxiv;
        foreach (var value in values)
            if (TryDoi(value) is { } doi)
                return doi;
        foreach (var value in values)
            if (Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
                return "url:" + Normalise(url);
        if (values.Count > 0)
            return $"id:{sourceName}:{values[0]}";
        return FromContent(title, date);
    }

    /// <summary>
    /// Title (case and spacing folded) plus the UTC date: the same untitled-id item seen twice is one
    /// row, and a title-only feed still reaches readers. Not scoped to the source, so two feeds
    /// relaying the same title-only item on the same day merge too.
    /// </summary>
    public static string? FromContent(string? title, DateTimeOffset? date)
    {
        var folded = Text.Clean(title).ToLowerInvariant();
        if (folded.Length == 0)
            return null;
        var key = folded + "\n" + (date?.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) ?? "");
        return "content:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];
    }

    /// <summary>arXiv's own DOI (<c>10.48550/arXiv.ID</c>, any DOI form) as <c>arxiv:ID</c>, or null.</summary>
    internal static string? ArxivFromDoi(string value) =>
        TryDoi(value) is { } doi && ArxivDoiPattern().Match(doi["doi:".Length..]) is { Success: true } match
            ? TryArxiv(match.Groups["id"].Value, arxivContext: true) : null;

    private static string Normalise(Uri url)
    {
        var builder = new UriBuilder(url) { Fragment = "", Scheme = url.Scheme.ToLowerInvariant(), Host = url.Host.ToLowerInvariant() };
        if (builder.Uri.IsDefaultPort)
            builder.Port = -1;
        // Tracking parameters name the campaign, not the page.
        var query = builder.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !p.StartsWith("utm_", StringComparison.OrdinalIgnoreCase));
        builder.Query = string.Join('&', query);
        return builder.Uri.AbsoluteUri.TrimEnd('/');
    }

    /// <summary>The public page of a paper known by an arXiv id or a DOI; null for other identities.</summary>
    public static string? PageUrl(string canonicalId) => canonicalId switch
    {
        _ when canonicalId.StartsWith("arxiv:", StringComparison.Ordinal) => "https://arxiv.org/abs/" + canonicalId["arxiv:".Length..],
        _ when canonicalId.StartsWith("doi:", StringComparison.Ordinal) => "https://doi.org/" + canonicalId["doi:".Length..],
        _ => null,
    };

    /// <summary>The public page of an arXiv paper.</summary>
    public static string ArxivAbsUrl(string canonicalId) => "https://arxiv.org/abs/" + canonicalId["arxiv:".Length..];
}
