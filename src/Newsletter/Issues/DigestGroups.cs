using Newsletter.Model;

namespace Newsletter.Issues;

/// <summary>
/// How many papers a digest shows: the first <see cref="InFull"/> in full, then up to <see cref="Capacity"/> in all
/// under "More papers" while that list stays within <see cref="MoreListBytes"/> (a digest stays under Gmail's clip
/// however many papers a day brings: Rendering's DigestSizeBudget shortens the full entries, this bounds the list).
/// </summary>
internal sealed record DigestLimits(int InFull, int Capacity)
{
    /// <summary>What the compact list may take: its titles and links, and <see cref="ItemMarkup"/> bytes of markup per paper (the default template's ~110 after CSS inlining).</summary>
    public const int MoreListBytes = 30_000;

    public const int ItemMarkup = 120;

    /// <summary>
    /// Per ranked paper, 0: shown in full, 1: under "More papers", 2: no room, carried to the reader's next digest.
    /// The list ends at the first paper that does not fit, so the ranking is kept and nothing jumps the queue.
    /// </summary>
    public int[] Place(IReadOnlyList<CandidatePaper> ranked)
    {
        var places = new int[ranked.Count];
        var bytes = 0;
        var full = false;
        for (var i = 0; i < ranked.Count; i++)
        {
            if (i < InFull)
                continue;
            if (!full && i < Capacity)
            {
                bytes += ItemBytes(ranked[i].Title, ranked[i].Url);
                full = bytes > MoreListBytes;
            }
            places[i] = full || i >= Capacity ? 2 : 1;
        }
        return places;
    }

    private static int ItemBytes(string title, string url) => System.Text.Encoding.UTF8.GetByteCount(title) + System.Text.Encoding.UTF8.GetByteCount(url) + ItemMarkup;
}

/// <summary>
/// One digest to freeze: its papers in rank order with their reasons and <see cref="DigestLimits.Place"/>s, and the readers who share it.
/// <see cref="Signature"/> names its content (cadence, papers, reasons, places): two digests with the same one are one digest.
/// </summary>
internal sealed record ComposedDigest(string Cadence, long WindowStart, List<(CandidatePaper Paper, string Why)> Papers, int[] Places, List<long> Readers, UInt128 Signature);

/// <summary>
/// Groups the readers due on one date and filters the papers once per group: readers with the same
/// preferences, cursor, previous digest and rising papers get the same papers; groups whose papers (and reasons)
/// come out the same share one digest. A group for whom nothing matched is set aside with the reason.
/// </summary>
internal static class DigestGroups
{
    public static (IReadOnlyCollection<ComposedDigest> Digests, Dictionary<string, List<long>> Skipped) Compose(
        IEnumerable<DueReader> readers, IReadOnlyList<CandidatePaper> papers, IReadOnlyDictionary<long, List<CandidatePaper>> carried,
        RisingPapers rising, long windowFloor, long carryFloor, DigestLimits limits, HashSet<long> leftOut, CancellationToken cancellationToken,
        LearnedRanking? learned = null)
    {
        learned ??= LearnedRanking.None;
        // A reader on a learned ranking has an order of their own: they are a group of one (0 for everyone else).
        var groups = readers.GroupBy(r => (r.Preferences.ContentKey(), Math.Max(r.ServedUntil, windowFloor), r.Preferences.Cadence, r.LastDigestId, rising.Key(r.Id),
            learned.Learns(r) ? r.Id : 0));
        var digests = new Dictionary<UInt128, ComposedDigest>();
        var skipped = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (_, start, cadence, lastDigest, risingKey, learner) = group.Key;
            var filter = new PaperFilter(group.First().Preferences);
            var inWindow = 0;
            var chosen = new List<(CandidatePaper Paper, string Why)>();
            foreach (var paper in papers)
            {
                if (paper.FirstSeenAt <= start)
                    continue;
                inWindow++;
                if (filter.Matches(paper, out var why))
                    chosen.Add((paper, why));
            }
            // What the reader's previous digest had no room for comes again, while young enough.
            if (lastDigest is { } previous && carried.TryGetValue(previous, out var waiting))
                foreach (var paper in waiting.Where(w => chosen.All(c => c.Paper.Id != w.Id)))
                {
                    if (paper.FirstSeenAt <= carryFloor)
                        leftOut.Add(paper.Id);
                    else if (filter.Matches(paper, out var why))
                        chosen.Add((paper, why));
                }
            // Papers an earlier digest held back for the minimum score, whose score has risen since (RisingPapers).
            foreach (var paper in rising.Papers(risingKey).Where(p => chosen.All(c => c.Paper.Id != p.Id)))
                if (filter.Matches(paper, out var why))
                    chosen.Add((paper, why));
            if (chosen.Count == 0)
            {
                foreach (var reader in group)
                {
                    var reason = SkipReason(reader, inWindow);
                    if (!skipped.TryGetValue(reason, out var ids))
                        skipped[reason] = ids = [];
                    ids.Add(reader.Id);
                }
                continue;
            }
            var ranked = learner != 0 ? learned.Rank(group.First(), chosen, leftOut) : PaperRanking.Rank(chosen, c => c.Paper).ToList();
            if (ranked.Count == 0)
            {
                // Everything was under the reader's minimum relevance: no mail, and the reason says so.
                foreach (var reader in group)
                    AddSkip(skipped, $"none of the {chosen.Count} matching papers reached the reader's minimum relevance", reader.Id);
                continue;
            }
            var cadenceText = cadence == Cadence.Weekly ? "weekly" : "daily";
            var places = limits.Place(ranked.Select(r => r.Paper).ToList());
            var signature = Signature(cadenceText + "|" + string.Join('|', ranked.Select((r, i) => r.Paper.Id + ":" + r.Why + ":" + places[i])));
            if (!digests.TryGetValue(signature, out var composed))
                digests[signature] = composed = new ComposedDigest(cadenceText, start, ranked, places, [], signature);
            composed.Readers.AddRange(group.Select(r => r.Id));
        }
        return (digests.Values, skipped);
    }

    // A digest's content as 128 bits of its SHA-256 rather than the text itself (~5 KB for 100 papers with reasons):
    // a compose where every reader learns keeps one per reader.
    private static UInt128 Signature(string content) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(content)));

    private static void AddSkip(Dictionary<string, List<long>> skipped, string reason, long reader)
    {
        if (!skipped.TryGetValue(reason, out var ids))
            skipped[reason] = ids = [];
        ids.Add(reader);
    }

    /// <summary>Why a reader gets no mail, in words an operator and the reader would use: the true cause, not a guess.</summary>
    public static string SkipReason(DueReader reader, int inWindow) => inWindow > 0
        ? $"none of the {inWindow} new papers matched the reader's preferences"
        : reader.IsNew
            ? "no papers collected since they joined (nor within Subscriptions:NewReaderLookback before)"
            : "no new papers since the last digest";
}
