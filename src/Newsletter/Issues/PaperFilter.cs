using System.Globalization;
using System.Text.RegularExpressions;
using Newsletter.Model;

namespace Newsletter.Issues;

/// <summary>
/// One reader's content preferences, compiled once per preference group. A paper is in when it is
/// by a followed author, or when it is in one of the topics (if any are given) and matches one of
/// the keywords (if any are given); then nothing excluded may match, and its score must reach the
/// minimum (papers of followed authors are exempt from the minimum: the reader asked for them).
/// Keywords and exclusions match title or abstract as whole words or phrases, ignoring case.
/// </summary>
public sealed class PaperFilter
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(200);

    private readonly Preferences _preferences;
    private readonly (string Term, Regex Pattern)[] _keywords;
    private readonly Regex[] _exclude;
    private readonly HashSet<string> _authors;

    public PaperFilter(Preferences preferences)
    {
        _preferences = preferences;
        _keywords = preferences.Keywords.Select(k => (k, Phrase(k))).ToArray();
        _exclude = preferences.Exclude.Select(Phrase).ToArray();
        _authors = preferences.Authors.Select(NormaliseName).ToHashSet(StringComparer.Ordinal);
    }

    public bool FiltersNothing => _preferences.FiltersNothing;

    /// <summary>A whole word or phrase: not inside a longer word, any run of spaces between the words.</summary>
    private static Regex Phrase(string term) => new(
        @"(?<![\p{L}\p{N}_])" + string.Join(@"\s+", term.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Regex.Escape)) + @"(?![\p{L}\p{N}_])",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeout);

    private static string NormaliseName(string name) =>
        string.Join(' ', name.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();

    /// <summary>Whether the paper is in; <paramref name="why"/> says why in a few words ("" for a reader without filters).</summary>
    public bool Matches(CandidatePaper paper, out string why)
    {
        why = "";
        if (FiltersNothing)
            return true;

        var author = _authors.Count == 0 ? null : paper.Authors.FirstOrDefault(a => _authors.Contains(NormaliseName(a)));
        string? topic = null;
        string? keyword = null;
        var interest = _preferences.Topics.Count > 0 || _keywords.Length > 0;
        var inByInterest = false;
        if (interest)
        {
            topic = _preferences.Topics.Count == 0 ? "" : MatchTopic(paper);
            keyword = _keywords.Length == 0 ? "" : MatchKeyword(paper);
            inByInterest = topic is not null && keyword is not null;
        }
        else if (_authors.Count == 0)
        {
            inByInterest = true; // only exclusions or a minimum score: everything else is in
        }
        if (author is null && !inByInterest)
            return false;
        if (_exclude.Any(pattern => Found(pattern, paper)))
            return false;
        if (author is null && _preferences.MinScore is { } minimum && paper.Score < minimum)
            return false;

        var parts = new List<string>(3);
        if (author is not null)
            parts.Add("by " + author);
        if (inByInterest && !string.IsNullOrEmpty(keyword))
            parts.Add($"matches \u201c{keyword}\u201d");
        if (inByInterest && !string.IsNullOrEmpty(topic))
            parts.Add(topic);
        var reason = string.Join(", ", parts);
        if (paper.Score > 0)
            reason = reason.Length == 0 ? Upvotes(paper.Score) : reason + " \u00b7 " + Upvotes(paper.Score);
        why = reason;
        return true;
    }

    private static string Upvotes(int score) => score == 1 ? "1 upvote" : score.ToString("N0", CultureInfo.InvariantCulture) + " upvotes";

    /// <summary>"in cs.CV" for a category (an archive such as <c>cs</c> covers its categories), "from NAME" for a source.</summary>
    private string? MatchTopic(CandidatePaper paper)
    {
        foreach (var topic in _preferences.Topics)
        {
            var category = paper.Categories.FirstOrDefault(c => c.Equals(topic, StringComparison.OrdinalIgnoreCase)
                || (!topic.Contains('.') && c.StartsWith(topic + ".", StringComparison.OrdinalIgnoreCase)));
            if (category is not null)
                return "in " + category;
            var source = paper.Sources.FirstOrDefault(s => s.Equals(topic, StringComparison.OrdinalIgnoreCase));
            if (source is not null)
                return "from " + source;
        }
        return null;
    }

    private string? MatchKeyword(CandidatePaper paper)
    {
        foreach (var (term, pattern) in _keywords)
            if (Found(pattern, paper))
                return term;
        return null;
    }

    private static bool Found(Regex pattern, CandidatePaper paper)
    {
        try
        {
            return pattern.IsMatch(paper.Title) || pattern.IsMatch(paper.Summary);
        }
        catch (RegexMatchTimeoutException)
        {
            return false; // an abstract built to be slow matches nothing rather than stalling every reader
        }
    }
}
