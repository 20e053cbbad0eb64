using System.Collections.Concurrent;
using System.Data.Common;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Newsletter.Issues;
using Newsletter.Rendering;

namespace Newsletter.Delivery;

public sealed record DispatchSummary(int Sent, int Deferred, int Bounced, int Expired, int Skipped, string? RunFailure)
{
    public int Total => Sent + Deferred + Bounced + Expired + Skipped;

    public override string ToString() =>
        $"sent {Sent}, deferred {Deferred}, bounced {Bounced}, expired {Expired}, skipped {Skipped}"
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
    ILogger<Dispatcher> logger)
{
    // The subscriber status the ledger join reports for a reader who still wants mail.
    private const string ActiveSubscriber = "active";

    // One dispatch at a time per process; claims already make concurrent processes safe.
    private readonly SemaphoreSlim _running = new(1, 1);

    public async Task<DispatchSummary> DispatchAsync(Action<DispatchSummary>? progress, CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken);
        try
        {
            return await RunAsync(progress, cancellationToken);
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task<DispatchSummary> RunAsync(Action<DispatchSummary>? progress, CancellationToken cancellationToken)
    {
        var options = deliveryOptions.Value;
        var transport = transports.Create();
        var run = new Run();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var rateLimiter = CreateRateLimiter(smtpOptions.Value.MessagesPerSecond, transports.Mode);
        var batchSize = options.BatchSize;
        var queue = Channel.CreateBounded<ClaimedDelivery>(new BoundedChannelOptions(batchSize) { SingleWriter = true });
        var results = Channel.CreateUnbounded<Outcome>(new UnboundedChannelOptions { SingleReader = true });
        var issueCache = new ConcurrentDictionary<long, Lazy<Task<Issue>>>();

        void Fail(string reason)
        {
            if (Interlocked.CompareExchange(ref run.Failure, reason, null) is null)
                logger.LogError("Delivery run stopped: {Reason}", reason);
            stop.Cancel();
        }

        async Task ClaimAsync()
        {
            try
            {
                run.Expired += await deliveries.ExpireStaleAsync(options.MaxAge, stop.Token);
                var after = 0L;
                while (!stop.IsCancellationRequested)
                {
                    var batch = await deliveries.ClaimAsync(after, batchSize, options.LeaseDuration, stop.Token);
                    if (batch.Count == 0)
                        break;
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

        // Claimed deliveries still queued or in flight keep their lease: only a dead process loses it.
        async Task RenewLeasesAsync()
        {
            using var timer = new PeriodicTimer(options.LeaseDuration / 3, time);
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    try
                    {
                        await deliveries.RenewLeasesAsync(run.Unfinished.Keys.ToArray(), options.LeaseDuration, stop.Token);
                    }
                    catch (Exception exception) when (exception is DbException)
                    {
                        // One failed renewal must not end them all: leases that run out are
                        // taken by other instances while this one still sends them.
                        logger.LogWarning("Renewing delivery leases failed (trying again): {Reason}", exception.Message);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        }

        async Task WorkAsync()
        {
            IMailSender? sender = null;
            try
            {
                await foreach (var delivery in queue.Reader.ReadAllAsync(stop.Token))
                {
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
                        try
                        {
                            await sender.SendAsync(message, stop.Token);
                            result = Result(delivery, DeliveryStatus.Sent, null);
                        }
                        catch (DeliveryException failure) when (failure.Kind != FailureKind.RunLevel)
                        {
                            result = failure.Kind == FailureKind.Permanent
                                ? Result(delivery, DeliveryStatus.Bounced, failure.Message)
                                : Retry(delivery, failure.Message, options);
                            logger.LogWarning("Delivery to {Email} {Outcome}: {Reason}", delivery.Email,
                                result.Status == DeliveryStatus.Pending ? "deferred" : result.Status, failure.Message);
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
        var renewer = RenewLeasesAsync();
        var claimer = ClaimAsync();
        var workers = Enumerable.Range(0, transport.MaxSenders).Select(_ => Task.Run(WorkAsync, CancellationToken.None)).ToArray();
        try
        {
            await Task.WhenAll(workers);
            await claimer;
        }
        finally
        {
            results.Writer.TryComplete();
            await recorder;
            stop.Cancel();
            await renewer;
            // Claimed but never attempted (the run stopped early): back to the queue at once.
            try
            {
                await deliveries.ReleaseAsync(run.Unfinished.Keys.ToArray(), CancellationToken.None);
            }
            catch (Exception exception) when (exception is DbException)
            {
                logger.LogWarning("Releasing unsent deliveries failed; they are retried when their lease expires: {Reason}", exception.Message);
            }
        }

        var summary = run.Summary();
        logger.LogInformation("Delivery run finished: {Summary}", summary);
        return summary;
    }

    /// <summary>One attempt's result on its way to the ledger; the worker waits for <see cref="Persisted"/>.</summary>
    private sealed record Outcome(ClaimedDelivery Delivery, DeliveryResult Result)
    {
        public TaskCompletionSource Persisted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private async Task<MimeKit.MimeMessage> BuildAsync(ClaimedDelivery delivery, ConcurrentDictionary<long, Lazy<Task<Issue>>> issueCache, CancellationToken cancellationToken)
    {
        var issue = await issueCache.GetOrAdd(delivery.IssueId,
            id => new Lazy<Task<Issue>>(() => issues.GetAsync(id, CancellationToken.None))).Value.WaitAsync(cancellationToken);
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

    /// <summary>Counters and bookkeeping of one run.</summary>
    private sealed class Run
    {
        public readonly ConcurrentDictionary<long, byte> Unfinished = new();
        public string? Failure;
        public int Expired;
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

        public DispatchSummary Summary() => new(_sent, _deferred, _bounced, _expired + Expired, _skipped, Failure);
    }
}
