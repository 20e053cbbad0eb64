using Microsoft.Extensions.Options;
using Newsletter.Telemetry;

namespace Newsletter.Sources;

public enum CollectOutcome { Stored, NotModified, Failed }

public sealed record SourceReport(string Name, CollectOutcome Outcome, int Parsed, int Added, int Updated, string? Error, int Skipped = 0)
{
    public override string ToString() => Outcome switch
    {
        CollectOutcome.Stored => $"{Name}: {Parsed} entries, {Added} new, {Updated} already known" + (Skipped > 0 ? $", {Skipped} unusable items skipped" : ""),
        CollectOutcome.NotModified => $"{Name}: not modified",
        _ => $"{Name}: FAILED: {Error}",
    };
}

/// <summary>Fetches every configured source once; a failing source is reported and never stops the others.</summary>
public sealed class Collector(
    FeedFetcher fetcher,
    EntryStore entries,
    SourceStateStore states,
    SourceHealthStore history,
    ArxivCategories categories,
    PaperEmbeddings embeddings,
    Storage.SettingsStore settings,
    TimeProvider time,
    IOptions<SourcesOptions> options,
    ILogger<Collector> logger,
    ILoggerFactory loggers)
{
    /// <summary>
    /// The category of the one line per failed source, so that <c>collect</c>, which prints that
    /// failure itself, can mute it and say each failure once.
    /// </summary>
    public const string FailureCategory = "Newsletter.Sources.Collector.Failures";

    private readonly ILogger _failures = loggers.CreateLogger(FailureCategory);

    /// <summary>What the last collect embedded (null: <c>Ranking:Model</c> is <c>Off</c>), for <c>collect</c>'s summary.</summary>
    public EmbeddingReport? LastEmbedding { get; private set; }

    /// <summary>
    /// The settings key of the last collect's end (Unix milliseconds), by whichever process ran it:
    /// the database is what every instance shares, so a digest on one instance knows that another
    /// has collected (<c>Scheduling/CollectGate</c>).
    /// </summary>
    public const string FinishedKey = "collect_finished_at";

    public async Task<IReadOnlyList<SourceReport>> CollectAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await CollectAllAsync(cancellationToken);
        }
        finally
        {
            // A failed collect counts as finished too: the digest waits for the attempt, not for success.
            await TryRecordFinishedAsync();
        }
    }

    /// <summary>When the last collect (by any instance, or the collect verb) finished; null before the first.</summary>
    public async Task<DateTimeOffset?> LastFinishedAsync(CancellationToken cancellationToken) =>
        await settings.GetAsync(FinishedKey, cancellationToken) is { } text && long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            ? Storage.DbTime.FromDb(ms)
            : null;

    private async Task TryRecordFinishedAsync()
    {
        try
        {
            await settings.SetAsync(FinishedKey, Storage.DbTime.ToDb(time.GetUtcNow()).ToString(System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);
        }
        catch (System.Data.Common.DbException exception)
        {
            // The collect's own fault (if any) is the one reported; a digest waiting for this mark gives up at its limit.
            logger.LogDebug(exception, "Could not record the end of the collect");
        }
    }

    private async Task<IReadOnlyList<SourceReport>> CollectAllAsync(CancellationToken cancellationToken)
    {
        using var activity = NewsletterTelemetry.Activities.StartActivity("collect");
        var reports = await Task.WhenAll(options.Value.Sources.Select(source => CollectOneAsync(source, cancellationToken)));
        // Never fails the collect: a paper without categories is still collected and retried next run.
        await categories.LookUpAsync(cancellationToken);
        // Never fails the collect either: a paper not embedded is served unranked and embedded next run.
        LastEmbedding = await embeddings.EmbedPendingAsync(cancellationToken);
        if (LastEmbedding is { } embedded)
            logger.LogInformation("Learned ranking: {Embedding}", embedded);
        logger.LogInformation("Collected {Sources} sources: {Added} new entries, {Failed} failed",
            reports.Length, reports.Sum(r => r.Added), reports.Count(r => r.Outcome == CollectOutcome.Failed));
        return reports;
    }

    private async Task<SourceReport> CollectOneAsync(SourceDefinition source, CancellationToken cancellationToken)
    {
        var report = await FetchOneAsync(source, cancellationToken);
        var tag = new KeyValuePair<string, object?>("source", source.Name);
        NewsletterTelemetry.PapersCollected.Add(report.Parsed, tag);
        NewsletterTelemetry.PapersNew.Add(report.Added, tag);
        if (report.Outcome == CollectOutcome.Failed)
            NewsletterTelemetry.SourceFailures.Add(1, tag);
        // The run's history is what /health and the console judge a source by; failing to write it
        // (a busy database) must not turn a good collect into a failed one.
        try { await history.RecordAsync(report, cancellationToken); }
        catch (Exception exception) when (exception is System.Data.Common.DbException)
        {
            logger.LogWarning("Could not record the run of source {Source}: {Reason}", source.Name, exception.Message);
        }
        return report;
    }

    private async Task<SourceReport> FetchOneAsync(SourceDefinition source, CancellationToken cancellationToken)
    {
        try
        {
            var previous = await states.GetAsync(source.Name, cancellationToken);
            var fetched = await fetcher.FetchAsync(source, previous, cancellationToken);
            if (fetched.NotModified)
            {
                logger.LogInformation("Source {Source}: not modified", source.Name);
                return new SourceReport(source.Name, CollectOutcome.NotModified, 0, 0, 0, null);
            }
            var parsed = FeedParsers.Parse(source.Kind, fetched.Content, source.Name);
            LogSkipped(source, parsed.Skipped);
            var counts = await entries.UpsertAsync(parsed.Entries, cancellationToken);
            // Validators are remembered only after the content is safely stored, so a failed
            // parse is fetched in full again next time instead of being answered 304.
            await states.SaveSuccessAsync(source.Name, fetched.State, cancellationToken);
            logger.LogInformation("Source {Source}: {Parsed} entries, {Added} new", source.Name, parsed.Entries.Count, counts.Added);
            return new SourceReport(source.Name, CollectOutcome.Stored, parsed.Entries.Count, counts.Added, counts.Updated, null, parsed.Skipped.Count);
        }
        // A damaged or vanished database is not this source's fault: it stops the whole collect
        // (one sentence from the caller), not one "failed" line per source.
        catch (Exception exception) when (!Storage.StorageFaults.IsStorageFault(exception)
            && (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
        {
            var reason = Describe(exception);
            _failures.LogWarning("Source {Source} ({Url}) failed: {Reason}", source.Name, source.Url, reason);
            await TryRecordErrorAsync(source.Name, reason, cancellationToken);
            return new SourceReport(source.Name, CollectOutcome.Failed, 0, 0, 0, reason);
        }
    }

    /// <summary>
    /// One line per unusable item, naming the source, so the operator can tell the feed's owner; bounded,
    /// so a feed of ten thousand broken items cannot flood the log.
    /// </summary>
    private void LogSkipped(SourceDefinition source, IReadOnlyList<string> skipped)
    {
        const int shown = 10;
        foreach (var reason in skipped.Take(shown))
            logger.LogWarning("Source {Source}: skipped {Reason}", source.Name, reason);
        if (skipped.Count > shown)
            logger.LogWarning("Source {Source}: skipped {More} more unusable items", source.Name, skipped.Count - shown);
    }

    private async Task TryRecordErrorAsync(string name, string reason, CancellationToken cancellationToken)
    {
        try { await states.SaveErrorAsync(name, reason, cancellationToken); }
        catch (Exception exception) { logger.LogDebug(exception, "Could not record the error of source {Source}", name); }
    }

    /// <summary>One line an operator can act on, without a stack trace.</summary>
    private static string Describe(Exception exception) => exception switch
    {
        SourceException => exception.Message,
        HttpRequestException http => $"unreachable: {http.Message}",
        System.Text.Json.JsonException json => $"invalid JSON: {json.Message}",
        System.Xml.XmlException xml => $"invalid XML: {xml.Message}",
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };
}
