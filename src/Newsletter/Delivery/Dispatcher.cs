using System.Data.Common;
using Microsoft.Extensions.Options;

namespace Newsletter.Delivery;

/// <summary>
/// Sends every due delivery: a claimer feeds a bounded queue, one worker per connection builds and
/// sends, and a single recorder writes each outcome as soon as the server has answered. A delivery
/// is only ever marked sent after its 250; anything claimed but not attempted when a run stops is
/// released, and anything in flight during a crash is resent after its lease expires. The parts
/// have a file each: <see cref="DeliveryClaimer"/>, <see cref="SendWorker"/>, <see cref="OutcomeRecorder"/>,
/// <see cref="RefusalBreaker"/>, <see cref="RetryPolicy"/>, <see cref="LeaseHeartbeat"/>, <see cref="ShutdownRule"/>.
/// </summary>
public sealed class Dispatcher(
    DeliveryStore deliveries,
    IDigestMessages messages,
    TransportFactory transports,
    SendHold hold,
    RelayOutages relayOutages,
    IOptions<DeliveryOptions> deliveryOptions,
    IOptions<SmtpOptions> smtpOptions,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    Storage.StorageOutage outage,
    ILogger<Dispatcher> logger)
{
    // One dispatch at a time per process; claims already make concurrent processes safe.
    private readonly SemaphoreSlim _running = new(1, 1);

    // The hold last logged: a hold is said once, not at every poll that finds it.
    private string? _heldLogged;

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
            // Held for every instance (complaints over the limit, or no relay accepts the content): nothing
            // is claimed, nothing sent; except, once a relay's cool-down is over, its one probe message.
            if (await hold.StateAsync(shutdown.Token) is { ProbeDue: false } held)
            {
                if (held.Reason != _heldLogged)
                    logger.LogError("Sending is held: {Reason}; run send-now to lift the hold", held.Reason);
                _heldLogged = held.Reason;
                return new DispatchSummary(0, 0, 0, 0, 0, $"sending is held: {held.Reason}; run send-now to lift the hold once the cause is dealt with");
            }
            _heldLogged = null;
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
        using var activity = Telemetry.NewsletterTelemetry.Activities.StartActivity("dispatch");
        var options = deliveryOptions.Value;
        var owner = RunOwner.ForThisRun();
        var transport = transports.Create(new ContentRefusals(relayOutages, options.MaxConsecutiveRefusals, owner.Id, time, logger));
        using var stopping = new ShutdownRule(options.ShutdownTimeout, time);
        var run = new DispatchRun(stopping, options.BatchSize, logger);
        stopping.StopOn(shutdown, () => run.Interrupted = true);
        using var beatStop = new CancellationTokenSource();
        using var rateLimiter = SendRateLimiter.Create(smtpOptions.Value.MessagesPerSecond, transports.Mode);
        var breaker = new RefusalBreaker(options.MaxConsecutiveRefusals, run, run.Outcomes.Writer);
        var retries = new RetryPolicy(options, time);
        var runMessages = messages.ForRun();

        logger.LogInformation("Delivering due digests through {Transport}", transport.Describe());
        var recorder = new OutcomeRecorder(deliveries, options.MaxHardBounces, run, time, progress).RecordAsync();
        var beat = new LeaseHeartbeat(deliveries, options, owner.Id, run, time, outage, logger).BeatAsync(beatStop.Token);
        var claimer = new DeliveryClaimer(deliveries, options, owner, run, time, logger).ClaimAsync();
        var workers = Enumerable.Range(0, transport.MaxSenders)
            .Select(_ => Task.Run(new SendWorker(run, transport, runMessages, rateLimiter, breaker, retries, logger).WorkAsync, CancellationToken.None))
            .ToArray();
        try
        {
            await Task.WhenAll(workers);
            await claimer;
        }
        finally
        {
            breaker.Finish();
            run.Outcomes.Writer.TryComplete();
            await recorder;
            stopping.Stop.Cancel();
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
                if (!outage.Absorb(exception))
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
        var now = time.GetUtcNow();
        var owners = (await deliveries.OwnersAsync(cancellationToken)).ToDictionary(o => o.Id);
        long live = 0, dead = 0;
        foreach (var (owner, count) in await deliveries.HeldByOwnerAsync(cancellationToken))
        {
            var alive = owner is not null && owners.TryGetValue(owner, out var o) && LeaseHeartbeat.IsAlive(o, options, now);
            if (alive) live += count; else dead += count;
        }
        return (live, dead);
    }
}
