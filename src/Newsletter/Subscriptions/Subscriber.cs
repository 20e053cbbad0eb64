namespace Newsletter.Subscriptions;

/// <summary>The status words, as stored and as printed by <c>subscribers list</c>.</summary>
public static class SubscriberStatus
{
    public const string Pending = "pending";
    public const string Active = "active";
    public const string Unsubscribed = "unsubscribed";
    public const string Bounced = "bounced";
}

public sealed record Subscriber(
    long Id,
    string Email,
    string Status,
    string? StatusReason,
    long CreatedAt,
    long? ConfirmedAt,
    bool IsPaused,
    Preferences Preferences);
