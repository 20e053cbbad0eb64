namespace Newsletter.Delivery;

/// <summary>
/// One delivery run's view of the relays that refuse the content. It counts each relay's content
/// refusals in a row; at <c>Delivery:MaxConsecutiveRefusals</c> the relay is taken out for every
/// instance (<see cref="RelayOutages"/>), so neither this run, the next one 5 s later, nor another
/// instance offers it the list again. Once its cool-down is over, the next message through it is
/// the probe (one message; the others wait for its answer or go to another relay): accepted, the
/// relay is back; refused, it is out for longer. While every relay is out the send is held
/// (<see cref="SendHold"/>). The table is read again every few seconds, so a relay taken out or
/// brought back by another instance counts here too.
/// </summary>
internal sealed class ContentRefusals(RelayOutages outages, int maxConsecutiveRefusals, string owner, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan ReadEvery = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _reading = new(1, 1);
    private readonly Dictionary<string, int> _streaks = new(StringComparer.OrdinalIgnoreCase);
    // Under _gate: the table as last read (plus what this run wrote since), and this run's probes in flight.
    private Dictionary<string, RelayOutage> _out = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, TaskCompletionSource> _probes = new(StringComparer.OrdinalIgnoreCase);
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;

    /// <summary>A message's pass through a relay: <see cref="IsProbe"/> when it is the relay's probe.</summary>
    public sealed record Ticket(string Relay, bool IsProbe);

    /// <summary>Reads the table again when the last read is a few seconds old.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() - _readAt < ReadEvery)
            return;
        await _reading.WaitAsync(cancellationToken);
        try
        {
            if (time.GetUtcNow() - _readAt < ReadEvery)
                return;
            var read = (await outages.ListAsync(cancellationToken)).ToDictionary(o => o.Relay, StringComparer.OrdinalIgnoreCase);
            lock (_gate)
            {
                _out = read;
                _readAt = time.GetUtcNow();
            }
        }
        finally
        {
            _reading.Release();
        }
    }

    /// <summary>May a message go to this relay now: in rotation, or due for a probe nobody here is sending.</summary>
    public bool Usable(string relay, DateTimeOffset now)
    {
        lock (_gate)
            return !_out.TryGetValue(relay, out var outage) || (outage.ProbeDue(now) && !_probes.ContainsKey(relay));
    }

    /// <summary>Out for a content refusal now (not counting a probe due), with why; null when in rotation.</summary>
    public string? OutageOf(string relay, DateTimeOffset now)
    {
        lock (_gate)
            return _out.TryGetValue(relay, out var outage) ? outage.Describe(now) : null;
    }

    /// <summary>
    /// Lets a message through the relay: a ticket, or null when the relay is out for it (cooling down,
    /// or another instance is probing). When this run's probe of the relay is on its way, waits for its answer.
    /// </summary>
    public async Task<Ticket?> AdmitAsync(string relay, CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken);
        while (true)
        {
            Task? waitFor = null;
            RelayOutage? outage;
            lock (_gate)
            {
                if (!_out.TryGetValue(relay, out outage))
                    return new Ticket(relay, false);
                if (_probes.TryGetValue(relay, out var probe))
                    waitFor = probe.Task;
                else if (!outage.ProbeDue(time.GetUtcNow()))
                    return null;
                else
                    _probes[relay] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            if (waitFor is not null)
            {
                await waitFor.WaitAsync(cancellationToken);
                continue;
            }
            bool claimed;
            try
            {
                claimed = await outages.ClaimProbeAsync(relay, owner, cancellationToken);
            }
            catch
            {
                EndProbe(relay);
                throw;
            }
            if (claimed)
                return new Ticket(relay, true);
            // Another instance has the probe: out for this run until that probe's answer is in the table.
            lock (_gate)
                _out[relay] = outage with { ProbeOwner = "another instance", ProbeUntil = time.GetUtcNow() + ReadEvery };
            EndProbe(relay);
        }
    }

    /// <summary>Waits for this run's probes in flight, if any; false when there were none.</summary>
    public async Task<bool> WaitForProbesAsync(CancellationToken cancellationToken)
    {
        Task[] probes;
        lock (_gate)
            probes = _probes.Values.Select(p => p.Task).ToArray();
        if (probes.Length == 0)
            return false;
        await Task.WhenAny(probes).WaitAsync(cancellationToken);
        return true;
    }

    /// <summary>The relay accepted the message: its streak ends; an accepted probe brings it back for every instance.</summary>
    public async Task AcceptedAsync(Ticket ticket, CancellationToken cancellationToken)
    {
        lock (_gate)
            _streaks[ticket.Relay] = 0;
        if (!ticket.IsProbe)
            return;
        try
        {
            await outages.ProbePassedAsync(ticket.Relay, owner, cancellationToken);
            lock (_gate)
                _out.Remove(ticket.Relay);
            logger.LogWarning("Relay {Relay} is back in rotation for every instance: it accepted the probe message", ticket.Relay);
        }
        finally
        {
            EndProbe(ticket.Relay);
        }
    }

    /// <summary>The relay refused the content: counts towards taking it out; a refused probe keeps it out for longer.</summary>
    public async Task RefusedAsync(Ticket ticket, string reason, CancellationToken cancellationToken)
    {
        if (ticket.IsProbe)
        {
            try
            {
                RelayOutage? outage;
                lock (_gate)
                    _out.TryGetValue(ticket.Relay, out outage);
                outage ??= new RelayOutage(ticket.Relay, 1, time.GetUtcNow(), reason, time.GetUtcNow(), owner, null);
                var until = await outages.ProbeRefusedAsync(outage, owner, reason, cancellationToken);
                lock (_gate)
                    _out[ticket.Relay] = outage with { Strikes = outage.Strikes + 1, OutUntil = until, Reason = reason, ProbeOwner = null, ProbeUntil = null };
                logger.LogError("Relay {Relay} refused the probe message ({Reason}); out of rotation for every instance until {Until:u}", ticket.Relay, reason, until);
            }
            finally
            {
                EndProbe(ticket.Relay);
            }
            LogIfHeld();
            return;
        }
        int streak;
        lock (_gate)
            streak = _streaks[ticket.Relay] = _streaks.GetValueOrDefault(ticket.Relay) + 1;
        if (streak < maxConsecutiveRefusals || !Usable(ticket.Relay, time.GetUtcNow()))
            return;
        var detail = $"{streak} messages refused in a row, the last with {reason}";
        var tookOut = await outages.TakeOutAsync(ticket.Relay, detail, cancellationToken);
        if (tookOut)
            logger.LogError("Relay {Relay} taken out of rotation for every instance until {Until:u}: it refused {Count} messages in a row ({Reason}); nobody was suspended, the messages stay queued",
                ticket.Relay, time.GetUtcNow() + outages.Cooldown(1), streak, reason);
        _readAt = DateTimeOffset.MinValue;
        await RefreshAsync(cancellationToken);
        // Out already (another worker or instance was first): said once, by whoever took it out.
        if (tookOut)
            LogIfHeld();
    }

    /// <summary>The message failed for another reason: a probe's claim is given back, so the next message probes again.</summary>
    public async Task FailedAsync(Ticket ticket, CancellationToken cancellationToken)
    {
        if (!ticket.IsProbe)
            return;
        try
        {
            await outages.ReleaseProbeAsync(ticket.Relay, owner, CancellationToken.None);
        }
        finally
        {
            EndProbe(ticket.Relay);
        }
    }

    private void EndProbe(string relay)
    {
        TaskCompletionSource? probe;
        lock (_gate)
        {
            if (_probes.Remove(relay, out probe) is false)
                return;
        }
        probe.TrySetResult();
    }

    private void LogIfHeld()
    {
        var configured = outages.ConfiguredRelays;
        var now = time.GetUtcNow();
        string[] each;
        lock (_gate)
        {
            if (configured.Count == 0 || !configured.All(_out.ContainsKey))
                return;
            each = configured.Select(r => _out[r].Describe(now)).ToArray();
        }
        logger.LogError("Sending is held for every instance: no relay accepts the content ({Relays}); readers are untouched, the digests stay queued; run send-now to resume once the cause is dealt with",
            string.Join("; ", each));
    }
}
