namespace Newsletter.Subscriptions;

/// <summary>The defaults a reader without a time zone or hour gets, for pages to show (from <c>Schedule</c>).</summary>
public sealed class ScheduleDefaults
{
    public string TimeZone { get; set; } = "UTC";
    public int SendHour { get; set; } = 7;
}
