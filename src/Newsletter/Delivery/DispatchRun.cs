using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Newsletter.Delivery;

/// <summary>One attempt's result on its way to the ledger; the worker waits for <see cref="Persisted"/>.</summary>
internal sealed record Outcome(ClaimedDelivery Delivery, DeliveryResult Result)
{
    public TaskCompletionSource Persisted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// What the parts of one delivery run share: the queue from the claimer to the workers, the
/// outcomes on their way to the recorder, the claims not yet finished, how it stops, and its counts.
/// </summary>
internal sealed class DispatchRun(ShutdownRule shutdown, int queueSize, ILogger logger)
{
    /// <summary>Claimed deliveries waiting for a worker; bounded, so the claimer stays a batch ahead.</summary>
    public Channel<ClaimedDelivery> Queue { get; } = Channel.CreateBounded<ClaimedDelivery>(new BoundedChannelOptions(queueSize) { SingleWriter = true });

    public Channel<Outcome> Outcomes { get; } = Channel.CreateUnbounded<Outcome>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Claimed by this run and not yet recorded (queued or in flight): their leases are renewed, and released if the run stops.</summary>
    public ConcurrentDictionary<long, byte> Unfinished { get; } = new();

    /// <summary>On the wire now: cut off at the shutdown deadline, they may arrive twice.</summary>
    public ConcurrentDictionary<long, byte> InFlight { get; } = new();

    public CancellationToken Stopping => shutdown.Stop.Token;

    public CancellationToken Aborting => shutdown.Abort.Token;

    public string? Failure => _failure;

    public bool Interrupted { get; set; }

    public int Released { get; set; }

    public int CutOff { get; set; }

    /// <summary>Expired before they were claimed (older than <c>Delivery:MaxAge</c>).</summary>
    public int Expired { get; set; }

    private string? _failure;
    private int _sent, _deferred, _bounced, _expired, _skipped;

    /// <summary>A run-level failure: the first reason is logged and kept; no new work starts.</summary>
    public void Fail(string reason)
    {
        if (Interlocked.CompareExchange(ref _failure, reason, null) is null)
            logger.LogError("Delivery run stopped: {Reason}", reason);
        shutdown.Stop.Cancel();
    }

    /// <summary>Counts an outcome once it is in the ledger (the recorder is the only caller).</summary>
    public void Count(string status)
    {
        Telemetry.NewsletterTelemetry.RecordDelivery(status);
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
