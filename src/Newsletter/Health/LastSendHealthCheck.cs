using Microsoft.Extensions.Diagnostics.HealthChecks;
using Newsletter.Delivery;

namespace Newsletter.Health;

/// <summary>
/// The last send's time and outcome, from the ledger: degraded when the newest issue's deliveries have all
/// finished and none was sent (every one bounced or expired: the relay or the list is in trouble).
/// </summary>
internal sealed class LastSendHealthCheck(LastSendQuery ledger) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (await ledger.GetAsync(cancellationToken) is not { } last)
            return HealthCheckResult.Healthy("nothing sent yet");
        var sent = last.Count(DeliveryStatus.Sent);
        var waiting = last.Count(DeliveryStatus.Pending) + last.Count(DeliveryStatus.Sending);
        var data = new Dictionary<string, object>
        {
            ["issue"] = last.IssueDate,
            ["lastSentAt"] = (object?)last.LastSentAt ?? "never",
            ["sent"] = sent,
            ["waiting"] = waiting,
            ["bounced"] = last.Count(DeliveryStatus.Bounced),
            ["expired"] = last.Count(DeliveryStatus.Expired),
            ["skipped"] = last.Count(DeliveryStatus.Skipped),
        };
        var at = last.LastSentAt is { } value ? value.ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "never";
        var description = $"issue {last.IssueDate}: last sent {at}; {sent} sent, {waiting} waiting, {last.Count(DeliveryStatus.Bounced)} bounced, {last.Count(DeliveryStatus.Expired)} expired, {last.Count(DeliveryStatus.Skipped)} skipped";
        var failed = last.Count(DeliveryStatus.Bounced) + last.Count(DeliveryStatus.Expired);
        return sent == 0 && waiting == 0 && failed > 0
            ? HealthCheckResult.Degraded("nothing of the last issue was delivered: " + description, data: data)
            : HealthCheckResult.Healthy(description, data);
    }
}
