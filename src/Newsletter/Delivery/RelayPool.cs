using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using MimeKit;

namespace Newsletter.Delivery;

/// <summary>One of <c>Smtp:Relays</c>.</summary>
public sealed class RelayOptions
{
    public string? Host { get; set; }
    public int Port { get; set; } = 587;
    public SmtpSecurity Security { get; set; } = SmtpSecurity.Auto;
    public string? Username { get; set; }
    public string? Password { get; set; }
    public int MaxConnections { get; set; } = 4;

    /// <summary>This relay's own limit; null or 0 means unlimited.</summary>
    public double? MessagesPerSecond { get; set; }

    /// <summary>Its share of the messages, relative to the others' weights.</summary>
    public double Weight { get; set; } = 1;

    public string Name => $"{Host}:{Port}";
}

/// <summary>
/// Several relays as one transport: each message goes to a relay chosen by weight (smooth
/// weighted round robin: exact shares, no bursts), over that relay's own connections and rate.
/// A relay that refuses authentication, cannot be reached, or answers 4xx
/// <c>Smtp:RelayFailuresBeforeCooldown</c> times in a row is taken out for a cool-down (doubling
/// while it keeps failing) and the message goes to another at once; its share moves to the
/// others. Only when no relay is usable does the run stop. The relays' states outlive a run
/// (<see cref="RelayStates"/>), so the next run does not knock on a relay that just failed, and
/// <c>/health</c> shows them. A relay that refuses the content message after message is out for
/// every instance (<see cref="ContentRefusals"/>, in a delivery run).
/// </summary>
internal sealed class RelayPool : IMailTransport
{
    private readonly Relay[] _relays;
    private readonly RelayStates _states;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SmtpOptions _options;
    private readonly ContentRefusals? _content;
    private readonly Lock _gate = new();
    private int _senders;

    public RelayPool(SmtpOptions options, RelayStates states, TimeProvider time, ILoggerFactory loggers, ContentRefusals? content = null)
    {
        _options = options;
        _content = content;
        _states = states;
        _time = time;
        _logger = loggers.CreateLogger<RelayPool>();
        _relays = options.Relays.Select(relay => new Relay(relay, new SmtpTransport(new SmtpOptions
        {
            Host = relay.Host, Port = relay.Port, Security = relay.Security, Username = relay.Username, Password = relay.Password,
            MaxConnections = relay.MaxConnections, Timeout = options.Timeout,
        }, loggers.CreateLogger<SmtpTransport>()), states.For(relay.Name))).ToArray();
    }

    public int MaxSenders => Math.Min(64, _relays.Sum(r => r.Options.MaxConnections));

    public string Describe() => $"{_relays.Length} SMTP relays ({string.Join(", ", _relays.Select(r => $"{r.Options.Name} weight {r.Options.Weight:0.##}"))})";

    public Task<IMailSender> ConnectAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
            _senders++;
        // Connections are opened per relay when a message is for it, not per worker.
        return Task.FromResult<IMailSender>(new Sender(this));
    }

