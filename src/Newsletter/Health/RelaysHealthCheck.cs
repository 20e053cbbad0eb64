using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Newsletter.Delivery;

namespace Newsletter.Health;

/// <summary>
/// Each of <c>Smtp:Relays</c>: usable or cooling down, and why. Degraded while some are out (their
/// share goes to the others), unhealthy when none is left: nothing can be sent until one recovers.
/// </summary>
internal sealed class RelaysHealthCheck(IOptions<SmtpOptions> smtp, RelayStates states, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var relays = smtp.Value.Relays;
        if (relays.Count == 0)
            return Task.FromResult(HealthCheckResult.Healthy(string.IsNullOrWhiteSpace(smtp.Value.Host) ? "no SMTP relay configured" : $"one relay, {smtp.Value.Host}:{smtp.Value.Port}"));
        var now = time.GetUtcNow();
        var each = relays.Select(r => states.For(r.Name)).ToArray();
        var cooling = each.Count(s => !s.UsableAt(now));
        var description = string.Join("; ", each.Select(s => s.Describe(now)));
        return Task.FromResult(cooling == 0 ? HealthCheckResult.Healthy(description)
            : cooling < each.Length ? HealthCheckResult.Degraded(description)
            : HealthCheckResult.Unhealthy("no SMTP relay is usable: " + description));
    }

    /// <summary>The relays for the JSON body of <c>/health</c>.</summary>
    public static object[] Describe(SmtpOptions smtp, RelayStates states, DateTimeOffset now) =>
        smtp.Relays.Select(r => states.For(r.Name)).Select(s => (object)new
        {
            relay = s.Name,
            state = s.UsableAt(now) ? "usable" : "cooling",
            coolingUntil = s.UsableAt(now) ? null : s.CoolingUntil,
            lastProblem = s.LastProblem,
            sent = s.Sent,
        }).ToArray();
}
