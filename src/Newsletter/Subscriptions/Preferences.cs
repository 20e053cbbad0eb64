using System.Globalization;
using System.Text;

namespace Newsletter.Subscriptions;

/// <summary>
/// What a reader asked for (topics, keywords, exclusions, followed authors, a minimum score) and
/// when (time zone, local send hour, weekdays, cadence). Empty lists and nulls mean "as the
/// operator configured": everything, every day, at the hour of <c>Schedule:Digest</c>.
/// </summary>
public sealed record Preferences
{
    public const int MaxItems = 20;
    public const int MaxTopicLength = 50;
    public const int MaxTermLength = 100;

    public IReadOnlyList<string> Topics { get; init; } = [];
    public IReadOnlyList<string> Keywords { get; init; } = [];
    public IReadOnlyList<string> Exclude { get; init; } = [];
    public IReadOnlyList<string> Authors { get; init; } = [];
    public int? MinScore { get; init; }
    public string? TimeZone { get; init; }
    public int? SendHour { get; init; }

    /// <summary>Null: every day.</summary>
    public Weekdays? Days { get; init; }

    public Cadence Cadence { get; init; } = Cadence.Daily;

    /// <summary>The day of a weekly digest; null: Sunday.</summary>
    public DayOfWeek? WeeklyDay { get; init; }

    public static Preferences None { get; } = new();

    /// <summary>No filter: the reader gets every paper, as before preferences existed.</summary>
    public bool FiltersNothing => Topics.Count == 0 && Keywords.Count == 0 && Exclude.Count == 0 && Authors.Count == 0 && MinScore is null or 0;

    public DayOfWeek EffectiveWeeklyDay => WeeklyDay ?? DayOfWeek.Sunday;

    /// <summary>Whether a digest of <paramref name="date"/> is one this reader wants.</summary>
    public bool WantsDigestOn(DateOnly date) => Cadence == Cadence.Weekly
        ? date.DayOfWeek == EffectiveWeeklyDay
        : Days is not { } days || days.Contains(date.DayOfWeek);

    /// <summary>Which of the content preferences this value sets, as a stable text (readers with the same one see the same papers).</summary>
    public string ContentKey() => string.Join('\u001f',
        Join(Topics.Select(t => t.ToLowerInvariant()).Order(StringComparer.Ordinal)),
        Join(Keywords.Select(t => t.ToLowerInvariant()).Order(StringComparer.Ordinal)),
        Join(Exclude.Select(t => t.ToLowerInvariant()).Order(StringComparer.Ordinal)),
        Join(Authors.Select(t => t.ToLowerInvariant()).Order(StringComparer.Ordinal)),
        MinScore?.ToString(CultureInfo.InvariantCulture) ?? "");

    private static string Join(IEnumerable<string> values) => string.Join('\u001e', values);
}

public enum Cadence { Daily, Weekly }

/// <summary>A set of weekdays, stored as a bit mask (Sunday = bit 0, as <see cref="DayOfWeek"/>).</summary>
public readonly record struct Weekdays(int Mask)
{
    public const int All = 0x7f;

    public bool Contains(DayOfWeek day) => (Mask & (1 << (int)day)) != 0;

    private static readonly string[] Names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    public static string Name(DayOfWeek day) => Names[(int)day];

    /// <summary>Mon, Tue, ... (Monday first, as people write them).</summary>
    public IEnumerable<string> DayNames()
    {
        var mask = Mask;
        return Enumerable.Range(1, 7).Select(i => i % 7).Where(i => (mask & (1 << i)) != 0).Select(i => Names[i]);
    }

    public override string ToString() => Mask == All ? "all" : string.Join(',', DayNames());

    public static bool TryParseDay(string? text, out DayOfWeek day)
    {
        day = default;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var value = text.Trim();
        for (var i = 0; i < 7; i++)
        {
            var full = ((DayOfWeek)i).ToString();
            if (value.Equals(Names[i], StringComparison.OrdinalIgnoreCase) || value.Equals(full, StringComparison.OrdinalIgnoreCase)
                || (value.Length >= 2 && full.StartsWith(value, StringComparison.OrdinalIgnoreCase) && value.Length <= 3 && IsUniquePrefix(value)))
            {
                day = (DayOfWeek)i;
                return true;
            }
        }
        return false;
    }

    private static bool IsUniquePrefix(string value) =>
        Enum.GetNames<DayOfWeek>().Count(n => n.StartsWith(value, StringComparison.OrdinalIgnoreCase)) == 1;

    /// <summary><c>all</c>, <c>Mon-Fri</c> (ranges may wrap: <c>Fri-Mon</c>), <c>Mon,Wed,Fri</c>, or a mix.</summary>
    public static bool TryParse(IEnumerable<string> parts, out Weekdays days, out string problem)
    {
        var mask = 0;
        days = default;
        problem = "";
        foreach (var raw in parts.SelectMany(p => p.Split(',')).Select(p => p.Trim()).Where(p => p.Length > 0))
        {
            if (raw.Equals("all", StringComparison.OrdinalIgnoreCase) || raw.Equals("every day", StringComparison.OrdinalIgnoreCase))
            {
                mask = All;
                continue;
            }
            var dash = raw.IndexOf('-');
            if (dash > 0)
            {
                if (!TryParseDay(raw[..dash], out var from) || !TryParseDay(raw[(dash + 1)..], out var to))
                {
                    problem = $"'{raw}' is not a range of days such as Mon-Fri.";
                    return false;
                }
                for (var d = (int)from; ; d = (d + 1) % 7)
                {
                    mask |= 1 << d;
                    if (d == (int)to) break;
                }
                continue;
            }
            if (!TryParseDay(raw, out var day))
            {
                problem = $"'{raw}' is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun, a range such as Mon-Fri, or all.";
                return false;
            }
            mask |= 1 << (int)day;
        }
        if (mask == 0)
        {
            problem = "names no day; use e.g. Mon-Fri, Mon,Wed,Fri or all.";
            return false;
        }
        days = new Weekdays(mask);
        return true;
    }
}

