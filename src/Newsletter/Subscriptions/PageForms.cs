using System.Globalization;
using Newsletter.Model;
using Scriban.Runtime;

namespace Newsletter.Subscriptions;

/// <summary>
/// The preference fields of the subscribe and preferences forms as the page shows them: the stored
/// values, or after a refused post exactly what the reader typed (a mistyped zone must not throw
/// away their other edits), with each refusal beside its field and in a summary. The messages are
/// the parser's own, so the form and the JSON endpoints refuse the same input with the same words.
/// </summary>
internal static class PageForms
{
    /// <summary>The fields in the order the pages show them: JSON/form name, template name, label (null: the message says it all).</summary>
    private static readonly (string Field, string Name, string? Label)[] Fields =
    [
        ("email", "email", null),
        ("topics", "topics", "Topics"),
        ("keywords", "keywords", "Keywords"),
        ("exclude", "exclude", "Exclude"),
        ("authors", "authors", "Authors"),
        ("minScore", "min_score", "Minimum score"),
        ("cadence", "cadence", "Cadence"),
        ("weekdays", "weekdays", "Days"),
        ("weeklyDay", "weekly_day", "Weekly day"),
        ("sendHour", "send_hour", "Hour"),
        ("timeZone", "time_zone", "Time zone"),
        ("ranking", "ranking", "Order"),
        ("minRelevance", "min_relevance", "Minimum relevance"),
        ("likes", "likes", "Papers you like"),
    ];

    private static readonly IReadOnlyDictionary<string, string> NoProblems = new Dictionary<string, string>();

    /// <summary>Problems in page order (unknown fields last).</summary>
    private static IEnumerable<KeyValuePair<string, string>> Ordered(IReadOnlyDictionary<string, string> problems) =>
        problems.OrderBy(p => Position(p.Key)).ThenBy(p => p.Key, StringComparer.Ordinal);

    private static int Position(string field)
    {
        var at = Array.FindIndex(Fields, f => f.Field == field);
        return at < 0 ? Fields.Length : at;
    }

    /// <summary>One sentence per refused field, each naming it: <c>Time zone: 'Mars/Base' is not a known IANA time zone ...</c>.</summary>
    public static string Summary(IReadOnlyDictionary<string, string> problems) =>
        string.Join(" ", Ordered(problems).Select(p => Array.Find(Fields, f => f.Field == p.Key) is { Label: { } label } ? $"{label}: {p.Value}" : p.Value));

    /// <summary>
    /// What a page needs to mark refused fields: <c>errors.NAME</c> for every field (empty when
    /// fine, so a template never meets an unknown member), <c>focus</c> (the first refused field,
    /// which gets <c>autofocus</c>) and <c>error</c> (the summary).
    /// </summary>
    public static void AddErrors(ScriptObject model, IReadOnlyDictionary<string, string>? problems, string notice = "")
    {
        problems ??= NoProblems;
        var errors = new ScriptObject();
        foreach (var (field, name, _) in Fields)
            errors[name] = problems.TryGetValue(field, out var message) ? message : "";
        model["errors"] = errors;
        model["focus"] = Ordered(problems).Select(p => p.Key).FirstOrDefault() ?? "";
        model["error"] = string.Join(" ", new[] { notice, Summary(problems) }.Where(part => part.Length > 0));
    }

    /// <summary>
    /// The preference values the form shows: <paramref name="typed"/> as it was posted where it has
    /// a field, else <paramref name="stored"/> (the subscribe page's stored value is "nothing set").
    /// </summary>
    public static void AddPreferences(ScriptObject model, Preferences stored, IFormCollection? typed)
    {
        string Text(string field, string storedText) => typed is not null && typed.TryGetValue(field, out var value) ? value.ToString() : storedText;
        var topics = Text("topics", string.Join(", ", stored.Topics));
        model["topics"] = new ScriptArray(PreferenceParser.SplitList(topics));
        model["topics_text"] = topics;
        model["keywords_text"] = Text("keywords", PreferenceParser.JoinList(stored.Keywords, quotePhrases: true));
        model["exclude_text"] = Text("exclude", PreferenceParser.JoinList(stored.Exclude, quotePhrases: true));
        model["authors_text"] = Text("authors", PreferenceParser.JoinList(stored.Authors));
        model["min_score"] = Text("minScore", stored.MinScore?.ToString(CultureInfo.InvariantCulture) ?? "");
        model["time_zone"] = Text("timeZone", stored.TimeZone ?? "");
        model["send_hour"] = Text("sendHour", stored.SendHour?.ToString(CultureInfo.InvariantCulture) ?? "");
        model["weekly_day"] = Text("weeklyDay", Weekdays.Name(stored.EffectiveWeeklyDay));
        var ranking = Text("ranking", "").Trim().ToLowerInvariant();
        model["ranking"] = ranking is "auto" or "learned" or "score" ? ranking : stored.Ranking.ToString().ToLowerInvariant();
        model["min_relevance"] = Text("minRelevance", stored.MinRelevance?.ToString(CultureInfo.InvariantCulture) ?? "");
        model["likes_text"] = Text("likes", "");
        var cadence = Text("cadence", "").Trim().ToLowerInvariant();
        model["cadence"] = cadence is "daily" or "weekly" ? cadence : stored.Cadence == Cadence.Weekly ? "weekly" : "daily";
        // The page's day checkboxes: a posted form (it always has "cadence") says which were ticked, none included.
        var storedDays = stored.Days ?? new Weekdays(Weekdays.All);
        var tickedDays = typed is not null && typed.ContainsKey("cadence") ? typed["weekdays"].Select(d => d ?? "").ToHashSet(StringComparer.OrdinalIgnoreCase) : null;
        model["weekdays"] = new ScriptArray(Week.Select(day => new ScriptObject
        {
            ["name"] = Weekdays.Name(day),
            ["checked"] = tickedDays?.Contains(Weekdays.Name(day)) ?? storedDays.Contains(day),
        }));
        model["days"] = new ScriptArray(Week.Select(Weekdays.Name));
        model["hours"] = new ScriptArray(Enumerable.Range(0, 24).Select(h => h.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>Monday first, as people write a week.</summary>
    private static IEnumerable<DayOfWeek> Week => Enumerable.Range(1, 7).Select(i => (DayOfWeek)(i % 7));
}
