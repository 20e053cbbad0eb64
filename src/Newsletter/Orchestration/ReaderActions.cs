using Microsoft.Extensions.Options;
using Newsletter.Delivery;
using Newsletter.Model;
using Newsletter.Rendering;
using Newsletter.Subscriptions;

namespace Newsletter.Orchestration;

public enum ReaderActionStatus
{
    /// <summary>Done as asked.</summary>
    Done,
    /// <summary>Nothing to do: it was so already.</summary>
    Unchanged,
    /// <summary>Not done: the reader's state does not allow it (the sentence says why).</summary>
    Refused,
    /// <summary>Not done: no such reader, or not an address.</summary>
    Unknown,
    /// <summary>Tried and failed (a relay refused, a template broke); nothing changed.</summary>
    Failed,
}

/// <summary>What an action did, in the one sentence both the CLI and the console show.</summary>
public sealed record ReaderActionResult(ReaderActionStatus Status, string Sentence)
{
    public bool Succeeded => Status is ReaderActionStatus.Done or ReaderActionStatus.Unchanged;
}

/// <summary>
/// What an operator does to one reader, for the CLI verbs (<c>subscribers pause|resume|remove</c>,
/// <c>send-test</c>, the confirmation mail of <c>subscribers add|import</c>) and the console's buttons
/// alike: the same rules and the same sentences, whichever front asks.
/// </summary>
public sealed class ReaderActions(SubscriberStore subscribers, ConfirmationMailer mailer, DigestPreviews previews, IOptions<SubscriptionOptions> options)
{
    /// <summary>
    /// Pause or resume, as the preferences page does: a paused reader stays subscribed and gets no
    /// digest until resumed. Only an active reader can be paused; anyone else gets no digest anyway,
    /// and pausing would hide why.
    /// </summary>
    public async Task<ReaderActionResult> PauseAsync(Subscriber subscriber, bool pause, CancellationToken cancellationToken)
    {
        var verb = pause ? "pause" : "resume";
        if (subscriber.Status != SubscriberStatus.Active)
            return new(ReaderActionStatus.Refused, $"Cannot {verb} {subscriber.Email}: it is {subscriber.Status}{(subscriber.StatusReason is { } reason ? $" ({reason})" : "")}; only an active reader can be paused or resumed.");
        if (subscriber.IsPaused == pause)
            return new(ReaderActionStatus.Unchanged, $"{subscriber.Email} is already {(pause ? "paused" : "active (not paused)")}; nothing changed.");
        // The preferences as just read go back unchanged: the store writes pause with them, as the page does.
        if (!await subscribers.SavePreferencesAsync(subscriber.Id, pause, subscriber.Preferences, cancellationToken))
            return Gone(subscriber);
        return new(ReaderActionStatus.Done, pause
            ? $"Paused {subscriber.Email}: no digests until 'subscribers resume {subscriber.Email}'."
            : $"Resumed {subscriber.Email}: digests again from their next send time.");
    }

    /// <summary>Unsubscribes the reader on their behalf; the reason names who did it.</summary>
    public async Task<ReaderActionResult> UnsubscribeAsync(Subscriber subscriber, string by, CancellationToken cancellationToken)
    {
        if (subscriber.Status == SubscriberStatus.Unsubscribed)
            return new(ReaderActionStatus.Unchanged, $"{subscriber.Email} is already unsubscribed; nothing changed.");
        if (!await subscribers.UnsubscribeAsync(subscriber.Id, $"unsubscribed by {by}", cancellationToken))
            return Gone(subscriber);
        return new(ReaderActionStatus.Done, $"Unsubscribed {subscriber.Email}: no more mail to it.");
    }

    /// <summary>Deletes the reader and their history (an erase request); the suppression list keeps a keyed hash of the address.</summary>
    public async Task<ReaderActionResult> RemoveAsync(EmailAddress address, CancellationToken cancellationToken) =>
        await subscribers.RemoveAsync(address, cancellationToken)
            ? new(ReaderActionStatus.Done, $"Removed {address.Address}; it stays on the suppression list (as a keyed hash, not the address) until 'subscribers add {address.Address} --force'")
            : new(ReaderActionStatus.Unknown, $"{address.Address} is not a subscriber.");

