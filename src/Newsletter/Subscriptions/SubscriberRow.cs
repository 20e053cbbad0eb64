using Newsletter.Model;

namespace Newsletter.Subscriptions;

/// <summary>A subscriber row as read by <see cref="SubscriberStore"/>: its preference columns and the rest.</summary>
internal sealed class SubscriberRow : PreferenceColumns
{
    public long Id { get; set; }
    public string Email { get; set; } = "";
    public string Status { get; set; } = "";
    public string? StatusReason { get; set; }
    public long CreatedAt { get; set; }
    public long? ConfirmedAt { get; set; }
    public long Paused { get; set; }
    public long? PendingSince { get; set; }

    public Subscriber ToSubscriber() => new(Id, Email, Status, StatusReason, CreatedAt, ConfirmedAt, Paused != 0, ToPreferences(), PendingSince);
}
