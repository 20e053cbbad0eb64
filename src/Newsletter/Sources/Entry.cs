namespace Newsletter.Sources;

/// <summary>
/// One paper or post as normalised from any source; <see cref="CanonicalId"/> makes it one row.
/// <see cref="Categories"/> are the feed's categories (arXiv ones such as <c>cs.LG</c> for arXiv feeds), when it gives any.
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
    IReadOnlyList<string>? Categories = null)
{
    /// <summary>Longer titles are cut: real paper titles stay well under 300 characters.</summary>
    public const int MaxTitleLength = 300;

    /// <summary>arXiv caps abstracts at 1,920 characters; journals' are similar.</summary>
    public const int MaxSummaryLength = 2_500;

    /// <summary>Authors kept per paper (the rest become "et al."), and characters per name.</summary>
    public const int MaxAuthors = 50;
    public const int MaxAuthorLength = 100;

    /// <summary>
    /// The entry with its text fields within the caps above, applied when a feed is parsed: one hostile
    /// or broken item (a 1 MB author list) must not be able to fill a digest past the render limit.
    /// </summary>
    public Entry WithinLimits()
    {
        if (Title.Length <= MaxTitleLength && Summary.Length <= MaxSummaryLength
            && Authors.Count <= MaxAuthors && Authors.All(a => a.Length <= MaxAuthorLength))
            return this;
        var authors = Authors.Take(MaxAuthors).Select(a => Text.Truncate(a, MaxAuthorLength)).ToList();
        if (Authors.Count > MaxAuthors)
            authors.Add("et al.");
        return this with
        {
            Title = Text.Truncate(Title, MaxTitleLength),
            Summary = Text.Truncate(Summary, MaxSummaryLength),
            Authors = authors,
        };
    }
}

/// <summary>A source answered, but with something that must not be stored (e.g. an arXiv API error feed).</summary>
public sealed class SourceException(string message, Exception? inner = null) : Exception(message, inner);
