namespace Newsletter.Model;

/// <summary>
/// What a source tells about a paper beyond its title, authors and abstract, shown on its card: the code
/// repository and its stars, a project page, the discussion page and its comment count, the submitting
/// organisation, and a machine-written one-line summary with keywords (the Hugging Face daily papers API
/// gives all of them). Every field is optional: null or empty when the source did not say.
/// </summary>
/// <remarks>
/// Values arrive through <see cref="Bounded"/>, applied when a feed is parsed: links only as absolute
/// http(s) URLs of at most <see cref="MaxLinkLength"/> characters (a longer or other link is dropped, not cut:
/// half a URL leads nowhere), numbers only within <see cref="MaxCount"/>, text cut at its cap. So a hostile
/// item cannot fill a row, and the size budget can count on the caps.
/// </remarks>
public sealed record PaperCard(
    string? CodeUrl = null,
    int? CodeStars = null,
    string? ProjectUrl = null,
    string? DiscussionUrl = null,
    int? Comments = null,
    string? Organization = null,
    string? AiSummary = null,
    IReadOnlyList<string>? AiKeywords = null)
{
    /// <summary>Real repository and project links are well under 100 characters; 300 leaves room without letting one dominate a card.</summary>
    public const int MaxLinkLength = 300;

    /// <summary>Organisation names on Hugging Face are short ("Google DeepMind", "Shanghai AI Laboratory").</summary>
    public const int MaxOrganizationLength = 100;

    /// <summary>Hugging Face's summaries are one sentence of 100-250 characters.</summary>
    public const int MaxAiSummaryLength = 400;

    /// <summary>Keywords kept per paper and characters per keyword (the API gives 5-15 short phrases).</summary>
    public const int MaxKeywords = 12;

    public const int MaxKeywordLength = 60;

    /// <summary>More stars or comments than this is not a real count (the most-starred repository has under 500,000).</summary>
    public const int MaxCount = 10_000_000;

    /// <summary>A card that says nothing.</summary>
    public static readonly PaperCard Empty = new();

    /// <summary>Whether any field is set.</summary>
    public bool IsEmpty => CodeUrl is null && CodeStars is null && ProjectUrl is null && DiscussionUrl is null && Comments is null
        && Organization is null && AiSummary is null && (AiKeywords is null || AiKeywords.Count == 0);

    /// <summary>The card within the caps above: bad links and counts dropped, text one line and cut, empty strings as null.</summary>
    public PaperCard Bounded() => new(
        Link(CodeUrl), Count(CodeStars), Link(ProjectUrl), Link(DiscussionUrl), Count(Comments),
        Line(Organization, MaxOrganizationLength), Line(AiSummary, MaxAiSummaryLength),
        AiKeywords is null ? null : AiKeywords.Select(k => Line(k, MaxKeywordLength)).OfType<string>()
            .Distinct(StringComparer.OrdinalIgnoreCase).Take(MaxKeywords).ToArray() is { Length: > 0 } keywords ? keywords : null);

    /// <summary>An absolute http(s) URL within <see cref="MaxLinkLength"/>, as the URI parser writes it; null for anything else.</summary>
    public static string? Link(string? url)
    {
        var value = url?.Trim();
        if (string.IsNullOrEmpty(value) || value.Length > MaxLinkLength
            || !Uri.TryCreate(value, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || parsed.Host.Length == 0)
            return null;
        var written = parsed.AbsoluteUri;
        return written.Length <= MaxLinkLength ? written : null;
    }

    private static int? Count(int? count) => count is >= 0 and <= MaxCount ? count : null;

    /// <summary>One line (every control character and run of white space a single space), cut at a word with an ellipsis past <paramref name="max"/>.</summary>
    private static string? Line(string? text, int max)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        var spaced = string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
                span[i] = char.IsControl(source[i]) ? ' ' : source[i];
        });
        var line = string.Join(' ', spaced.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (line.Length == 0)
            return null;
        if (line.Length <= max)
            return line;
        var space = line.LastIndexOf(' ', max - 1);
        var cut = line[..(space > max / 2 ? space : max - 1)].TrimEnd(' ', ',', ';', ':', '.', '-');
        if (cut.Length > 0 && char.IsHighSurrogate(cut[^1]))
            cut = cut[..^1];
        return cut + "\u2026";
    }
}
