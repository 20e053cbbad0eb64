using System.Collections.Concurrent;
using System.Data.Common;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Newsletter.Issues;
using Newsletter.Rendering;
using Newsletter.Storage;
using Newsletter.Subscriptions;

namespace Newsletter.Delivery;

public sealed record DispatchSummary(int Sent, int Deferred, int Bounced, int Expired, int Skipped, string? RunFailure)
{
    public int Total => Sent + Deferred + Bounced + Expired + Skipped;

    /// <summary>Stopped by SIGTERM/SIGINT (the host stopping) before the queue was empty.</summary>
    public bool Interrupted { get; init; }

    /// <summary>Claimed but not sent when the run stopped: returned to the queue for the next run.</summary>
    public int Released { get; init; }

    /// <summary>Of <see cref="Released"/>, cut off mid-send at the shutdown deadline: the relay may have them, so they may arrive twice.</summary>
    public int CutOff { get; init; }

    public override string ToString() =>
        $"sent {Sent}, deferred {Deferred}, bounced {Bounced}, expired {Expired}, skipped {Skipped}"
        + (Interrupted ? $"; interrupted, {Released} returned to the queue{(CutOff > 0 ? $" ({CutOff} cut off mid-send)" : "")}" : "")
        + (RunFailure is null ? "" : $"; stopped: {RunFailure}");
}

