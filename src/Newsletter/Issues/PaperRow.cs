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

    // The card's columns (Model.PaperCard), NULL where the source did not say; read where a query names them (CardColumns).
    public string? CodeUrl { get; init; }
    public long? CodeStars { get; init; }
    public string? ProjectUrl { get; init; }
    public string? DiscussionUrl { get; init; }
    public long? Comments { get; init; }
    public string? Organization { get; init; }
    public string? AiSummary { get; init; }
    public string? AiKeywords { get; init; }

    /// <summary>The card's columns as this row's properties, for a query on <c>entries</c> (<see cref="CardColumnsOfE"/>: aliased <c>e</c>).</summary>
    public const string CardColumns = "code_url AS CodeUrl, code_stars AS CodeStars, project_url AS ProjectUrl, discussion_url AS DiscussionUrl, "
        + "comments AS Comments, organization AS Organization, ai_summary AS AiSummary, ai_keywords AS AiKeywords";

    public const string CardColumnsOfE = "e.code_url AS CodeUrl, e.code_stars AS CodeStars, e.project_url AS ProjectUrl, e.discussion_url AS DiscussionUrl, "
        + "e.comments AS Comments, e.organization AS Organization, e.ai_summary AS AiSummary, e.ai_keywords AS AiKeywords";

    /// <summary>The stored card; null when the paper has none (its columns were not read, or no source told anything).</summary>
    public PaperCard? Card()
    {
        var card = new PaperCard(CodeUrl, Number(CodeStars), ProjectUrl, DiscussionUrl, Number(Comments), Organization, AiSummary,
            AiKeywords is null ? null : EntryColumns.List(AiKeywords));
        return card.IsEmpty ? null : card;
    }

    private static int? Number(long? value) => value is { } number ? (int)Math.Clamp(number, 0, PaperCard.MaxCount) : null;

    /// <summary>The paper as filtering sees it, with every source that listed it (at least its own).</summary>
    public CandidatePaper ToCandidate(List<string> sources) => new(
        Id, Title, Summary, EntryColumns.Authors(Authors),
        Url, (int)Score, DbTime.FromDb(PublishedAt), Source,
        Categories.Length == 0 ? [] : Categories.Split(' ', StringSplitOptions.RemoveEmptyEntries),
        sources.Count == 0 ? [Source] : sources,
        FirstSeenAt,
        PaperVector.FromBytes(Embedding),
        Card());

    /// <summary>The paper as a frozen issue or digest holds it.</summary>
    public IssueEntry ToIssueEntry() => new(
        (int)Position, Title, Summary, EntryColumns.Authors(Authors),
        Url, (int)Score, DbTime.FromDb(PublishedAt), Source, Why, Id, Card());
}
