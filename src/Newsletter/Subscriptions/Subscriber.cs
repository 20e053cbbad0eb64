using Newsletter.Model;

namespace Newsletter.Subscriptions;

/// <summary>The status words, as stored and as printed by <c>subscribers list</c>.</summary>
public static class SubscriberStatus
{
    public const string Pending = "pending";
    public const string Active = "active";
    public const string Unsubscribed = "unsubscribed";
    public const string Bounced = "bounced";
}

/// <param name="PendingSince">When the current pending episode began (null unless pending): confirmation links are bound to it.</param>
public sealed record Subscriber(
    long Id,
    string Email,
    string Status,
    string? StatusReason,
    long CreatedAt,
    long? ConfirmedAt,
    bool IsPaused,
    Preferences Preferences,
    long? PendingSince = null);
