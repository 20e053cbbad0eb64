using Newsletter.Configuration;
using Newsletter.Model;
using Quartz;

namespace Newsletter.Issues;

/// <summary>
/// When a reader is due: at their local send hour (minute of <c>Schedule:Digest</c>) in their zone,
/// on their days. A reader who set none of zone, hour or days is due exactly when the
/// <c>Schedule:Digest</c> cron fires, as before preferences existed.
/// </summary>
public sealed class ReaderClock
{
    private readonly ScheduleOptions _schedule;
    private readonly TimeSpan _maxAge;
    private readonly DateTimeOffset _now;
    private readonly DateOnly? _cronDate;
    private readonly int _defaultHour;
    private readonly int _defaultMinute;
    private readonly CronExpression _cron;
    private readonly Dictionary<(string, int), DateOnly[]> _passed = [];

    public ReaderClock(ScheduleOptions schedule, TimeSpan maxAge, DateTimeOffset now)
    {
        _schedule = schedule;
        _maxAge = maxAge;
        _now = now;
        var zone = schedule.Zone;
        Today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        var cron = _cron = new CronExpression(schedule.Digest, zone);
        DateTimeOffset? latest = null;
        for (var next = cron.GetNextValidTimeAfter(now - maxAge); next is { } fire && fire <= now; next = cron.GetNextValidTimeAfter(fire))
            latest = fire;
        if (latest is { } fired)
            _cronDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(fired, zone).DateTime);
        // The hour and minute of the digest cron, read from its next firing (a cron may name several hours: the first one of a day is taken).
        var firstOfDay = cron.GetNextValidTimeAfter(new DateTimeOffset(TimeZoneInfo.ConvertTime(now, zone).Date, zone.GetUtcOffset(now)).AddMinutes(-1));
        var local = firstOfDay is { } f ? TimeZoneInfo.ConvertTime(f, zone) : new DateTimeOffset(2000, 1, 1, 7, 0, 0, TimeSpan.Zero);
        (_defaultHour, _defaultMinute) = (local.Hour, local.Minute);
    }

    /// <summary>Today in <c>Schedule:TimeZone</c>.</summary>
    public DateOnly Today { get; }

    public int DefaultHour => _defaultHour;

    /// <summary>The local date whose digest is due now for a reader with these preferences, if any.</summary>
    public DateOnly? DueDate(Preferences preferences)
    {
        if (preferences.TimeZone is null && preferences.SendHour is null && preferences.Days is null && preferences.Cadence == Cadence.Daily)
            return _cronDate;
        var key = (preferences.TimeZone ?? _schedule.TimeZone, preferences.SendHour ?? _defaultHour);
        if (!_passed.TryGetValue(key, out var dates))
            _passed[key] = dates = Passed(key.Item1, key.Item2);
        foreach (var date in dates)
            if (preferences.WantsDigestOn(date))
                return date;
        return null;
    }

    /// <summary>
    /// When a reader's digest of <paramref name="date"/> falls due: their local hour in their zone,
    /// or the <c>Schedule:Digest</c> cron's first firing that date for a reader who chose none
    /// (never, for a date the cron does not fire on: only <c>send-now --date</c> serves that).
    /// </summary>
    public DateTimeOffset SendInstant(Preferences preferences, DateOnly date)
    {
        if (preferences.TimeZone is null && preferences.SendHour is null && preferences.Days is null && preferences.Cadence == Cadence.Daily)
        {
            var zone = _schedule.Zone;
            var midnight = SendInstant(zone, date, 0, 0);
            return _cron.GetNextValidTimeAfter(midnight.AddTicks(-1)) is { } fire
                && DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(fire, zone).DateTime) == date
                ? fire : DateTimeOffset.MaxValue;
        }
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(preferences.TimeZone ?? _schedule.TimeZone, out var readerZone))
            readerZone = _schedule.Zone;
        return SendInstant(readerZone, date, preferences.SendHour ?? _defaultHour, _defaultMinute);
    }

    /// <summary>Of today and yesterday (local), the dates whose send time has passed within MaxAge, latest first.</summary>
    private DateOnly[] Passed(string zoneId, int hour)
    {
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var zone))
            zone = _schedule.Zone;
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(_now, zone).DateTime);
        return new[] { today, today.AddDays(-1) }
            .Where(date => SendInstant(zone, date, hour, _defaultMinute) is var due && due <= _now && _now - due <= _maxAge)
            .ToArray();
    }

    /// <summary>
    /// The instant of a local wall-clock time, DST-safe: a time the clocks skip is taken as the
    /// first instant after the gap; a time that happens twice, as its first occurrence.
    /// </summary>
    public static DateTimeOffset SendInstant(TimeZoneInfo zone, DateOnly date, int hour, int minute)
    {
        var local = date.ToDateTime(new TimeOnly(hour, minute));
        var guard = 0;
        while (zone.IsInvalidTime(local) && guard++ < 12 * 60)
            local = local.AddMinutes(1);
        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }
}
