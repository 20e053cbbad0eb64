using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Delivery;

public enum DeliveryMode { Smtp, Pickup }

public enum SmtpSecurity { None, StartTls, SslOnConnect, Auto }

public sealed class DeliveryOptions
{
    public const string Section = "Newsletter:Delivery";

    /// <summary>Null means: SMTP when a host is configured, else the pickup folder.</summary>
    public DeliveryMode? Mode { get; set; }

    public string PickupDirectory { get; set; } = "data/outbox";

    /// <summary>Deliveries claimed per database round trip.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>How long a claimed delivery stays reserved; after a crash it is resent once this passes.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(10);

    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>After this long since the first attempt a transient failure becomes "expired".</summary>
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>A digest not delivered this long after it was composed is not sent any more ("expired").</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(20);

    /// <summary>Hard bounces after which an address is suspended.</summary>
    public int MaxHardBounces { get; set; } = 1;

    /// <summary>How often a run tells the ledger it is alive; a run that misses three beats is taken over by the next one.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On SIGTERM/SIGINT: how long a run may take to stop. Each connection finishes the message it
    /// is sending and records it; everything else claimed goes back to the queue at once.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Message-level refusals (5xx after DATA, 5.7.x policy) in a row that stop a run: the relay refuses the message, not the readers.</summary>
    public int MaxConsecutiveRefusals { get; set; } = 20;
}

public sealed class SmtpOptions
{
    public const string Section = "Newsletter:Smtp";

    public string? Host { get; set; }
    public int Port { get; set; } = 587;
    public SmtpSecurity Security { get; set; } = SmtpSecurity.Auto;
    public string? Username { get; set; }
    public string? Password { get; set; }
    public int MaxConnections { get; set; } = 4;

    /// <summary>Shared by all connections; null or 0 means unlimited.</summary>
    public double? MessagesPerSecond { get; set; }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Several relays instead of <see cref="Host"/>, spread by weight (<see cref="RelayPool"/>).</summary>
    public List<RelayOptions> Relays { get; set; } = [];

