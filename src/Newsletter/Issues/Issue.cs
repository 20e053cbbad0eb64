namespace Newsletter.Issues;

/// <summary>A composed daily issue: its entries are frozen in rank order when it is composed.</summary>
public sealed record Issue(long Id, DateOnly Date, IReadOnlyList<IssueEntry> Entries);

public sealed record IssueEntry(
    int Position,
    string Title,
    string Summary,
    IReadOnlyList<string> Authors,
    string Url,
    int Score,
    DateTimeOffset? PublishedAt,
    string Source);
