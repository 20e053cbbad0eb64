using Newsletter.Model;

namespace Newsletter.Issues;

/// <summary>
/// What one compose did, over every date it served: <paramref name="Entries"/> distinct papers went
/// into digests, <paramref name="InFull"/> of them shown in full (the rest under "More papers");
/// <paramref name="Carried"/> matched but had no room and wait for the reader's next digest;
/// <paramref name="LeftOut"/> had waited longer than <c>CarryOverMaxAge</c> and will not be sent.
/// </summary>
public sealed record ComposeResult(ComposeOutcome Outcome, DateOnly Date, long? IssueId, int Entries, int Deliveries,
    int Groups = 0, int NothingNew = 0, int InFull = 0, int Carried = 0, int LeftOut = 0)
{
    /// <summary>Why the <see cref="NothingNew"/> readers got no mail, by reason.</summary>
    public IReadOnlyList<SkipCount> Skips { get; init; } = [];

    /// <summary>Active readers left out because the date asked for is not one of their days (or not their weekly day).</summary>
    public int NotOnDate { get; init; }

    /// <summary>When this compose ran: the skips it recorded carry this time.</summary>
    public DateTimeOffset ComposedAt { get; init; }
}

/// <summary><paramref name="Readers"/> got no mail for <paramref name="Reason"/>.</summary>
public sealed record SkipCount(string Reason, int Readers);

public enum ComposeOutcome { Composed, AlreadyComposed, NoEntries }

/// <summary>The running counts of one compose, over every date it serves; papers are counted once however many digests hold them.</summary>
internal sealed class ComposeTotals
{
    public int Deliveries, Groups, NothingNew, AlreadyServed;
    public long? LastIssueId;
    public int? IssueOnly;
    public readonly HashSet<long> Papers = [], Full = [], Overflow = [], LeftOut = [];
    public readonly Dictionary<string, int> Skips = new(StringComparer.Ordinal);

    public void Skip(string reason, int readers) => Skips[reason] = Skips.GetValueOrDefault(reason) + readers;

    public IReadOnlyList<SkipCount> SkipCounts() =>
        Skips.OrderByDescending(s => s.Value).Select(s => new SkipCount(s.Key, s.Value)).ToList();
}

/// <summary>What composing would give one reader now: their <paramref name="Digest"/>, or the <paramref name="Reason"/> none would be sent.</summary>
public sealed record DigestPreview(Issue? Digest, DateOnly Date, string? Reason);
