using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Newsletter.Delivery;

namespace Newsletter.Health;

/// <summary>
/// Each of <c>Smtp:Relays</c>: usable or cooling down, and why. Degraded while some are out (their
/// share goes to the others), unhealthy when none is left: nothing can be sent until one recovers.
/// A relay out for every instance after refusing the content (<see cref="RelayOutages"/>) says until
/// when and the reply it gave; that counts for the single <c>Smtp:Host</c> relay too.
/// </summary>
internal sealed class RelaysHealthCheck(IOptions<SmtpOptions> smtp, RelayStates states, RelayOutages outages, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var relays = smtp.Value.Relays;
        var now = time.GetUtcNow();
        Dictionary<string, RelayOutage> outs;
        try
        {
            outs = (await outages.ListAsync(cancellationToken)).ToDictionary(o => o.Relay, StringComparer.OrdinalIgnoreCase);
        }
        catch (System.Data.Common.DbException)
        {
            outs = []; // the database check says why
        }
        if (relays.Count == 0)
        {
            if (string.IsNullOrWhiteSpace(smtp.Value.Host))
                return HealthCheckResult.Healthy("no SMTP relay configured");
            var name = RelayOutages.Configured(smtp.Value)[0];
            return outs.TryGetValue(name, out var single)
                ? HealthCheckResult.Unhealthy("no SMTP relay is usable: " + single.Describe(now))
                : HealthCheckResult.Healthy($"one relay, {name}");
        }
        var each = relays.Select(r => (State: states.For(r.Name), Outage: outs.GetValueOrDefault(r.Name))).ToArray();
        var cooling = each.Count(s => s.Outage is not null || !s.State.UsableAt(now));
        var description = string.Join("; ", each.Select(s => s.Outage?.Describe(now) ?? s.State.Describe(now)));
        return cooling == 0 ? HealthCheckResult.Healthy(description)
            : cooling < each.Length ? HealthCheckResult.Degraded(description)
            : HealthCheckResult.Unhealthy("no SMTP relay is usable: " + description);
    }

    /// <summary>
    /// The relays for the JSON body of <c>/health</c>: each of <c>Smtp:Relays</c> (and the single
    /// <c>Smtp:Host</c> while it is out for its content), with this process's state and, when out for
    /// every instance, until when and why.
    /// </summary>
    public static object[] Describe(SmtpOptions smtp, RelayStates states, IReadOnlyList<RelayOutage> outages, DateTimeOffset now)
    {
        var outs = outages.ToDictionary(o => o.Relay, StringComparer.OrdinalIgnoreCase);
        var names = smtp.Relays.Count > 0 ? smtp.Relays.Select(r => r.Name) : RelayOutages.Configured(smtp).Where(outs.ContainsKey);
        return names.Select(name => (State: states.For(name), Outage: outs.GetValueOrDefault(name))).Select(s => (object)new
        {
            relay = s.State.Name,
            state = s.Outage is not null ? "out" : s.State.UsableAt(now) ? "usable" : "cooling",
            coolingUntil = s.State.UsableAt(now) ? null : s.State.CoolingUntil,
            lastProblem = s.State.LastProblem,
            sent = s.State.Sent,
            outForEveryInstance = s.Outage is { } o ? new { since = o.Since, until = o.OutUntil, reason = o.Reason, probeDue = o.ProbeDue(now) } : null,
        }).ToArray();
    }
}
