using Newsletter.Bounces;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Rendering;
using Newsletter.Telemetry;
using Newsletter.Subscriptions;

namespace Newsletter.Orchestration;

/// <summary>
/// What each delivery sends: the reader's frozen digest (loaded once per run), rendered for them
/// with their signed links, as a list message with the delivery's Message-ID. The dispatcher calls
/// it through <see cref="IDigestMessages"/>, so Delivery knows nothing of digests or templates.
/// </summary>
public sealed class DigestMessages(IssueStore issues, DigestRenderer renderer, DigestMessageBuilder messages, MailLinks links, ReturnPaths returnPaths, TimeProvider time)
    : IDigestMessages
{
    public IRunMessages ForRun() => new RunMessages(this, new DigestCache(issues));

    /// <summary>One reader's copy of a digest: rendered (spliced) with their links, as a list message.</summary>
    private MimeKit.MimeMessage Build(Issue issue, ClaimedDelivery delivery)
    {
        var unsubscribe = links.Unsubscribe(delivery.SubscriberId);
        WireDigest digest;
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            digest = renderer.RenderWire(issue, new DigestRecipient(delivery.Email, unsubscribe, links.Preferences(delivery.SubscriberId),
                (entryId, more) => links.Feedback(delivery.SubscriberId, entryId, more)));
            NewsletterTelemetry.RenderTime.Record(NewsletterTelemetry.Seconds(started));
        }
        catch (Exception exception) when (exception is TemplateUnavailableException or Scriban.Syntax.ScriptRuntimeException)
        {
            throw new MessageUnavailableException(exception.Message, exception);
        }
        var message = messages.Build(digest, delivery.Email, delivery.MessageId, unsubscribe, time.GetUtcNow());
        // Bounces that arrive later come back to an address naming this delivery (off without Bounces:ReturnPathDomain).
        returnPaths.Apply(message, delivery.Id, delivery.SubscriberId);
        return message;
    }

    private sealed class RunMessages(DigestMessages owner, DigestCache digests) : IRunMessages
    {
        public async Task<MimeKit.MimeMessage> BuildAsync(ClaimedDelivery delivery, CancellationToken cancellationToken) =>
            owner.Build(await digests.GetAsync(delivery, cancellationToken), delivery);
    }

    /// <summary>
    /// The digests of one run, loaded once each. Claims go in id order and a group's ledger rows
    /// are consecutive, so only the last few digests are needed at any time: keeping a handful
    /// (the renderer's prepared splice lives as long as its digest) keeps memory flat however many
    /// preference groups an issue has.
    /// </summary>
    private sealed class DigestCache(IssueStore issues)
    {
        private const int Capacity = 16;
        private readonly Dictionary<long, Task<Issue>> _loaded = [];
        private readonly Queue<long> _order = new();
        private readonly DigestPapers _papers = new();

        public Task<Issue> GetAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
        {
            // Digest ids are positive; a ledger row from before personal digests is keyed by its issue (negative).
            var key = delivery.DigestId ?? -delivery.IssueId;
            Task<Issue> load;
            lock (_loaded)
            {
                if (!_loaded.TryGetValue(key, out load!))
                {
                    load = delivery.DigestId is { } digestId
                        ? issues.GetDigestAsync(digestId, _papers, CancellationToken.None)
                        : issues.GetAsync(delivery.IssueId, CancellationToken.None);
                    _loaded[key] = load;
                    _order.Enqueue(key);
                    while (_order.Count > Capacity)
                        _loaded.Remove(_order.Dequeue());
                }
            }
            return load.WaitAsync(cancellationToken);
        }
    }
}