    /// <summary>The next relay by weight among those usable now and not yet tried for this message.</summary>
    private Relay? Pick(HashSet<Relay> tried)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            Relay? best = null;
            double total = 0;
            foreach (var relay in _relays)
            {
                if (tried.Contains(relay) || !Usable(relay, now))
                    continue;
                relay.Current += relay.Options.Weight;
                total += relay.Options.Weight;
                if (best is null || relay.Current > best.Current)
                    best = relay;
            }
            if (best is not null)
                best.Current -= total;
            return best;
        }
    }

    private bool Usable(Relay relay, DateTimeOffset now) => relay.State.UsableAt(now) && _content?.Usable(relay.Options.Name, now) != false;

    private string Describe(Relay relay, DateTimeOffset now) => _content?.OutageOf(relay.Options.Name, now) ?? relay.State.Describe(now);

    private async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var tried = new HashSet<Relay>();
        DeliveryException? lastTransient = null;
        if (_content is not null)
            await _content.RefreshAsync(cancellationToken);
        while (true)
        {
            var relay = Pick(tried);
            if (relay is null)
            {
                // A probe of this run is on its way: its answer says whether that relay is back.
                if (_content is not null && await _content.WaitForProbesAsync(cancellationToken))
                    continue;
                // Some relay is still usable but each one tried deferred this message: the message waits, the run goes on.
                if (lastTransient is not null && _relays.Any(r => Usable(r, _time.GetUtcNow())))
                    throw lastTransient;
                throw new DeliveryException(FailureKind.RunLevel, "no SMTP relay is usable: " + string.Join("; ", _relays.Select(r => Describe(r, _time.GetUtcNow()))));
            }
            tried.Add(relay);
            ContentRefusals.Ticket? ticket = null;
            if (_content is not null && (ticket = await _content.AdmitAsync(relay.Options.Name, cancellationToken)) is null)
                continue;
            DeliveryException? transient;
            try
            {
                if (await SendThroughAsync(relay, message, cancellationToken) is not { } failed)
                {
                    if (ticket is not null)
                        await _content!.AcceptedAsync(ticket, cancellationToken);
                    return;
                }
                transient = failed.Kind == FailureKind.Transient ? failed : null;
            }
            catch (DeliveryException refusal) when (ticket is not null && refusal.Kind == FailureKind.MessageRefused)
            {
                await _content!.RefusedAsync(ticket, refusal.Message, cancellationToken);
                throw;
            }
            catch when (ticket is not null)
            {
                await _content!.FailedAsync(ticket, cancellationToken);
                throw;
            }
            // Deferred or unreachable: another relay is tried for this message.
            lastTransient = transient ?? lastTransient;
            if (ticket is not null)
                await _content!.FailedAsync(ticket, cancellationToken);
        }
    }

    /// <summary>
    /// Sends the message through one relay: null when it was accepted, the failure when another relay
    /// should try it (unreachable, deferred); permanent and message refusals are thrown to the caller.
    /// </summary>
    private async Task<DeliveryException?> SendThroughAsync(Relay relay, MimeMessage message, CancellationToken cancellationToken)
    {
        await relay.Slots.WaitAsync(cancellationToken);
        IMailSender? connection = null;
        try
        {
            if (relay.Limiter is { } limiter)
                using (await limiter.AcquireAsync(1, cancellationToken)) { }
            try
            {
                connection = relay.Idle.TryTake(out var idle) ? idle : await relay.Transport.ConnectAsync(cancellationToken);
            }
            catch (DeliveryException failure)
            {
                CoolDown(relay, failure.Message);
                return failure;
            }
            try
            {
                await connection.SendAsync(message, cancellationToken);
                relay.State.Succeeded();
                return null;
            }
            catch (DeliveryException failure) when (failure.Kind is FailureKind.Transient or FailureKind.RunLevel)
            {
                if (failure.Kind == FailureKind.RunLevel || relay.State.Deferred(failure.Message) >= _options.RelayFailuresBeforeCooldown)
                    CoolDown(relay, failure.Message);
                else
                    _logger.LogWarning("Relay {Relay} deferred a message, trying another: {Reason}", relay.Options.Name, failure.Message);
                return failure;
            }
            // Permanent and message refusals are about this reader or this message, not the relay: the caller records them.
        }
        finally
        {
            if (connection is not null)
            {
                if (connection.IsUsable)
                    relay.Idle.Add(connection);
                else
                    await connection.DisposeAsync();
            }
            relay.Slots.Release();
        }
    }

    private void CoolDown(Relay relay, string reason)
    {
        var until = relay.State.CoolDown(reason, _options.RelayCooldown, _time.GetUtcNow());
        _logger.LogWarning("Relay {Relay} taken out until {Until:u}: {Reason}", relay.Options.Name, until, reason);
    }

    private async ValueTask SenderDoneAsync()
    {
        lock (_gate)
        {
            if (--_senders > 0)
                return;
        }
        // The last worker is done: close what is idle, so nothing outlives the run.
        foreach (var relay in _relays)
            while (relay.Idle.TryTake(out var connection))
                await connection.DisposeAsync();
    }

    private sealed class Relay(RelayOptions options, SmtpTransport transport, RelayState state)
    {
        public RelayOptions Options { get; } = options;
        public SmtpTransport Transport { get; } = transport;
        public RelayState State { get; } = state;
        public SemaphoreSlim Slots { get; } = new(options.MaxConnections, options.MaxConnections);
        public ConcurrentBag<IMailSender> Idle { get; } = [];
        public RateLimiter? Limiter { get; } = SendRateLimiter.Create(options.MessagesPerSecond, DeliveryMode.Smtp);

        /// <summary>The smooth weighted round robin's running score; under the pool's lock.</summary>
        public double Current { get; set; }
    }

    private sealed class Sender(RelayPool pool) : IMailSender
    {
        private int _disposed;

        public bool IsUsable => true;

        public Task SendAsync(MimeMessage message, CancellationToken cancellationToken) => pool.SendAsync(message, cancellationToken);

        public ValueTask DisposeAsync() => Interlocked.Exchange(ref _disposed, 1) == 0 ? pool.SenderDoneAsync() : ValueTask.CompletedTask;
    }
}

/// <summary>Each relay's state in this process: usable, or cooling down and why. Shown by <c>/health</c>.</summary>
public sealed class RelayStates
{
    private readonly ConcurrentDictionary<string, RelayState> _states = new(StringComparer.OrdinalIgnoreCase);

    public RelayState For(string name) => _states.GetOrAdd(name, n => new RelayState(n));

    public IReadOnlyList<RelayState> All => _states.Values.OrderBy(s => s.Name, StringComparer.Ordinal).ToArray();
}

public sealed class RelayState(string name)
{
    private readonly Lock _gate = new();
    private int _deferredInARow;
    private int _strikes;

    public string Name { get; } = name;

    public DateTimeOffset? CoolingUntil { get; private set; }

    public string? LastProblem { get; private set; }

    public long Sent => Interlocked.Read(ref _sent);
    private long _sent;

    public bool UsableAt(DateTimeOffset now)
    {
        lock (_gate)
            return CoolingUntil is null || CoolingUntil <= now;
    }

    public void Succeeded()
    {
        Interlocked.Increment(ref _sent);
        lock (_gate)
        {
            _deferredInARow = 0;
            _strikes = 0;
            CoolingUntil = null;
        }
    }

    /// <summary>A 4xx or a broken connection; returns how many in a row.</summary>
    public int Deferred(string reason)
    {
        lock (_gate)
        {
            LastProblem = reason;
            return ++_deferredInARow;
        }
    }

    /// <summary>Out of rotation for the cool-down, doubled for each cool-down in a row (at most 16 times).</summary>
    public DateTimeOffset CoolDown(string reason, TimeSpan cooldown, DateTimeOffset now)
    {
        lock (_gate)
        {
            _strikes = Math.Min(_strikes + 1, 5);
            _deferredInARow = 0;
            LastProblem = reason;
            CoolingUntil = now + cooldown * (1 << (_strikes - 1));
            return CoolingUntil.Value;
        }
    }

    public string Describe(DateTimeOffset now)
    {
        lock (_gate)
            return CoolingUntil is { } until && until > now
                ? $"{Name} cooling down until {until:u} ({LastProblem})"
                : $"{Name} usable" + (LastProblem is null ? "" : $" (last problem: {LastProblem})");
    }
}
