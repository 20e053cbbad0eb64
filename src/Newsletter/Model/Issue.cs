namespace Newsletter.Model;

/// <summary>
/// A composed issue as one reader gets it: its entries are frozen in rank order when it is composed.
/// <see cref="Entries"/> are shown in full; <see cref="More"/> continues the ranking as a compact list
/// (title and link). <see cref="Cadence"/> is <c>daily</c> or <c>weekly</c>.
/// </summary>
public sealed record Issue(long Id, DateOnly Date, IReadOnlyList<IssueEntry> Entries, string Cadence = "daily")
{
    public IReadOnlyList<IssueEntry> More { get; init; } = [];

    /// <summary>Every paper the issue holds, full and compact.</summary>
    public int PaperCount => Entries.Count + More.Count;
}

/// <summary>A paper as an issue shows it; <see cref="Card"/> is what its sources told beyond title, authors and abstract (null: nothing).</summary>
public sealed record IssueEntry(
    int Position,
    string Title,
    string Summary,
    IReadOnlyList<string> Authors,
    string Url,
    int Score,
    DateTimeOffset? PublishedAt,
    string Source,
    string Why = "",
    long EntryId = 0,
    PaperCard? Card = null);
