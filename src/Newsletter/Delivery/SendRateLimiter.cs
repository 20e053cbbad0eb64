using System.Threading.RateLimiting;

namespace Newsletter.Delivery;

/// <summary><c>Smtp:MessagesPerSecond</c> as a token bucket shared by a run's workers (none for the pickup folder or without a limit).</summary>
internal static class SendRateLimiter
{
    public static TokenBucketRateLimiter? Create(double? perSecond, DeliveryMode mode)
    {
        if (mode != DeliveryMode.Smtp || perSecond is not > 0)
            return null;
        // Refill in small steps so the rate is smooth rather than one burst per second.
        var (tokens, period) = perSecond >= 10
            ? ((int)Math.Round(perSecond.Value / 10), TimeSpan.FromMilliseconds(100))
            : (1, TimeSpan.FromSeconds(1 / perSecond.Value));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokens,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }
}
