using Microsoft.Extensions.Options;
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
    IOptions<DeliveryOptions> delivery,
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
    /// For a subscriber, exactly what <c>send-now</c> (with a date, <c>send-now --date</c>) would send
    /// them at this moment, through the composer's own steps; or no digest and the one line that
    /// says why none would be sent (not one of their days, already sent, nothing new, paused,
    /// unsubscribed). For any other address, the issue (<see cref="IssueForAsync(DateOnly?, CancellationToken)"/>).
    /// </summary>
    public async Task<(Issue? Issue, string? Note)> IssueForAsync(string? email, DateOnly? date, CancellationToken cancellationToken)
    {
        if (!EmailAddress.TryParse(email ?? DefaultPreviewAddress, out var address, out _)
            || await subscribers.FindAsync(address!, cancellationToken) is not { } subscriber)
            return await IssueForAsync(date, cancellationToken);
        if (subscriber.Status != SubscriberStatus.Active)
            return (null, $"{subscriber.Email} is {subscriber.Status}: no digest is sent to them.");
        if (subscriber.IsPaused)
            return (null, $"{subscriber.Email} is paused: no digest is sent to them until they resume.");
        var preview = await composer.PreviewAsync(subscriber.Id, subscriber.Preferences, date ?? daily.Today(), delivery.Value.MaxAge, cancellationToken);
        return preview.Digest is { } digest
            ? (digest, null)
            : (null, $"No digest would be sent to {subscriber.Email} now: {preview.Reason}.");
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

    /// <summary>A known subscriber gets their real links; any other valid address gets links for no one.</summary>
    public async Task<DigestRecipient?> RecipientAsync(string? email, CancellationToken cancellationToken)
    {
        if (!EmailAddress.TryParse(email ?? DefaultPreviewAddress, out var address, out _))
            return null;
        var subscriber = await subscribers.FindAsync(address!, cancellationToken);
        var id = subscriber?.Id ?? 0;
        // Feedback links only for a real reader: a vote through a stranger's preview would land on nobody.
        return new DigestRecipient(subscriber?.Email ?? address!.Address, links.Unsubscribe(id), links.Preferences(id),
            subscriber is null ? null : (entryId, more) => links.Feedback(id, entryId, more));
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