/// <summary>
/// One change to a reader's preferences, as it arrives (CLI options, JSON fields, CSV columns,
/// form fields): each field null when not given, so an update touches only what it names.
/// Text forms follow the contract: lists comma-separated with "quoted phrases", weekdays
/// <c>Mon-Fri</c>, <c>Mon,Wed,Fri</c> or <c>all</c>; an empty text clears a field.
/// </summary>
public sealed record PreferenceInput
{
    public IReadOnlyList<string>? Topics { get; init; }
    public IReadOnlyList<string>? Keywords { get; init; }
    public IReadOnlyList<string>? Exclude { get; init; }
    public IReadOnlyList<string>? Authors { get; init; }
    public string? MinScore { get; init; }
    public string? TimeZone { get; init; }
    public string? SendHour { get; init; }
    public IReadOnlyList<string>? Weekdays { get; init; }
    public string? Cadence { get; init; }
    public string? WeeklyDay { get; init; }

    public bool IsEmpty => this == new PreferenceInput();

    /// <summary>The field names of the contract, as JSON and CSV spell them.</summary>
    public static readonly string[] FieldNames = ["topics", "keywords", "exclude", "authors", "minScore", "timeZone", "sendHour", "weekdays", "cadence", "weeklyDay"];

    /// <summary>Builds an input from text fields (CSV cells, form fields, CLI options); a missing field is null.</summary>
    public static PreferenceInput FromText(Func<string, string?> field) => new()
    {
        Topics = field("topics") is { } topics ? PreferenceParser.SplitList(topics) : null,
        Keywords = field("keywords") is { } keywords ? PreferenceParser.SplitList(keywords) : null,
        Exclude = field("exclude") is { } exclude ? PreferenceParser.SplitList(exclude) : null,
        Authors = field("authors") is { } authors ? PreferenceParser.SplitList(authors) : null,
        MinScore = field("minScore"),
        TimeZone = field("timeZone"),
        SendHour = field("sendHour"),
        Weekdays = field("weekdays") is { } weekdays ? [weekdays] : null,
        Cadence = field("cadence"),
        WeeklyDay = field("weeklyDay"),
    };
}

/// <summary>Validates preference input against the current value; every problem is named by its field.</summary>
public static class PreferenceParser
{
    /// <summary>
    /// Splits <c>diffusion, "large language", "a, b"</c> into terms: commas separate, double quotes
    /// make a phrase (and may hold commas).
    /// </summary>
    public static IReadOnlyList<string> SplitList(string text)
    {
        var items = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        foreach (var c in text)
        {
            if (c == '"')
                quoted = !quoted;
            else if (c == ',' && !quoted)
            {
                items.Add(current.ToString());
                current.Clear();
            }
            else
                current.Append(c);
        }
        items.Add(current.ToString());
        return items.Select(i => i.Trim()).Where(i => i.Length > 0).ToList();
    }

    /// <summary>A list as one text that <see cref="SplitList"/> reads back (phrases with commas or quotes get quoted).</summary>
    public static string JoinList(IEnumerable<string> items, bool quotePhrases = false) =>
        string.Join(", ", items.Select(i => i.Contains(',') || (quotePhrases && i.Contains(' ')) ? $"\"{i}\"" : i));

