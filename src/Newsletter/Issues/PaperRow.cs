using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Issues;

/// <summary>
/// A stored paper as any query of this folder reads it: the entry's columns, and where the query
/// names them its place in an issue or digest (<see cref="Position"/>, <see cref="Compact"/>,
/// <see cref="Why"/>). Settable properties rather than a constructor: Dapper matches constructors by
/// column type, and SQLite reports no type for computed columns of an empty result.
/// </summary>
internal sealed class PaperRow
{
    public long Id { get; init; }
    public long Position { get; init; }
    public string Title { get; init; } = "";
    public string Summary { get; init; } = "";
    public string Authors { get; init; } = "";
    public string Url { get; init; } = "";
    public long Score { get; init; }
    public long? PublishedAt { get; init; }
    public string Source { get; init; } = "";
    public string Categories { get; init; } = "";
    public long FirstSeenAt { get; init; }
    /// <summary>Read by the archive only (its Last-Modified): when the entry last changed.</summary>
    public long UpdatedAt { get; init; }
    public long Compact { get; init; }
    public string Why { get; init; } = "";
    public byte[]? Embedding { get; init; }

    /// <summary>The paper as filtering sees it, with every source that listed it (at least its own).</summary>
    public CandidatePaper ToCandidate(List<string> sources) => new(
        Id, Title, Summary, EntryColumns.Authors(Authors),
        Url, (int)Score, DbTime.FromDb(PublishedAt), Source,
        Categories.Length == 0 ? [] : Categories.Split(' ', StringSplitOptions.RemoveEmptyEntries),
        sources.Count == 0 ? [Source] : sources,
        FirstSeenAt,
        PaperVector.FromBytes(Embedding));

    /// <summary>The paper as a frozen issue or digest holds it.</summary>
    public IssueEntry ToIssueEntry() => new(
        (int)Position, Title, Summary, EntryColumns.Authors(Authors),
        Url, (int)Score, DbTime.FromDb(PublishedAt), Source, Why, Id);
}
