using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Newsletter.Model;

namespace Newsletter.Issues;

/// <summary>
/// One reader's content preferences, compiled once per preference group. A paper is in when it is
/// by a followed author, or when it is in one of the topics (if any are given) and matches one of
/// the keywords (if any are given); then nothing excluded may match, and its score must reach the
/// minimum (papers of followed authors are exempt from the minimum: the reader asked for them).
/// Keywords and exclusions match title or abstract as whole words or phrases; names and words are
/// compared as <see cref="MatchText"/> folds them (Unicode form, Latin accents, case), on the paper's
/// whole author list.
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
        _authors = preferences.Authors.Select(MatchText.Name).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// A paper's text as <see cref="MatchText"/> folds it, made once per paper however many reader groups
    /// look at it in one compose (the papers are the same objects for every group), and dropped with it.
    /// </summary>
    private static readonly ConditionalWeakTable<CandidatePaper, FoldedPaper> Folded = new();

    private sealed class FoldedPaper(CandidatePaper paper)
    {
        // Benign races: two threads may fold the same text; both get the same value.
        private string? _title;
        private string? _summary;
        private string[]? _names;

        public string Title => _title ??= MatchText.Fold(paper.Title);
        public string Summary => _summary ??= MatchText.Fold(paper.Summary);
        public string[] Names => _names ??= paper.Authors.Select(MatchText.Name).ToArray();
    }

    public bool FiltersNothing => _preferences.FiltersNothing;

    /// <summary>
    /// A whole word or phrase of folded text: not inside a longer word (a combining mark belongs to its
    /// letter), any run of spaces between the words. Both sides are folded, so no case-insensitive matching.
    /// </summary>
    private static Regex Phrase(string term) => new(
        @"(?<![\p{L}\p{M}\p{N}_])" + string.Join(@"\s+", MatchText.Words(term).Select(Regex.Escape)) + @"(?![\p{L}\p{M}\p{N}_])",
        RegexOptions.CultureInvariant, MatchTimeout);

    /// <summary>Whether the paper is in; <paramref name="why"/> says why in a few words ("" for a reader without filters).</summary>
    public bool Matches(CandidatePaper paper, out string why)
    {
        why = "";
        if (FiltersNothing)
            return true;

        var author = _authors.Count == 0 ? null : FollowedAuthor(paper);
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

    /// <summary>The first followed author on the paper's whole list, as the feed wrote the name.</summary>
    private string? FollowedAuthor(CandidatePaper paper)
    {
        var names = Folded.GetValue(paper, p => new FoldedPaper(p)).Names;
        for (var i = 0; i < names.Length; i++)
            if (_authors.Contains(names[i]))
                return paper.Authors[i];
        return null;
    }

    private static bool Found(Regex pattern, CandidatePaper paper)
    {
        var folded = Folded.GetValue(paper, p => new FoldedPaper(p));
        try
        {
            return pattern.IsMatch(folded.Title) || pattern.IsMatch(folded.Summary);
        }
        catch (RegexMatchTimeoutException)
        {
            return false; // an abstract built to be slow matches nothing rather than stalling every reader
        }
    }
}
