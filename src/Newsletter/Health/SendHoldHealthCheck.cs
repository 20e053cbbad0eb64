using Microsoft.Extensions.Diagnostics.HealthChecks;
using Newsletter.Delivery;

namespace Newsletter.Health;

/// <summary>Unhealthy while sending is held for every instance (complaints over the limit), with the reason and how to lift it.</summary>
internal sealed class SendHoldHealthCheck(SendHold hold) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await hold.ReasonAsync(cancellationToken) is { } reason
                ? HealthCheckResult.Unhealthy($"sending is held: {reason}; send-now lifts the hold")
                : HealthCheckResult.Healthy("sending");
        }
        catch (System.Data.Common.DbException)
        {
            return HealthCheckResult.Healthy("unknown while the database is unavailable (the database check says why)");
        }
    }
}
