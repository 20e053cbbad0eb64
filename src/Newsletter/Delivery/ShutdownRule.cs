namespace Newsletter.Delivery;

/// <summary>
/// How a run stops. <see cref="Stop"/>: no new claims or sends (a run-level failure, or the host
/// stopping). <see cref="Abort"/>: the messages in flight too, once <c>Delivery:ShutdownTimeout</c>
/// has passed since the host began to stop, less a moment kept back to record and release them.
/// </summary>
internal sealed class ShutdownRule : IDisposable
{
    private readonly TimeSpan _shutdownTimeout;
    private CancellationTokenRegistration _onShutdown;

    public ShutdownRule(TimeSpan shutdownTimeout, TimeProvider time)
    {
        _shutdownTimeout = shutdownTimeout;
        Abort = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
    }

    /// <summary>Arms the rule: when <paramref name="shutdown"/> fires (at once if it has), <paramref name="stopping"/> runs first.</summary>
    /// <param name="shutdown">Cancelled when the host stops (SIGTERM/SIGINT) or the caller gives up.</param>
    public void StopOn(CancellationToken shutdown, Action stopping)
    {
        var deadlineMargin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, _shutdownTimeout.Ticks / 4));
        _onShutdown = shutdown.Register(() =>
        {
            stopping();
            Abort.CancelAfter(_shutdownTimeout - deadlineMargin);
            Stop.Cancel();
        });
    }

    public CancellationTokenSource Stop { get; } = new();

    public CancellationTokenSource Abort { get; }

    public void Dispose()
    {
        _onShutdown.Dispose();
        Abort.Dispose();
        Stop.Dispose();
    }
}