    /// <summary>Applies <paramref name="input"/> to <paramref name="current"/>; false with one sentence per bad field.</summary>
    public static bool TryApply(Preferences current, PreferenceInput input, out Preferences result, out IReadOnlyDictionary<string, string> problems)
    {
        var errors = new Dictionary<string, string>();
        var next = current;
        if (input.Topics is { } topics)
            next = next with { Topics = Clean(topics, "topics", Preferences.MaxTopicLength, errors, topic: true) };
        if (input.Keywords is { } keywords)
            next = next with { Keywords = Clean(keywords, "keywords", Preferences.MaxTermLength, errors) };
        if (input.Exclude is { } exclude)
            next = next with { Exclude = Clean(exclude, "exclude", Preferences.MaxTermLength, errors) };
        if (input.Authors is { } authors)
            next = next with { Authors = Clean(authors, "authors", Preferences.MaxTermLength, errors) };
        if (input.MinScore is { } minScore)
        {
            if (minScore.Trim().Length == 0)
                next = next with { MinScore = null };
            else if (int.TryParse(minScore.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var score) && score <= 1_000_000)
                next = next with { MinScore = score == 0 ? null : score };
            else
                errors["minScore"] = $"must be a whole number from 0 to 1000000; got '{minScore}'.";
        }
        if (input.TimeZone is { } zone)
        {
            if (zone.Trim().Length == 0)
                next = next with { TimeZone = null };
            else if (TryZone(zone.Trim(), out var id))
                next = next with { TimeZone = id };
            else
                errors["timeZone"] = $"'{Shorten(zone)}' is not a known IANA time zone (such as Europe/Berlin or Asia/Tokyo).";
        }
        if (input.SendHour is { } hour)
        {
            if (hour.Trim().Length == 0)
                next = next with { SendHour = null };
            else if (int.TryParse(hour.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var h) && h is >= 0 and <= 23)
                next = next with { SendHour = h };
            else
                errors["sendHour"] = $"must be an hour from 0 to 23; got '{Shorten(hour)}'.";
        }
        if (input.Weekdays is { } weekdays)
        {
            if (weekdays.All(string.IsNullOrWhiteSpace))
                next = next with { Days = null };
            else if (Weekdays.TryParse(weekdays, out var days, out var problem))
                next = next with { Days = days.Mask == Weekdays.All ? null : days };
            else
                errors["weekdays"] = problem;
        }
        if (input.Cadence is { } cadence)
        {
            if (cadence.Trim().Length == 0 || cadence.Trim().Equals("daily", StringComparison.OrdinalIgnoreCase))
                next = next with { Cadence = Cadence.Daily };
            else if (cadence.Trim().Equals("weekly", StringComparison.OrdinalIgnoreCase))
                next = next with { Cadence = Cadence.Weekly };
            else
                errors["cadence"] = $"must be daily or weekly; got '{Shorten(cadence)}'.";
        }
        if (input.WeeklyDay is { } weeklyDay)
        {
            if (weeklyDay.Trim().Length == 0)
                next = next with { WeeklyDay = null };
            else if (Weekdays.TryParseDay(weeklyDay, out var day))
                next = next with { WeeklyDay = day };
            else
                errors["weeklyDay"] = $"'{Shorten(weeklyDay)}' is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun.";
        }
        result = errors.Count == 0 ? next : current;
        problems = errors;
        return errors.Count == 0;
    }

    /// <summary>An IANA zone id (Windows ids are accepted and turned into IANA ones).</summary>
    public static bool TryZone(string text, out string id)
    {
        id = "";
        if (text.Length > 64 || !TimeZoneInfo.TryFindSystemTimeZoneById(text, out var zone))
            return false;
        id = zone.HasIanaId ? zone.Id : TimeZoneInfo.TryConvertWindowsIdToIanaId(zone.Id, out var iana) ? iana : zone.Id;
        return true;
    }

    private static List<string> Clean(IEnumerable<string> values, string field, int maxLength, Dictionary<string, string> errors, bool topic = false)
    {
        var list = new List<string>();
        foreach (var raw in values)
        {
            // Control characters and quotes never belong in a term; whitespace runs become one space.
            var value = string.Join(' ', new string((raw ?? "").Select(c => char.IsControl(c) || c == '"' ? ' ' : c).ToArray())
                .Split(' ', StringSplitOptions.RemoveEmptyEntries));
            if (value.Length == 0)
                continue;
            if (value.Length > maxLength)
            {
                errors[field] = $"'{Shorten(value)}' is longer than {maxLength} characters.";
                continue;
            }
            if (topic && !value.All(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' or ' '))
            {
                errors[field] = $"'{Shorten(value)}' is not an arXiv category (such as cs.LG) or a source name.";
                continue;
            }
            if (!list.Contains(value, StringComparer.OrdinalIgnoreCase))
                list.Add(value);
        }
        if (list.Count > Preferences.MaxItems)
            errors[field] = $"has {list.Count} entries; at most {Preferences.MaxItems} are allowed.";
        return list;
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "...";
}

/// <summary>The defaults a reader without a time zone or hour gets, for pages to show (from <c>Schedule</c>).</summary>
public sealed class ScheduleDefaults
{
    public string TimeZone { get; set; } = "UTC";
    public int SendHour { get; set; } = 7;
}
