using Newsletter.Model;

namespace Newsletter.Sources;

/// <summary>
/// One paper or post as normalised from any source; <see cref="CanonicalId"/> makes it one row.
/// <see cref="Categories"/> are the feed's categories (arXiv ones such as <c>cs.LG</c> for arXiv feeds), when it gives any;
/// <see cref="Card"/> what else the source tells (code, project page, discussion, organisation, summary), when it tells any.
/// </summary>
public sealed record Entry(
    string CanonicalId,
    string Title,
    string Summary,
    IReadOnlyList<string> Authors,
    string Url,
    DateTimeOffset? PublishedAt,
    int Score,
    string Source,
    IReadOnlyList<string>? Categories = null,
    PaperCard? Card = null)
{
    /// <summary>Longer titles are cut: real paper titles stay well under 300 characters.</summary>
    public const int MaxTitleLength = 300;

    /// <summary>arXiv caps abstracts at 1,920 characters; journals' are similar.</summary>
    public const int MaxSummaryLength = 2_500;

    /// <summary>
    /// Authors stored per paper, characters per name, and characters per list. The whole list is kept so
    /// that a followed author is found however far down it they are; every real list fits (the longest on
    /// arXiv, ATLAS and CMS collaboration papers, have about 5,000 names in some 80,000 characters), and a
    /// hostile item cannot store more. A digest shows only the first names (the renderer's cap).
    /// </summary>
    public const int MaxAuthors = 5_000;
    public const int MaxAuthorLength = 100;
    public const int MaxAuthorCharacters = 100_000;

    /// <summary>
    /// The entry with its text fields within the caps above, applied when a feed is parsed: one hostile
    /// or broken item (a 1 MB author list) must not be able to fill a row or a digest.
    /// </summary>
    public Entry WithinLimits()
    {
        var card = Card?.Bounded() is { IsEmpty: false } bounded ? bounded : null;
        if (Title.Length <= MaxTitleLength && Summary.Length <= MaxSummaryLength && AuthorsWithinLimits())
            return card == Card ? this : this with { Card = card };
        var authors = new List<string>(Math.Min(Authors.Count, MaxAuthors));
        var characters = 0;
        foreach (var name in Authors)
        {
            var kept = Text.Truncate(name, MaxAuthorLength);
            if (authors.Count == MaxAuthors || characters + kept.Length > MaxAuthorCharacters)
                break;
            authors.Add(kept);
            characters += kept.Length;
        }
        return this with
        {
            Title = Text.Truncate(Title, MaxTitleLength),
            Summary = Text.Truncate(Summary, MaxSummaryLength),
            Authors = authors,
            Card = card,
        };
    }

    private bool AuthorsWithinLimits()
    {
        if (Authors.Count > MaxAuthors)
            return false;
        var characters = 0;
        foreach (var name in Authors)
        {
            if (name.Length > MaxAuthorLength)
                return false;
            characters += name.Length;
        }
        return characters <= MaxAuthorCharacters;
    }
}

/// <summary>A source answered, but with something that must not be stored (e.g. an arXiv API error feed).</summary>
public sealed class SourceException(string message, Exception? inner = null) : Exception(message, inner);
