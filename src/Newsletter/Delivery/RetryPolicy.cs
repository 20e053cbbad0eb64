namespace Newsletter.Delivery;

/// <summary>
/// What an attempt's outcome means for the ledger: sent, bounced (the recipient is refused for
/// good), or pending again with exponential backoff and jitter; past <c>Delivery:RetryWindow</c> a
/// delivery expires instead of waiting once more. A refused message is deferred, marked so that the
/// refusal breaker can tell it from a transient failure.
/// </summary>
internal sealed class RetryPolicy(DeliveryOptions options, TimeProvider time)
{
    /// <summary>Marks a message-level refusal in the ledger's last_error (and tells it apart from a transient failure).</summary>
    public const string MessageRefusedPrefix = "message refused: ";

    public static DeliveryResult Result(ClaimedDelivery delivery, string status, string? error) =>
        new(delivery.Id, delivery.SubscriberId, status, error, null);

    /// <summary>The outcome of a send that failed for this message or this reader (not for the whole run).</summary>
    public DeliveryResult Failed(ClaimedDelivery delivery, DeliveryException failure) => failure.Kind switch
    {
        FailureKind.Permanent => Result(delivery, DeliveryStatus.Bounced, failure.Message),
        FailureKind.MessageRefused => Retry(delivery, MessageRefusedPrefix + failure.Message),
        _ => Retry(delivery, failure.Message),
    };

    public static bool IsMessageRefusal(DeliveryResult result) => result.Error?.StartsWith(MessageRefusedPrefix, StringComparison.Ordinal) == true;

    /// <summary>Exponential backoff with jitter; past the retry window the delivery expires instead.</summary>
    private DeliveryResult Retry(ClaimedDelivery delivery, string error)
    {
        var now = time.GetUtcNow();
        if (now - Storage.DbTime.FromDb(delivery.CreatedAt) >= options.RetryWindow)
            return Result(delivery, DeliveryStatus.Expired, error);
        var exponent = Math.Min(delivery.Attempts - 1, 20);
        var delay = TimeSpan.FromTicks(Math.Min(options.RetryInitialDelay.Ticks * (1L << (int)exponent), options.RetryMaxDelay.Ticks));
        delay *= 0.8 + Random.Shared.NextDouble() * 0.4;
        return new DeliveryResult(delivery.Id, delivery.SubscriberId, DeliveryStatus.Pending, error, now + delay);
    }
}
