using System.Globalization;
using System.Text;
using Newsletter.Configuration;
using Newsletter.Model;

namespace Newsletter.Subscriptions;

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

    /// <summary>
    /// Applies <paramref name="input"/> to <paramref name="current"/>; false with one sentence per bad
    /// field (the sentence leaves the field's name to the caller: <c>--time-zone</c>, <c>timeZone</c>, "Time zone").
    /// Topics are only checked for their shape here: this is for input already checked against the
    /// <see cref="TopicCatalog"/>, applied again.
    /// </summary>
    public static bool TryApply(Preferences current, PreferenceInput input, out Preferences result, out IReadOnlyDictionary<string, string> problems) =>
        TryApply(current, input, null, out result, out problems);

    /// <summary>As typed by someone: every topic must also be in <paramref name="topics"/> (an arXiv category or a configured source).</summary>
    public static bool TryApply(Preferences current, PreferenceInput input, TopicCatalog? topics, out Preferences result, out IReadOnlyDictionary<string, string> problems)
    {
        var errors = new Dictionary<string, string>();
        var next = current;
        if (input.Topics is { } typedTopics)
            next = next with { Topics = Clean(typedTopics, "topics", Preferences.MaxTopicLength, errors, topics is null ? ShapeOnly : topics.Problem) };
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
                errors["minScore"] = $"'{Shorten(minScore)}' is not a whole number from 0 to 1000000 (e.g. 10).";
        }
        if (input.TimeZone is { } zone)
        {
            if (zone.Trim().Length == 0)
                next = next with { TimeZone = null };
            else if (TryZone(zone.Trim(), out var id))
                next = next with { TimeZone = id };
            else
                errors["timeZone"] = ZoneProblem(zone.Trim());
        }
        if (input.SendHour is { } hour)
        {
            if (hour.Trim().Length == 0)
                next = next with { SendHour = null };
            else if (int.TryParse(hour.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var h) && h is >= 0 and <= 23)
                next = next with { SendHour = h };
            else
                errors["sendHour"] = $"'{Shorten(hour)}' is not an hour from 0 to 23 (e.g. 8 for 08:00).";
        }
        if (input.Weekdays is { } weekdays)
        {
            if (weekdays.All(string.IsNullOrWhiteSpace))
                next = next with { Days = null };
            else if (Weekdays.TryParse(weekdays, out var days, out var problem))
                next = next with { Days = days.Mask == Weekdays.All ? null : days };
            else
                // The days' own sentence quotes what was typed: made visible as every other field's is.
                errors["weekdays"] = Visible(problem);
        }
        if (input.Cadence is { } cadence)
        {
            if (cadence.Trim().Length == 0 || cadence.Trim().Equals("daily", StringComparison.OrdinalIgnoreCase))
                next = next with { Cadence = Cadence.Daily };
            else if (cadence.Trim().Equals("weekly", StringComparison.OrdinalIgnoreCase))
                next = next with { Cadence = Cadence.Weekly };
            else
                errors["cadence"] = $"'{Shorten(cadence)}' is neither daily nor weekly.";
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
        if (input.Ranking is { } ranking)
        {
            var word = ranking.Trim().ToLowerInvariant();
            if (word is "" or "auto")
                next = next with { Ranking = RankingMode.Auto };
            else if (word == "learned")
                next = next with { Ranking = RankingMode.Learned };
            else if (word == "score")
                next = next with { Ranking = RankingMode.Score };
            else
                errors["ranking"] = $"'{Shorten(ranking)}' is not auto, learned or score.";
        }
        if (input.MinRelevance is { } relevance)
        {
            if (relevance.Trim().Length == 0)
                next = next with { MinRelevance = null };
            else if (double.TryParse(relevance.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 1)
                next = next with { MinRelevance = value == 0 ? null : value };
            else
                errors["minRelevance"] = $"'{Shorten(relevance)}' is not a number from 0 to 1 (e.g. 0.3).";
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

    /// <summary>A topic's shape without a catalog: letters, digits and <c>. - _</c>, as categories and source names are written.</summary>
    private static readonly Func<string, string?> ShapeOnly = value =>
        value.All(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' or ' ') ? null : $"'{Shorten(value)}' is not an arXiv category (such as cs.LG) or a source name.";

    private static List<string> Clean(IEnumerable<string> values, string field, int maxLength, Dictionary<string, string> errors, Func<string, string?>? topic = null)
    {
        var list = new List<string>();
        // Every bad value of a list is named, not only the last one.
        void Refuse(string problem) => errors[field] = errors.TryGetValue(field, out var earlier) ? earlier + " " + problem : problem;
        foreach (var raw in values)
        {
            // Control characters and quotes never belong in a term; whitespace runs become one space.
            var value = string.Join(' ', new string((raw ?? "").Select(c => char.IsControl(c) || c == '"' ? ' ' : c).ToArray())
                .Split(' ', StringSplitOptions.RemoveEmptyEntries));
            if (value.Length == 0)
                continue;
            if (value.Length > maxLength)
            {
                Refuse($"'{Shorten(value)}' is longer than {maxLength} characters.");
                continue;
            }
            if (topic?.Invoke(value) is { } problem)
            {
                Refuse(problem);
                continue;
            }
            if (!list.Contains(value, StringComparer.OrdinalIgnoreCase))
                list.Add(value);
        }
        if (list.Count > Preferences.MaxItems)
            errors[field] = $"{list.Count} entries are too many; at most {Preferences.MaxItems} are allowed.";
        return list;
    }

    /// <summary>The sentence for an unknown zone, with the nearest zone id when one is a typo away (<c>Europe/Berln</c>).</summary>
    private static string ZoneProblem(string zone)
    {
        // Zone ids are long and alike: a typo or two is a suggestion, a third of the name is another city.
        var nearest = zone.Length <= 64
            ? Suggestions.Nearest(zone, TimeZoneInfo.GetSystemTimeZones().Where(z => z.HasIanaId).Select(z => z.Id), maxDistance: 2)
            : null;
        return nearest is null
            ? $"'{Shorten(zone)}' is not a known IANA time zone (e.g. Europe/Berlin)."
            : $"'{Shorten(zone)}' is not a known IANA time zone; did you mean '{nearest}'?";
    }

    /// <summary>
    /// The value as a message may quote it: at most 60 characters, control characters written as
    /// <c>\u0000</c> (a page, a JSON reader and a terminal would drop or obey them, and
    /// "'Asia/Tokyo' is not a known time zone" would make no sense).
    /// </summary>
    private static string Visible(string text) => string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));

    private static string Shorten(string text)
    {
        var visible = Visible(text);
        return visible.Length <= 60 ? visible : visible[..60] + "...";
    }
}

