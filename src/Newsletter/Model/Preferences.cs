using System.Globalization;

namespace Newsletter.Model;

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

    /// <summary>How the digest is ordered: learned from the reader's votes (auto: once there is one), or by score.</summary>
    public RankingMode Ranking { get; init; } = RankingMode.Auto;

    /// <summary>Learned ranking only: papers whose relevance (cosine similarity to what the reader liked, 0–1) is below it are left out and counted.</summary>
    public double? MinRelevance { get; init; }

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
        MinScore?.ToString(CultureInfo.InvariantCulture) ?? "",
        Ranking.ToString(),
        MinRelevance?.ToString(CultureInfo.InvariantCulture) ?? "");

    private static string Join(IEnumerable<string> values) => string.Join('\u001e', values);
}

public enum Cadence { Daily, Weekly }

/// <summary><c>auto</c>: learned once the reader has a vote or a seed, else by score; <c>learned</c>; <c>score</c> (as before learning).</summary>
public enum RankingMode { Auto, Learned, Score }

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