    /// <summary>
    /// A pending address gets the same double opt-in mail as one that subscribed on the web; without
    /// it, it would sit pending until it is purged. It gets it again no more often than
    /// <c>Subscriptions:ConfirmationResendInterval</c>, whoever asks, so that adding or importing an
    /// address twice, or pressing the console's button twice, mails nobody twice.
    /// </summary>
    /// <returns>Done when sent; Unchanged with the sentence of when it may go again; Refused when not pending; Failed (nothing sent, the interval not started) when sending failed.</returns>
    public async Task<ReaderActionResult> SendConfirmationAsync(EmailAddress email, Subscriber subscriber, CancellationToken cancellationToken)
    {
        if (subscriber.Status != SubscriberStatus.Pending)
            return new(ReaderActionStatus.Refused, $"{subscriber.Email} is {subscriber.Status}, not pending: there is nothing to confirm.");
        var interval = options.Value.ConfirmationResendInterval;
        var (id, send, suppressed) = await subscribers.RequestSubscriptionAsync(email, subscriber.Preferences, interval, cancellationToken);
        if (suppressed is not null)
            return new(ReaderActionStatus.Refused, $"{subscriber.Email} is on the suppression list ({suppressed.Describe()}): no confirmation mail is sent to it; 'subscribers add {subscriber.Email} --force' re-adds it.");
        if (!send)
            return new(ReaderActionStatus.Unchanged, await subscribers.ConfirmationSentAtAsync(id, cancellationToken) is { } sent
                ? $"confirmation mail already sent at {sent:yyyy-MM-dd HH:mm:ss} UTC; not sent again before {sent + interval:yyyy-MM-dd HH:mm:ss} UTC (Subscriptions:ConfirmationResendInterval)"
                : $"a confirmation mail was sent less than {interval} ago (Subscriptions:ConfirmationResendInterval)");
        try
        {
            await mailer.SendAsync(id, cancellationToken);
            return new(ReaderActionStatus.Done, $"confirmation mail sent to {subscriber.Email}");
        }
        catch (Exception exception) when (exception is DeliveryException or TemplateUnavailableException or Scriban.Syntax.ScriptRuntimeException or IOException)
        {
            // Nothing went out: asking again must send it, not wait out the interval.
            await subscribers.ForgetConfirmationSentAsync(id, CancellationToken.None);
            return new(ReaderActionStatus.Failed, exception.Message);
        }
    }

    /// <summary>
    /// Sends the reader's current digest to <paramref name="address"/>, outside the ledger. A reader who
    /// unsubscribed, bounced, has not confirmed or paused gets no mail from us, and a test is no
    /// exception (an operator who wants one sends it to an address of their own); neither is an
    /// empty "0 new papers" mail, which tests nothing and looks like a bug to whoever gets it.
    /// </summary>
    public async Task<ReaderActionResult> SendTestAsync(string? address, CancellationToken cancellationToken)
    {
        var recipient = await previews.RecipientAsync(address, cancellationToken);
        if (recipient is null)
            return new(ReaderActionStatus.Unknown, $"'{address}' is not a valid email address.");
        if (await NotAReaderNowAsync(recipient.Email, cancellationToken) is { } refused)
            return new(ReaderActionStatus.Refused, refused);
        try
        {
            var (issue, note) = await previews.IssueForAsync(address, null, cancellationToken);
            if (issue is not { PaperCount: > 0 })
                return new(ReaderActionStatus.Refused, $"Nothing sent: {note ?? "there is no paper to send yet (collect first)."}");
            var destination = await previews.SendAsync(issue, recipient, cancellationToken);
            return new(ReaderActionStatus.Done, $"Sent issue {issue.Date:yyyy-MM-dd} ({Papers(issue)}) to {recipient.Email} through {destination}");
        }
        catch (Exception exception) when (exception is DeliveryException or TemplateUnavailableException or Scriban.Syntax.ScriptRuntimeException)
        {
            return new(ReaderActionStatus.Failed, $"Test send failed: {exception.Message}");
        }
    }

    /// <summary>"3 entries", or "12 entries: 10 in full, 2 under More papers".</summary>
    public static string Papers(Issue issue) =>
        $"{issue.PaperCount} {(issue.PaperCount == 1 ? "entry" : "entries")}" + (issue.More.Count > 0 ? $": {issue.Entries.Count} in full, {issue.More.Count} under More papers" : "");

    /// <summary>Why a test mail to this address is refused; null for an active reader or an address we do not know.</summary>
    private async Task<string?> NotAReaderNowAsync(string address, CancellationToken cancellationToken)
    {
        if (!EmailAddress.TryParse(address, out var email, out _) || await subscribers.FindAsync(email!, cancellationToken) is not { } reader)
            return null;
        var why = reader.StatusReason is { } reason ? $" ({reason})" : "";
        return reader.Status switch
        {
            SubscriberStatus.Unsubscribed => $"Nothing sent: {reader.Email} is unsubscribed{why} and gets no mail from us; send the test to another address ('subscribers add {reader.Email} --confirmed' if they asked to come back).",
            SubscriberStatus.Bounced => $"Nothing sent: {reader.Email} is bounced{why}: its server refused our mail; send the test to another address ('subscribers add {reader.Email} --confirmed --force' once the address works again).",
            SubscriberStatus.Pending => $"Nothing sent: {reader.Email} is pending: it has not confirmed its subscription, and only the confirmation mail goes to it; send the test to another address.",
            _ when reader.IsPaused => $"Nothing sent: {reader.Email} is paused; 'subscribers resume {reader.Email}' first, or send the test to another address.",
            _ => null,
        };
    }

    private static ReaderActionResult Gone(Subscriber subscriber) => new(ReaderActionStatus.Unknown, $"{subscriber.Email} is not a subscriber.");
}
