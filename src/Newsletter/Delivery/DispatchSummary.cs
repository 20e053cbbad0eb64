namespace Newsletter.Delivery;

/// <summary>What one delivery run did, and why it stopped when it stopped early.</summary>
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
