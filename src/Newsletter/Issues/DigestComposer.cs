using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Issues;

/// <summary>
/// Composes personal digests: for every reader who is due, the papers collected since they were
/// last served that match what they asked for, ranked and capped, frozen once per group of
/// readers with the same content, with one ledger row per reader.
/// </summary>
/// <remarks>
/// Each reader has a cursor, <c>served_until</c>: the collection time up to which they have been
/// served (at first, when they subscribed). A digest takes the papers first seen after the cursor
/// and moves it to the compose time, so successive digests of one reader cover disjoint stretches
/// of collection time: a paper (one row per canonical id, so a v2 or a re-trending paper is the
/// same row) reaches a reader at most once, whatever the cadence, the days or the dates asked for.
/// A digest shows the best <c>MaxEntriesPerIssue</c> in full and the next <c>MaxMoreEntriesPerIssue</c>
/// as a compact list; matching papers past both are stored with the digest (not shown) and offered
/// again in the reader's next digest, until they are older than <c>CarryOverMaxAge</c>, when they are
/// left out and counted.
/// One kind of paper first seen before the cursor comes again: a paper a reader's minimum score held
/// back, whose score has risen since, while it is younger than <c>CarryOverMaxAge</c> (<see cref="RisingPapers"/>).
/// A reader for whom nothing matched gets no mail: a <c>digest_skips</c> row says why, and marks the
/// date as done for them. The steps have a file each: <see cref="DueReaders"/> (who),
/// <see cref="PaperWindow"/> (which papers), <see cref="DigestGroups"/> (group and filter),
/// <see cref="DigestFreezer"/> (store).
/// </remarks>
public sealed class DigestComposer(
    Database database,
    IssueStore issues,
    TimeProvider time,
    IOptions<NewsletterOptions> options,
    IOptions<ScheduleOptions> schedule)
{
    /// <summary>A reader who was away longer than this gets the best of this stretch, not of all time.</summary>
    public static readonly TimeSpan LongestWindow = TimeSpan.FromDays(8);

    private readonly PaperWindow _window = new(database);

    /// <summary>How many readers one batch of a compose holds (<see cref="DueReaders.BatchSize"/>; tests make it small).</summary>
    internal int BatchSize { get; set; } = DueReaders.BatchSize;
    private readonly DigestFreezer _freezer = new(database, issues, options);

    /// <summary>
    /// With a date (<c>send-now --date</c>): every active reader whose days include it, whatever
    /// their hour. Without: every reader whose local send time has come (and is younger than
    /// <paramref name="maxAge"/>, <c>Delivery:MaxAge</c>) and who has not been served that local date.
    /// </summary>
    public async Task<ComposeResult> ComposeAsync(DateOnly? date, TimeSpan maxAge, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // An immediate (write) transaction: two composers serialise here, and a collect that
        // commits after us has first-seen times after ours (EntryStore takes its time inside its
        // transaction), so no paper falls between two windows.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // PostgreSQL: the same two locks as a second composer and as EntryStore take, so the
        // commit-order argument above holds there too (entries' lock second, as nobody takes it first).
        await database.SerializeAsync(connection, transaction, "compose issue");
        await database.SerializeAsync(connection, transaction, EntryColumns.WriteLockName);
        var now = time.GetUtcNow();
        var nowDb = DbTime.ToDb(now);
        var clock = new ReaderClock(schedule.Value, maxAge, now);
        var total = new ComposeTotals();
        var windowFloor = nowDb - (long)LongestWindow.TotalMilliseconds;
        var limits = Limits();
        var carryFloor = nowDb - (long)options.Value.CarryOverMaxAge.TotalMilliseconds;
        var frozen = new FrozenDigests();
        // Per date, the papers last read and from where: a later batch whose window starts no earlier reuses them
        // (DigestGroups takes each group's own stretch of them).
        var windows = new Dictionary<DateOnly, (long From, IReadOnlyList<CandidatePaper> Papers)>();
        var dates = new HashSet<DateOnly>();
        var carriedSoFar = new Dictionary<long, List<CandidatePaper>?>();
        var notOnDate = 0;
        // The readers in batches of ascending ids: a million due readers are never held at once. Readers of one
        // preference group in several batches still share one stored digest (FrozenDigests, by content).
        await foreach (var batch in DueReaders.BatchesAsync(connection, transaction, date, clock, BatchSize, cancellationToken))
        {
            notOnDate += batch.NotOnDate;
            foreach (var (readerDate, readers) in batch.Due.OrderBy(d => d.Key))
            {
                dates.Add(readerDate);
                var (pending, done) = await DueReaders.PendingAsync(connection, transaction, readerDate, readers, batch.Range, clock);
                total.AlreadyServed += done;
                if (pending.Count == 0)
                    continue;
                var from = Math.Max(pending.Min(r => r.ServedUntil), windowFloor);
                if (!windows.TryGetValue(readerDate, out var window) || window.From > from)
                    windows[readerDate] = window = (from, await PaperWindow.WindowAsync(connection, transaction, from, nowDb));
                var carried = await CarriedAsync(connection, transaction, pending, carriedSoFar);
                var rising = await RisingPapers.FindAsync(database, connection, transaction, pending, windowFloor, carryFloor, cancellationToken);
                var learned = await LearnedRanking.LoadAsync(connection, transaction, pending, batch.Range);
                var (digests, skipped) = DigestGroups.Compose(pending, window.Papers, carried, rising, Math.Max(windowFloor, 0), carryFloor, limits, total.LeftOut, cancellationToken, learned);
                await _freezer.FreezeAsync(connection, transaction, readerDate, nowDb, limits, digests, skipped, total, frozen);
            }
        }
        await _freezer.FanOutAsync(connection, transaction, nowDb, frozen, total);
        if (frozen.Issues.Count > 0)
            total.LastIssueId = frozen.Issues[frozen.Issues.Keys.Max()];
        // send-now --date with nobody due still composes the issue itself (its own list, for previews and archives), as before.
        if (date is { } asked && total.Deliveries == 0 && total.AlreadyServed == 0
            && await issues.CreateAsync(connection, transaction, asked, now, onlyWithPapers: true) is { Id: { } created, Papers: { } count })
        {
            total.LastIssueId = created;
            total.IssueOnly = count;
        }
        await transaction.CommitAsync(cancellationToken);

        var lastDate = date ?? (dates.Count == 0 ? clock.Today : dates.Max());
        total.Overflow.ExceptWith(total.Papers); // shown to one group and carried for another: counted as shown
        if (total.IssueOnly is { } issuePapers)
            return new ComposeResult(ComposeOutcome.Composed, lastDate, total.LastIssueId, issuePapers, 0, 0, total.NothingNew,
                Math.Min(issuePapers, options.Value.MaxEntriesPerIssue)) { Skips = total.SkipCounts(), NotOnDate = notOnDate, ComposedAt = now };
        var outcome = total.Deliveries > 0 ? ComposeOutcome.Composed
            : total.AlreadyServed > 0 && total.NothingNew == 0 ? ComposeOutcome.AlreadyComposed
            : ComposeOutcome.NoEntries;
        return new ComposeResult(outcome, lastDate, total.LastIssueId, total.Papers.Count, total.Deliveries, total.Groups, total.NothingNew,
            total.Full.Count, total.Overflow.Count, total.LeftOut.Count) { Skips = total.SkipCounts(), NotOnDate = notOnDate, ComposedAt = now };
    }

    /// <summary>
    /// What composing the digest of <paramref name="date"/> now (as <c>send-now --date</c> does, whatever
    /// their hour) would give one reader, through the same steps and without storing anything: their
    /// digest, or the one reason none would be sent (not one of their days, already sent, nothing new).
    /// </summary>
    public async Task<DigestPreview> PreviewAsync(long subscriberId, Preferences preferences, DateOnly date, TimeSpan maxAge, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var now = time.GetUtcNow();
        var nowDb = DbTime.ToDb(now);
        var clock = new ReaderClock(schedule.Value, maxAge, now);
        var batch = await DueReaders.OneAsync(connection, null, subscriberId, date, clock);
        if (batch.Due.FirstOrDefault(d => d.Value.Count > 0) is not { Value: [var reader] } found)
            return new DigestPreview(null, date, $"{date:yyyy-MM-dd} is not one of their days ({Days(preferences)})");
        var readerDate = found.Key;
        var reasons = new Dictionary<long, string>();
        await DueReaders.PendingAsync(connection, null, readerDate, [reader], batch.Range, clock, reasons);
        if (reasons.TryGetValue(reader.Id, out var settled))
            return new DigestPreview(null, readerDate, settled);
        var windowFloor = nowDb - (long)LongestWindow.TotalMilliseconds;
        var limits = Limits();
        var papers = await PaperWindow.WindowAsync(connection, null, Math.Max(reader.ServedUntil, windowFloor), nowDb);
        var carried = await _window.CarriedAsync(connection, null, reader.LastDigestId is { } last ? [last] : []);
        var carryFloor = nowDb - (long)options.Value.CarryOverMaxAge.TotalMilliseconds;
        var rising = await RisingPapers.FindAsync(database, connection, null, [reader], windowFloor, carryFloor, cancellationToken);
        var learned = await LearnedRanking.LoadAsync(connection, null, [reader], batch.Range);
        var (digests, skipped) = DigestGroups.Compose([reader], papers, carried, rising, Math.Max(windowFloor, 0), carryFloor, limits, [], cancellationToken, learned);
        if (digests.Count == 0)
            return new DigestPreview(null, readerDate, skipped.Keys.Single());
        // As IssueStore reads a frozen digest back: positions from 1, the carried papers not shown.
        var composed = digests.Single();
        IssueEntry Entry((CandidatePaper Paper, string Why) p, int index) =>
            new(index + 1, p.Paper.Title, p.Paper.Summary, p.Paper.Authors, p.Paper.Url, p.Paper.Score, p.Paper.PublishedAt, p.Paper.Source, p.Why, p.Paper.Id, p.Paper.Card);
        var full = composed.Papers.Select(Entry).Where((_, i) => composed.Places[i] == 0).ToList();
        var more = composed.Papers.Select(Entry).Where((_, i) => composed.Places[i] == 1).ToList();
        return new DigestPreview(new Issue(0, readerDate, full, composed.Cadence) { More = more }, readerDate, null);
    }

    /// <summary>How many previous digests' carried papers a compose remembers across its batches.</summary>
    private const int KeptCarried = 50_000;

    /// <summary>
    /// Per previous digest of the <paramref name="pending"/> readers, the papers it had no room for: each previous
    /// digest read once per compose (its readers are in many batches), while <see cref="KeptCarried"/> are remembered.
    /// </summary>
    private async Task<Dictionary<long, List<CandidatePaper>>> CarriedAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction,
        List<DueReader> pending, Dictionary<long, List<CandidatePaper>?> soFar)
    {
        var previous = pending.Select(r => r.LastDigestId).OfType<long>().Distinct().ToList();
        var read = await _window.CarriedAsync(connection, transaction, previous.Where(id => !soFar.ContainsKey(id)));
        var carried = new Dictionary<long, List<CandidatePaper>>();
        foreach (var id in previous)
        {
            if (!soFar.TryGetValue(id, out var papers))
            {
                papers = read.GetValueOrDefault(id);
                if (soFar.Count < KeptCarried)
                    soFar[id] = papers;
            }
            if (papers is not null)
                carried[id] = papers;
        }
        return carried;
    }

    private static string Days(Preferences preferences) => preferences.Cadence == Cadence.Weekly
        ? $"weekly on {preferences.EffectiveWeeklyDay}"
        : preferences.Days?.ToString() ?? "every day";

    private DigestLimits Limits() => new(options.Value.MaxEntriesPerIssue, options.Value.MaxEntriesPerIssue + options.Value.MaxMoreEntriesPerIssue);
}
