namespace Newsletter.Issues;

/// <summary>
/// What one compose did, over every date it served: <paramref name="Entries"/> distinct papers went
/// into digests, <paramref name="InFull"/> of them shown in full (the rest under "More papers");
/// <paramref name="Carried"/> matched but had no room and wait for the reader's next digest;
/// <paramref name="LeftOut"/> had waited longer than <c>CarryOverMaxAge</c> and will not be sent.
/// </summary>
public sealed record ComposeResult(ComposeOutcome Outcome, DateOnly Date, long? IssueId, int Entries, int Deliveries,
    int Groups = 0, int NothingNew = 0, int InFull = 0, int Carried = 0, int LeftOut = 0);

public enum ComposeOutcome { Composed, AlreadyComposed, NoEntries }

/// <summary>The running counts of one compose, over every date it serves; papers are counted once however many digests hold them.</summary>
internal sealed class ComposeTotals
{
    public int Deliveries, Groups, NothingNew, AlreadyServed;
    public long? LastIssueId;
    public int? IssueOnly;
    public readonly HashSet<long> Papers = [], Full = [], Overflow = [], LeftOut = [];
}
