using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Rendering;
using Newsletter.Subscriptions;

namespace Newsletter.Orchestration;

/// <summary>Renders the current digest for one person, outside the ledger: <c>preview</c> and <c>send-test</c>.</summary>
public sealed class DigestPreviews(
    IssueStore issues,
    DigestComposer composer,
    DailyDigest daily,
    SubscriberStore subscribers,
    MailLinks links,
    DigestRenderer renderer,
    DigestMessageBuilder messages,
    TransportFactory transports,
    TimeProvider time)
{
    private const string DefaultPreviewAddress = "reader@example.org";

    /// <summary>
    /// The issue of <paramref name="date"/> as composed, else what composing it now would hold (possibly
    /// empty). Without a date: today's, else the latest issue when nothing new waits. The note says
    /// which it is when that is not simply the composed issue of the date asked for.
    /// </summary>
    public async Task<(Issue Issue, string? Note)> IssueForAsync(DateOnly? date, CancellationToken cancellationToken)
    {
        if (date is null)
        {
            var current = await CurrentIssueAsync(cancellationToken);
            var today = daily.Today();
            return current.Date == today || current.Id == 0
                ? (current, current.Id == 0 ? $"Issue {Iso(today)} is not composed yet; this is what composing it now would hold." : null)
                : (current, $"Nothing new for {Iso(today)}; showing the latest issue, of {Iso(current.Date)}.");
        }
        if (await issues.FindAsync(date.Value, cancellationToken) is { } id)
            return (await issues.GetAsync(id, cancellationToken), null);
        var draft = await issues.DraftAsync(date.Value, cancellationToken);
        return (draft, draft.PaperCount == 0
            ? $"Issue {Iso(date.Value)} is not composed and no paper is waiting: composing it now would send nothing."
            : $"Issue {Iso(date.Value)} is not composed yet; this is what composing it now would hold.");
    }

    /// <summary>
    /// For a subscriber, their personal digest of <paramref name="date"/> (default today) as composed
    /// for them, else what composing it for them now would hold; for any other address, the issue
    /// (<see cref="IssueForAsync(DateOnly?, CancellationToken)"/>).
    /// </summary>
    public async Task<(Issue Issue, string? Note)> IssueForAsync(string? email, DateOnly? date, CancellationToken cancellationToken)
    {
        if (!EmailAddress.TryParse(email ?? DefaultPreviewAddress, out var address, out _)
            || await subscribers.FindAsync(address!, cancellationToken) is not { } subscriber)
            return await IssueForAsync(date, cancellationToken);
        if (date is null)
            return (await CurrentIssueAsync(email, cancellationToken), null);
        if (await issues.ReaderDigestIdAsync(subscriber.Id, date.Value, cancellationToken) is { } digestId)
            return (await issues.GetDigestAsync(digestId, cancellationToken), null);
        var draft = await composer.DraftAsync(date.Value, await subscribers.ServedUntilAsync(subscriber.Id, cancellationToken), subscriber.Preferences, cancellationToken);
        return (draft, draft.PaperCount == 0
            ? $"{subscriber.Email} has no digest of {Iso(date.Value)} and nothing new matches for them: composing now would send them nothing."
            : $"{subscriber.Email} has no digest of {Iso(date.Value)} yet; this is what composing it for them now would hold.");
    }

    private static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Today's issue if composed, else what composing now would produce, else the latest issue.</summary>
    public async Task<Issue> CurrentIssueAsync(CancellationToken cancellationToken)
    {
        // Today in Schedule:TimeZone, looked up by date: a later date composed ahead (send-now --date)
        // must not hide today's issue.
        var today = daily.Today();
        if (await issues.FindAsync(today, cancellationToken) is { } todayId)
            return await issues.GetAsync(todayId, cancellationToken);
        var latest = await issues.LatestIssueIdAsync(cancellationToken);
        var draft = await issues.DraftAsync(today, cancellationToken);
        if (draft.PaperCount > 0 || latest is null)
            return draft;
        return await issues.GetAsync(latest.Value, cancellationToken);
    }

    /// <summary>
    /// The digest a reader gets (or would get now): the one composed for them today, else what
    /// composing for them now would give, else the last one they were sent. An address that is
    /// not a subscriber sees what a reader without preferences sees.
    /// </summary>
    public async Task<Issue> CurrentIssueAsync(string? email, CancellationToken cancellationToken)
    {
        if (!EmailAddress.TryParse(email ?? DefaultPreviewAddress, out var address, out _)
            || await subscribers.FindAsync(address!, cancellationToken) is not { } subscriber)
            return await CurrentIssueAsync(cancellationToken);
        var today = daily.Today();
        if (await issues.ReaderDigestIdAsync(subscriber.Id, today, cancellationToken) is { } todays)
            return await issues.GetDigestAsync(todays, cancellationToken);
        var draft = await composer.DraftAsync(today, await subscribers.ServedUntilAsync(subscriber.Id, cancellationToken), subscriber.Preferences, cancellationToken);
        if (draft.PaperCount > 0)
            return draft;
        if (await issues.ReaderDigestIdAsync(subscriber.Id, null, cancellationToken) is { } latest)
            return await issues.GetDigestAsync(latest, cancellationToken);
        // Nothing for them yet (e.g. they joined after the last papers came): show what the current
        // issue looks like through their preferences, so there is something to judge.
        var current = await CurrentIssueAsync(cancellationToken);
        var filter = new PaperFilter(subscriber.Preferences);
        var entries = current.Entries
            .Select(e => (Entry: e, In: filter.Matches(new CandidatePaper(0, e.Title, e.Summary, e.Authors, e.Url, e.Score, e.PublishedAt, e.Source, [], [e.Source], 0), out var why), Why: why))
            .Where(e => e.In).Select((e, i) => e.Entry with { Position = i + 1, Why = e.Why }).ToList();
        return current with { Entries = entries, Cadence = draft.Cadence };
    }

    /// <summary>A known subscriber gets their real links; any other valid address gets links for no one.</summary>
    public async Task<DigestRecipient?> RecipientAsync(string? email, CancellationToken cancellationToken)
    {
        if (!EmailAddress.TryParse(email ?? DefaultPreviewAddress, out var address, out _))
            return null;
        var subscriber = await subscribers.FindAsync(address!, cancellationToken);
        var id = subscriber?.Id ?? 0;
        return new DigestRecipient(subscriber?.Email ?? address!.Address, links.Unsubscribe(id), links.Preferences(id));
    }

    public async Task<IReadOnlyList<string>> WriteAsync(Issue issue, DigestRecipient recipient, string directory, CancellationToken cancellationToken)
    {
        var digest = renderer.Render(issue, recipient);
        Directory.CreateDirectory(directory);
        var files = new[] { "subject.txt", "digest.html", "digest.txt", "digest.eml" }.Select(f => Path.Combine(directory, f)).ToArray();
        await File.WriteAllTextAsync(files[0], digest.Subject + "\n", cancellationToken);
        await File.WriteAllTextAsync(files[1], digest.Html, cancellationToken);
        await File.WriteAllTextAsync(files[2], digest.Text, cancellationToken);
        var message = messages.Build(digest, recipient.Email, PreviewMessageId(), recipient.UnsubscribeUrl, time.GetUtcNow());
        await message.WriteToAsync(files[3], cancellationToken);
        return files;
    }

    /// <summary>Sends through the configured transport; returns where it went.</summary>
    public async Task<string> SendAsync(Issue issue, DigestRecipient recipient, CancellationToken cancellationToken)
    {
        var digest = renderer.Render(issue, recipient);
        var message = messages.Build(digest, recipient.Email, PreviewMessageId(), recipient.UnsubscribeUrl, time.GetUtcNow());
        var transport = transports.Create();
        await using var sender = await transport.ConnectAsync(cancellationToken);
        await sender.SendAsync(message, cancellationToken);
        return transport.Describe();
    }

    private static string PreviewMessageId() => $"<test.{Guid.NewGuid():N}@newsletter.invalid>";
}