    /// <summary>How long a failing relay is left out (doubled while it keeps failing).</summary>
    public TimeSpan RelayCooldown { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>4xx answers or broken connections in a row after which a relay is left out.</summary>
    public int RelayFailuresBeforeCooldown { get; set; } = 3;

    /// <summary>
    /// How long a relay that refused the content <c>Delivery:MaxConsecutiveRefusals</c> times in a row is out
    /// for every instance before a probe; doubled after each refused probe, up to <see cref="RelayContentCooldownMax"/>.
    /// </summary>
    public TimeSpan RelayContentCooldown { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan RelayContentCooldownMax { get; set; } = TimeSpan.FromHours(6);
}

internal sealed class DeliveryOptionsValidator : IValidateOptions<DeliveryOptions>
{
    public ValidateOptionsResult Validate(string? name, DeliveryOptions options)
    {
        var check = new ValidationFailures(DeliveryOptions.Section);
        check.Require(!string.IsNullOrWhiteSpace(options.PickupDirectory), "PickupDirectory", "must name a folder.");
        check.Require(options.BatchSize is > 0 and <= 10_000, "BatchSize", $"must be between 1 and 10000; got {options.BatchSize}.");
        check.Require(options.LeaseDuration >= TimeSpan.FromSeconds(1), "LeaseDuration", "must be at least one second.");
        check.Require(options.MaxAge > TimeSpan.Zero, "MaxAge", "must be positive.");
        check.Require(options.RetryInitialDelay > TimeSpan.Zero, "RetryInitialDelay", "must be positive.");
        check.Require(options.RetryMaxDelay >= options.RetryInitialDelay, "RetryMaxDelay", "must not be shorter than RetryInitialDelay.");
        check.Require(options.RetryWindow > TimeSpan.Zero, "RetryWindow", "must be positive.");
        check.Require(options.MaxHardBounces >= 1, "MaxHardBounces", "must be at least 1.");
        check.Require(options.HeartbeatInterval >= TimeSpan.FromMilliseconds(100), "HeartbeatInterval", "must be at least 100 ms.");
        check.Require(options.ShutdownTimeout >= TimeSpan.FromSeconds(1), "ShutdownTimeout", "must be at least one second.");
        check.Require(options.MaxConsecutiveRefusals >= 1, "MaxConsecutiveRefusals", "must be at least 1.");
        return check.Result();
    }
}

internal sealed class SmtpOptionsValidator(IConfiguration configuration) : IValidateOptions<SmtpOptions>
{
    public ValidateOptionsResult Validate(string? name, SmtpOptions options)
    {
        var check = new ValidationFailures(SmtpOptions.Section);
        check.Require(!(ConfiguredMode() == DeliveryMode.Smtp && string.IsNullOrWhiteSpace(options.Host) && options.Relays.Count == 0),
            "Host", "must be set when Newsletter:Delivery:Mode is Smtp (or list Newsletter:Smtp:Relays).");
        check.Require(string.IsNullOrWhiteSpace(options.Host) || options.Relays.Count == 0,
            "Relays", $"and Newsletter:Smtp:Host are both set; use one form: Host for one relay, Relays for several (add {options.Host} to Relays).");
        check.Require(options.RelayCooldown >= TimeSpan.FromSeconds(1), "RelayCooldown", "must be at least one second.");
        check.Require(options.RelayFailuresBeforeCooldown >= 1, "RelayFailuresBeforeCooldown", "must be at least 1.");
        check.Require(options.RelayContentCooldown >= TimeSpan.FromSeconds(1), "RelayContentCooldown", "must be at least one second.");
        check.Require(options.RelayContentCooldownMax >= options.RelayContentCooldown, "RelayContentCooldownMax", $"must be at least Newsletter:Smtp:RelayContentCooldown ({options.RelayContentCooldown}).");
        for (var i = 0; i < options.Relays.Count; i++)
        {
            var relay = options.Relays[i];
            check.Require(!string.IsNullOrWhiteSpace(relay.Host), $"Relays:{i}:Host", "must name the relay.");
            check.Require(relay.Port is > 0 and < 65536, $"Relays:{i}:Port", $"must be between 1 and 65535; got {relay.Port}.");
            check.Require(relay.MaxConnections is >= 1 and <= 64, $"Relays:{i}:MaxConnections", $"must be between 1 and 64; got {relay.MaxConnections}.");
            check.Require(relay.MessagesPerSecond is null or >= 0, $"Relays:{i}:MessagesPerSecond", "must not be negative.");
            check.Require(relay.Weight is > 0 and <= 1_000_000 && double.IsFinite(relay.Weight), $"Relays:{i}:Weight", $"must be a positive number; got {relay.Weight}.");
            check.Require(string.IsNullOrEmpty(relay.Password) || !string.IsNullOrEmpty(relay.Username), $"Relays:{i}:Username", "must be set when a Password is.");
        }
        var twice = options.Relays.GroupBy(r => r.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        check.Require(twice is null, "Relays", $"lists {twice?.Key} more than once.");
        check.Require(options.Port is > 0 and < 65536, "Port", $"must be between 1 and 65535; got {options.Port}.");
        check.Require(options.MaxConnections is >= 1 and <= 64, "MaxConnections", $"must be between 1 and 64; got {options.MaxConnections}.");
        check.Require(options.MessagesPerSecond is null or >= 0, "MessagesPerSecond", "must not be negative.");
        check.Require(string.IsNullOrEmpty(options.Password) || !string.IsNullOrEmpty(options.Username), "Username", "must be set when a Password is.");
        check.Require(options.Timeout > TimeSpan.Zero, "Timeout", "must be positive.");
        return check.Result();
    }

    // Read from the configuration rather than IOptions<DeliveryOptions>, whose other mistakes
    // (reported by its own validator) would otherwise hide this one.
    private DeliveryMode? ConfiguredMode() =>
        Enum.TryParse<DeliveryMode>(configuration[$"{DeliveryOptions.Section}:Mode"], ignoreCase: true, out var mode) ? mode : null;
}