/// <summary>
/// Sends every due delivery: a claimer feeds a bounded queue, one worker per connection renders
/// and sends, and a single writer records each outcome as soon as the server has answered. A
/// delivery is only ever marked sent after its 250; anything claimed but not attempted when a run
/// stops is released, and anything in flight during a crash is resent after its lease expires.
/// </summary>
public sealed class Dispatcher(
    DeliveryStore deliveries,
    IssueStore issues,
    DigestRenderer renderer,
    DigestMessageBuilder messages,
    IRecipientLinks links,
    TransportFactory transports,
    IOptions<DeliveryOptions> deliveryOptions,
    IOptions<SmtpOptions> smtpOptions,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<Dispatcher> logger)
{
    // The subscriber status the ledger join reports for a reader who still wants mail.
    private const string ActiveSubscriber = "active";

    /// <summary>Marks a message-level refusal in the ledger's last_error (and tells it apart from a transient failure).</summary>
    public const string MessageRefusedPrefix = "message refused: ";

    // One dispatch at a time per process; claims already make concurrent processes safe.
    private readonly SemaphoreSlim _running = new(1, 1);

    public async Task<DispatchSummary> DispatchAsync(Action<DispatchSummary>? progress, CancellationToken cancellationToken)
    {
        // Stopping the host (SIGTERM/SIGINT) stops a run gracefully, whoever started it.
        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            await _running.WaitAsync(shutdown.Token);
        }
        catch (OperationCanceledException)
        {
            return new DispatchSummary(0, 0, 0, 0, 0, null) { Interrupted = true };
        }
        try
        {
            return await RunAsync(progress, shutdown.Token);
        }
        finally
        {
            _running.Release();
        }
    }

    /// <param name="shutdown">Cancelled to stop: no new claims or sends; in-flight messages finish within <c>Delivery:ShutdownTimeout</c>.</param>
    private async Task<DispatchSummary> RunAsync(Action<DispatchSummary>? progress, CancellationToken shutdown)
    {
        var options = deliveryOptions.Value;
        var transport = transports.Create();
        var run = new Run();
        var owner = RunOwner.ForThisRun();
        // stop: no new work (a run-level failure or shutdown). abort: the messages in flight too,
        // at the shutdown deadline, keeping back a moment to record and release.
        using var stop = new CancellationTokenSource();
        using var abort = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        using var beatStop = new CancellationTokenSource();
        var deadlineMargin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, options.ShutdownTimeout.Ticks / 4));
        using var onShutdown = shutdown.Register(() =>
        {
            run.Interrupted = true;
            abort.CancelAfter(options.ShutdownTimeout - deadlineMargin);
            stop.Cancel();
        });
        using var rateLimiter = CreateRateLimiter(smtpOptions.Value.MessagesPerSecond, transports.Mode);
        var batchSize = options.BatchSize;
        var queue = Channel.CreateBounded<ClaimedDelivery>(new BoundedChannelOptions(batchSize) { SingleWriter = true });
        var results = Channel.CreateUnbounded<Outcome>(new UnboundedChannelOptions { SingleReader = true });
        var issueCache = new DigestCache(issues);

        void Fail(string reason)
        {
            if (Interlocked.CompareExchange(ref run.Failure, reason, null) is null)
                logger.LogError("Delivery run stopped: {Reason}", reason);
            stop.Cancel();
        }

        // A run that died (kill -9, power cut) left its claims under its name: take them now
        // rather than after Delivery:LeaseDuration. Returns how many claims came back.
        async Task<int> TakeOverDeadOwnersAsync()
        {
            var taken = 0;
            var staleBefore = DbTime.ToDb(time.GetUtcNow() - HeartbeatTick(options) * 3);
            foreach (var other in await deliveries.OwnersAsync(stop.Token))
            {
                if (other.Id == owner.Id)
                    continue;
                var gone = RunOwner.IsGoneFromThisHost(other.Host, other.Pid, other.StartedAt);
                if (!gone && other.HeartbeatAt >= staleBefore)
                    continue;
                var count = await deliveries.TakeOverAsync(other.Id, stop.Token);
                taken += count;
                logger.LogWarning("Took over {Count} deliveries claimed by a run that is gone ({Owner}, {Why})", count, other.Id,
                    gone ? "its process has exited" : $"no heartbeat since {DbTime.FromDb(other.HeartbeatAt):u}");
            }
            return taken;
        }

        // Permanent RCPT refusals are held, not recorded, until the run shows they are about the
        // readers: a relay refusing every recipient for a reason of its own (our sender's domain,
        // a policy, a missing relay permission, often without an enhanced code) must not suspend
        // the list. Held refusals are recorded as bounces once the relay accepts a recipient after
        // them, or at the end of a run the breaker did not stop; the breaker stops the run, leaving
        // them pending, at MaxConsecutiveRefusals held in a row when the relay has accepted nobody
        // yet in this run or they all carry the same reply (addresses removed).
        void FlushHeld()
        {
            foreach (var held in run.TakeHeld())
                results.Writer.TryWrite(new Outcome(held.Delivery, held.Result));
        }

        // True when the refusal is held (the worker moves on without waiting for the ledger).
        bool HoldBounce(ClaimedDelivery delivery, DeliveryResult result)
        {
            string? trip = null;
            lock (run.Held)
            {
                run.Held.Add(new Outcome(delivery, result));
                if (run.Held.Count >= options.MaxConsecutiveRefusals)
                {
                    var reply = SmtpRefusal.WithoutAddresses(result.Error ?? "");
                    var same = run.Held.All(h => SmtpRefusal.WithoutAddresses(h.Result.Error ?? "") == reply);
                    if (!run.AcceptedAny || same)
                        run.Tripped = true;
                    if (run.Tripped)
                        trip = $"the relay refused {run.Held.Count} recipients in a row "
                            + (run.AcceptedAny ? "with the same reply" : "before accepting any")
                            + $" ({result.Error}); that points at our sender, the relay's policy or its configuration, not the readers: "
                            + "nobody was suspended, the rest stay queued. Check the relay's log and Smtp:From, then run send-now again";
                }
            }
            if (trip is not null)
                Fail(trip);
            return true;
        }

        async Task ClaimAsync()
        {
            try
            {
                await deliveries.RegisterOwnerAsync(owner, stop.Token);
                run.Expired += await deliveries.ExpireStaleAsync(options.MaxAge, stop.Token);
                await TakeOverDeadOwnersAsync();
                var after = 0L;
                while (!stop.IsCancellationRequested)
                {
                    var batch = await deliveries.ClaimAsync(after, batchSize, options.LeaseDuration, owner.Id, stop.Token);
                    if (batch.Count == 0)
                    {
                        // Claims taken over from a run that died meanwhile may lie behind us: one more pass.
                        if (await TakeOverDeadOwnersAsync() > 0)
                        {
                            after = 0;
                            continue;
                        }
                        break;
                    }
                    after = batch[^1].Id;
                    // The whole batch is ours from now on (its leases are renewed), even the part
                    // still waiting for room in the queue.
                    foreach (var delivery in batch)
                        run.Unfinished[delivery.Id] = 0;
                    foreach (var delivery in batch)
                        await queue.Writer.WriteAsync(delivery, stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
            catch (Exception exception) when (exception is DbException)
            {
                Fail($"the delivery ledger cannot be read: {exception.Message}");
            }
            finally
            {
                queue.Writer.TryComplete();
            }
        }

        // The owner's heartbeat, and the leases of claims still queued or in flight: only a dead
        // process loses them. Runs until everything is recorded, shutdown included.
        async Task BeatAsync()
        {
            var tick = HeartbeatTick(options);
            using var timer = new PeriodicTimer(tick, time);
            var lastRenewal = time.GetTimestamp();
            try
            {
                while (await timer.WaitForNextTickAsync(beatStop.Token))
                {
                    try
                    {
                        await deliveries.HeartbeatAsync(owner.Id, beatStop.Token);
                        if (time.GetElapsedTime(lastRenewal) >= options.LeaseDuration / 3 - tick / 2)
                        {
                            await deliveries.RenewLeasesAsync(run.Unfinished.Keys.ToArray(), options.LeaseDuration, beatStop.Token);
                            lastRenewal = time.GetTimestamp();
                        }
                    }
                    catch (Exception exception) when (exception is DbException)
                    {
                        logger.LogWarning("Renewing delivery leases failed: {Reason}", exception.Message);
                    }
                }
            }
            catch (OperationCanceledException) when (beatStop.IsCancellationRequested) { }
        }

        async Task WorkAsync()
        {
            IMailSender? sender = null;
            try
            {
                await foreach (var delivery in queue.Reader.ReadAllAsync(stop.Token))
                {
                    if (stop.IsCancellationRequested)
                        break;
                    DeliveryResult result;
                    if (delivery.SubscriberStatus != ActiveSubscriber)
                    {
                        result = Result(delivery, DeliveryStatus.Skipped, $"subscriber is {delivery.SubscriberStatus}");
                    }
                    else
                    {
                        var message = await BuildAsync(delivery, issueCache, stop.Token);
                        if (rateLimiter is not null)
                            using (await rateLimiter.AcquireAsync(1, stop.Token)) { }
                        sender ??= await transport.ConnectAsync(stop.Token);
                        stop.Token.ThrowIfCancellationRequested();
                        try
                        {
                            // Once begun, a send finishes (and is recorded) even when the run is
                            // stopping: only the shutdown deadline cuts it off.
                            run.InFlight.TryAdd(delivery.Id, 0);
                            await sender.SendAsync(message, abort.Token);
                            result = Result(delivery, DeliveryStatus.Sent, null);
                        }
                        catch (DeliveryException failure) when (failure.Kind != FailureKind.RunLevel)
                        {
                            result = failure.Kind switch
                            {
                                FailureKind.Permanent => Result(delivery, DeliveryStatus.Bounced, failure.Message),
                                FailureKind.MessageRefused => Retry(delivery, MessageRefusedPrefix + failure.Message, options),
                                _ => Retry(delivery, failure.Message, options),
                            };
                            logger.LogWarning("Delivery to {Email} {Outcome}: {Reason}", delivery.Email,
                                failure.Kind == FailureKind.MessageRefused ? "refused (message, not reader)"
                                : result.Status == DeliveryStatus.Pending ? "deferred" : result.Status, failure.Message);
                        }
                        if (result.Status == DeliveryStatus.Bounced && HoldBounce(delivery, result))
                        {
                            run.InFlight.TryRemove(delivery.Id, out _);
                            if (!sender.IsUsable)
                            {
                                await sender.DisposeAsync();
                                sender = null;
                            }
                            continue;
                        }
                        if (result.Status == DeliveryStatus.Sent)
                        {
                            lock (run.Held)
                                run.AcceptedAny = true;
                            FlushHeld();
                        }
                        // A relay that refuses message after message (content, reputation, policy)
                        // would refuse the rest too: stop and tell the operator rather than march on.
                        if (result.Error?.StartsWith(MessageRefusedPrefix, StringComparison.Ordinal) == true)
                        {
                            if (Interlocked.Increment(ref run.ConsecutiveRefusals) is var refusals && refusals >= options.MaxConsecutiveRefusals)
                                Fail($"the relay refused {refusals} messages in a row ({result.Error[MessageRefusedPrefix.Length..]}); "
                                    + "the message or the sender is refused, not the readers: nobody was suspended, the rest stay queued. Check the relay's log and the digest's content, then run send-now again");
                        }
                        else if (result.Status == DeliveryStatus.Sent)
                        {
                            Interlocked.Exchange(ref run.ConsecutiveRefusals, 0);
                        }
                        if (!sender.IsUsable)
                        {
                            await sender.DisposeAsync();
                            sender = null;
                        }
                    }
                    // Wait until the outcome is in the ledger before the next send: a crash then
                    // resends at most the one message each connection had in flight.
                    var outcome = new Outcome(delivery, result);
                    results.Writer.TryWrite(outcome);
                    await outcome.Persisted.Task;
                    run.InFlight.TryRemove(delivery.Id, out _);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
            catch (DeliveryException failure)
            {
                Fail(failure.Message);
            }
            catch (Exception exception) when (exception is TemplateUnavailableException or Scriban.Syntax.ScriptRuntimeException)
            {
                Fail($"the digest cannot be rendered: {exception.Message}");
            }
            catch (Exception exception) when (exception is DbException)
            {
                Fail($"the delivery ledger cannot be written: {exception.Message}");
            }
            catch (Exception exception)
            {
                // A bug must not leave the other workers sending blind: stop the run, release what is claimed.
                logger.LogError(exception, "Delivery worker failed");
                Fail($"unexpected {exception.GetType().Name}: {exception.Message}");
            }
            finally
            {
                if (sender is not null)
                    await sender.DisposeAsync();
            }
        }

        async Task RecordAsync()
        {
            var batch = new List<Outcome>();
            var lastProgress = time.GetTimestamp();
            while (await results.Reader.WaitToReadAsync(CancellationToken.None))
            {
                // Whatever piled up while the last batch was written goes in one transaction.
                while (batch.Count < 500 && results.Reader.TryRead(out var item))
                    batch.Add(item);
                // Attempted either way: never released for an immediate resend. If the write
                // fails, their leases run out and they are resent later with the same Message-ID.
                foreach (var outcome in batch)
                    run.Unfinished.TryRemove(outcome.Delivery.Id, out _);
                try
                {
                    await deliveries.RecordAsync(batch.Select(b => b.Result).ToList(), options.MaxHardBounces, CancellationToken.None);
                    foreach (var outcome in batch)
                    {
                        run.Count(outcome.Result.Status);
                        outcome.Persisted.TrySetResult();
                    }
                }
                catch (Exception exception) when (exception is DbException)
                {
                    foreach (var outcome in batch)
                        outcome.Persisted.TrySetException(exception);
                }
                batch.Clear();
                if (progress is not null && time.GetElapsedTime(lastProgress) >= TimeSpan.FromSeconds(1))
                {
                    progress(run.Summary());
                    lastProgress = time.GetTimestamp();
                }
            }
        }

        logger.LogInformation("Delivering due digests through {Transport}", transport.Describe());
        var recorder = RecordAsync();
        var beat = BeatAsync();
        var claimer = ClaimAsync();
        var workers = Enumerable.Range(0, transport.MaxSenders).Select(_ => Task.Run(WorkAsync, CancellationToken.None)).ToArray();
        try
        {
            await Task.WhenAll(workers);
            await claimer;
        }
        finally
        {
            // Refusals still held: the breaker did not trip, so they are the readers' own. A run
            // stopped for another reason, or by shutdown before anyone was accepted, leaves them pending.
            if (run.Failure is null && (run.AcceptedAny || !run.Interrupted))
                FlushHeld();
            results.Writer.TryComplete();
            await recorder;
            stop.Cancel();
            // Claimed but never attempted (the run stopped early), or cut off at the shutdown
            // deadline: back to the queue at once.
            run.Released = run.Unfinished.Count;
            run.CutOff = run.InFlight.Count;
            try
            {
                await deliveries.ReleaseAsync(run.Unfinished.Keys.ToArray(), CancellationToken.None);
                await deliveries.RemoveOwnerAsync(owner.Id, CancellationToken.None);
            }
            catch (Exception exception) when (exception is DbException)
            {
                logger.LogWarning("Releasing unsent deliveries failed; the next run takes them over: {Reason}", exception.Message);
            }
            beatStop.Cancel();
            await beat;
        }

        var summary = run.Summary();
        if (run.Interrupted)
            logger.LogWarning("Delivery run stopped for shutdown: {Summary}", summary);
        else
            logger.LogInformation("Delivery run finished: {Summary}", summary);
        return summary;
    }

    /// <summary>
    /// Deliveries claimed by other runs right now: by a live one (its heartbeat fresh and, on this
    /// host, its process there), which records them itself, or by one that is gone, whose claims
    /// the next run takes over (or, when the ledger names no owner, wait for their lease).
    /// </summary>
    public async Task<(long Live, long Dead)> HeldElsewhereAsync(CancellationToken cancellationToken)
    {
        var options = deliveryOptions.Value;
        var staleBefore = DbTime.ToDb(time.GetUtcNow() - HeartbeatTick(options) * 3);
        var owners = (await deliveries.OwnersAsync(cancellationToken)).ToDictionary(o => o.Id);
        long live = 0, dead = 0;
        foreach (var (owner, count) in await deliveries.HeldByOwnerAsync(cancellationToken))
        {
            var alive = owner is not null && owners.TryGetValue(owner, out var o)
                && o.HeartbeatAt >= staleBefore && !RunOwner.IsGoneFromThisHost(o.Host, o.Pid, o.StartedAt);
            if (alive) live += count; else dead += count;
        }
        return (live, dead);
    }

    /// <summary>How often the owner beats: <c>Delivery:HeartbeatInterval</c>, but often enough to renew leases in time.</summary>
    private static TimeSpan HeartbeatTick(DeliveryOptions options) =>
        TimeSpan.FromTicks(Math.Min(options.HeartbeatInterval.Ticks, options.LeaseDuration.Ticks / 3));

    /// <summary>One attempt's result on its way to the ledger; the worker waits for <see cref="Persisted"/>.</summary>
    private sealed record Outcome(ClaimedDelivery Delivery, DeliveryResult Result)
    {
        public TaskCompletionSource Persisted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private async Task<MimeKit.MimeMessage> BuildAsync(ClaimedDelivery delivery, DigestCache issueCache, CancellationToken cancellationToken)
    {
        var issue = await issueCache.GetAsync(delivery, cancellationToken);
        var unsubscribe = links.Unsubscribe(delivery.SubscriberId);
        var digest = renderer.RenderEncoded(issue, new DigestRecipient(delivery.Email, unsubscribe, links.Preferences(delivery.SubscriberId)));
        return messages.Build(digest, delivery.Email, delivery.MessageId, unsubscribe, time.GetUtcNow());
    }

    private static DeliveryResult Result(ClaimedDelivery delivery, string status, string? error) =>
        new(delivery.Id, delivery.SubscriberId, status, error, null);

    /// <summary>Exponential backoff with jitter; past the retry window the delivery expires instead.</summary>
    private DeliveryResult Retry(ClaimedDelivery delivery, string error, DeliveryOptions options)
    {
        var now = time.GetUtcNow();
        if (now - Storage.DbTime.FromDb(delivery.CreatedAt) >= options.RetryWindow)
            return Result(delivery, DeliveryStatus.Expired, error);
        var exponent = Math.Min(delivery.Attempts - 1, 20);
        var delay = TimeSpan.FromTicks(Math.Min(options.RetryInitialDelay.Ticks * (1L << (int)exponent), options.RetryMaxDelay.Ticks));
        delay *= 0.8 + Random.Shared.NextDouble() * 0.4;
        return new DeliveryResult(delivery.Id, delivery.SubscriberId, DeliveryStatus.Pending, error, now + delay);
    }

    private static TokenBucketRateLimiter? CreateRateLimiter(double? perSecond, DeliveryMode mode)
    {
        if (mode != DeliveryMode.Smtp || perSecond is not > 0)
            return null;
        // Refill in small steps so the rate is smooth rather than one burst per second.
        var (tokens, period) = perSecond >= 10
            ? ((int)Math.Round(perSecond.Value / 10), TimeSpan.FromMilliseconds(100))
            : (1, TimeSpan.FromSeconds(1 / perSecond.Value));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokens,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
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
                        ? issues.GetDigestAsync(digestId, CancellationToken.None)
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

    /// <summary>Counters and bookkeeping of one run.</summary>
    private sealed class Run
    {
        public readonly ConcurrentDictionary<long, byte> Unfinished = new();
        public readonly ConcurrentDictionary<long, byte> InFlight = new();
        public string? Failure;
        public bool Interrupted;
        public int Released, CutOff;
        public int Expired;
        public int ConsecutiveRefusals;

        /// <summary>Permanent RCPT refusals not yet recorded (see HoldBounce); lock it to touch it or <see cref="AcceptedAny"/>.</summary>
        public readonly List<Outcome> Held = [];

        /// <summary>The relay accepted a message in this run.</summary>
        public bool AcceptedAny;

        /// <summary>The refusal breaker stopped the run: what is held stays pending.</summary>
        public bool Tripped;

        public List<Outcome> TakeHeld()
        {
            lock (Held)
            {
                if (Tripped)
                    return [];
                var taken = Held.ToList();
                Held.Clear();
                return taken;
            }
        }
        private int _sent, _deferred, _bounced, _expired, _skipped;

        public void Count(string status)
        {
            switch (status)
            {
                case DeliveryStatus.Sent: _sent++; break;
                case DeliveryStatus.Pending: _deferred++; break;
                case DeliveryStatus.Bounced: _bounced++; break;
                case DeliveryStatus.Expired: _expired++; break;
                default: _skipped++; break;
            }
        }

        public DispatchSummary Summary() => new(_sent, _deferred, _bounced, _expired + Expired, _skipped, Failure)
        {
            Interrupted = Interrupted,
            Released = Released,
            CutOff = CutOff,
        };
    }
}
