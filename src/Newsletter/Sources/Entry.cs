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
    IReadOnlyList<string>? Categories = null);

/// <summary>A source answered, but with something that must not be stored (e.g. an arXiv API error feed).</summary>
public sealed class SourceException(string message, Exception? inner = null) : Exception(message, inner);
