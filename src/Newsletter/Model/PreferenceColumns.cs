namespace Newsletter.Model;

/// <summary>
/// How preferences are stored on a subscriber row: topics comma-separated (as before), the other
/// lists one item a line, days as a bit mask, hour and score as numbers, nulls for "default".
/// Settable properties so Dapper can fill it from any query that names these columns; a row type
/// that reads more columns derives from it, so the mapping stands once.
/// </summary>
public class PreferenceColumns
{
    public string Topics { get; set; } = "";
    public string Keywords { get; set; } = "";
    public string ExcludeKeywords { get; set; } = "";
    public string Authors { get; set; } = "";
    public long? MinScore { get; set; }
    public string? TimeZone { get; set; }
    public long? SendHour { get; set; }
    public long? Weekdays { get; set; }
    public string Cadence { get; set; } = "daily";
    public long? WeeklyDay { get; set; }
    public string Ranking { get; set; } = "auto";
    public double? MinRelevance { get; set; }

    public static PreferenceColumns From(Preferences preferences) => new()
    {
        Topics = string.Join(',', preferences.Topics),
        Keywords = string.Join('\n', preferences.Keywords),
        ExcludeKeywords = string.Join('\n', preferences.Exclude),
        Authors = string.Join('\n', preferences.Authors),
        MinScore = preferences.MinScore,
        TimeZone = preferences.TimeZone,
        SendHour = preferences.SendHour,
        Weekdays = preferences.Days?.Mask,
        Cadence = preferences.Cadence == Model.Cadence.Weekly ? "weekly" : "daily",
        WeeklyDay = preferences.WeeklyDay is { } day ? (int)day : null,
        Ranking = preferences.Ranking.ToString().ToLowerInvariant(),
        MinRelevance = preferences.MinRelevance,
    };

    public Preferences ToPreferences() => new()
    {
        Topics = Split(Topics, ','),
        Keywords = Split(Keywords, '\n'),
        Exclude = Split(ExcludeKeywords, '\n'),
        Authors = Split(Authors, '\n'),
        MinScore = MinScore is > 0 ? (int)MinScore : null,
        TimeZone = string.IsNullOrEmpty(TimeZone) ? null : TimeZone,
        SendHour = SendHour is >= 0 and <= 23 ? (int)SendHour : null,
        Days = Weekdays is > 0 and < Model.Weekdays.All ? new Weekdays((int)Weekdays) : null,
        Cadence = Cadence == "weekly" ? Model.Cadence.Weekly : Model.Cadence.Daily,
        WeeklyDay = WeeklyDay is >= 0 and <= 6 ? (DayOfWeek)WeeklyDay : null,
        Ranking = Ranking switch { "learned" => RankingMode.Learned, "score" => RankingMode.Score, _ => RankingMode.Auto },
        MinRelevance = MinRelevance is > 0 and <= 1 ? MinRelevance : null,
    };

    private static string[] Split(string text, char separator) =>
        text.Length == 0 ? [] : text.Split(separator, StringSplitOptions.RemoveEmptyEntries);
}
