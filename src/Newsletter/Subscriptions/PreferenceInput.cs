using System.Text;

namespace Newsletter.Subscriptions;

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
    public string? Ranking { get; init; }
    public string? MinRelevance { get; init; }

    public bool IsEmpty => this == new PreferenceInput();

    /// <summary>The field names of the contract, as JSON and CSV spell them.</summary>
    public static readonly string[] FieldNames = ["topics", "keywords", "exclude", "authors", "minScore", "timeZone", "sendHour", "weekdays", "cadence", "weeklyDay", "ranking", "minRelevance"];

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
        Ranking = field("ranking"),
        MinRelevance = field("minRelevance"),
    };
}

