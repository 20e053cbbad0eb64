using System.Data.Common;
using Dapper;
using Newsletter.Model;

namespace Newsletter.Issues;

/// <summary>
/// Each reader's own order, learned from their votes ("more / less like this", seed papers) on the papers'
/// sentence embeddings. A reader's model is their examples: a paper's relevance is its cosine similarity to the
/// closest paper they liked, less half its similarity to the closest one they disliked, plus
/// <see cref="FilterBonus"/> when a followed author or a keyword brought it in (the reader named those, so they
/// count as liked). Nearest example rather than a centroid: a reader of two fields is not averaged into neither,
/// and the closest liked paper is the reason the why line gives (<c>like “TITLE”</c>).
/// </summary>
/// <remarks>
/// Filters still decide what may be in; this decides the order (and so who is in full and who under "More
/// papers"), and with <c>minRelevance</c> what is left out (counted). A paper without an embedding (not embedded
/// yet, or the model is off) is served unranked: after the ranked ones, by score. Cost: every paper of the compose
/// is compared once with every voted paper (P × E dot products of 384), then each reader only looks those up:
/// readers × papers × their own votes, with no vector arithmetic per reader.
/// </remarks>
internal sealed class LearnedRanking
{
    /// <summary>What a followed author or keyword match adds: a nudge, not a verdict (similarities run 0–1).</summary>
    public const float FilterBonus = 0.1f;

    /// <summary>How much a disliked paper's similarity subtracts.</summary>
    public const float DislikeWeight = 0.5f;

    private const int MaxTitleInWhy = 80;

    private const string VotesSql = "SELECT subscriber_id AS Reader, entry_id AS Entry, vote AS Vote FROM votes ORDER BY subscriber_id";

    private const string ExamplesSql = """
        SELECT id AS Id, title AS Title, embedding AS Embedding FROM entries
        WHERE embedding IS NOT NULL AND id IN (SELECT entry_id FROM votes)
        """;

    private readonly long[] _ids;
    private readonly string[] _titles;
    private readonly float[][] _vectors;
    private readonly Dictionary<long, ReaderExamples> _readers;
    private readonly Dictionary<long, float[]> _similarities = [];

    /// <summary>A reader's examples as indexes into the voted papers.</summary>
    internal sealed record ReaderExamples(int[] Likes, int[] Dislikes);

    internal LearnedRanking(long[] ids, string[] titles, float[][] vectors, Dictionary<long, ReaderExamples> readers)
    {
        _ids = ids;
        _titles = titles;
        _vectors = vectors;
        _readers = readers;
    }

    public static LearnedRanking None { get; } = new([], [], [], []);

    /// <summary>The votes of the readers in <paramref name="readers"/>, on papers that have an embedding.</summary>
    public static async Task<LearnedRanking> LoadAsync(DbConnection connection, DbTransaction? transaction, IReadOnlyCollection<DueReader> readers)
    {
        var wanted = readers.Where(r => r.Preferences.Ranking != RankingMode.Score).Select(r => r.Id).ToHashSet();
        if (wanted.Count == 0)
            return None;
        var ids = new List<long>();
        var titles = new List<string>();
        var vectors = new List<float[]>();
        var index = new Dictionary<long, int>();
        foreach (var row in await connection.QueryAsync<(long Id, string Title, byte[] Embedding)>(ExamplesSql, transaction: transaction))
        {
            if (PaperVector.FromBytes(row.Embedding) is not { } vector)
                continue;
            index[row.Id] = vectors.Count;
            ids.Add(row.Id);
            titles.Add(row.Title);
            vectors.Add(vector);
        }
        var byReader = new Dictionary<long, (List<int> Likes, List<int> Dislikes)>();
        foreach (var (reader, entry, vote) in await connection.QueryAsync<(long Reader, long Entry, long Vote)>(VotesSql, transaction: transaction))
        {
            if (!wanted.Contains(reader) || !index.TryGetValue(entry, out var example))
                continue;
            if (!byReader.TryGetValue(reader, out var lists))
                byReader[reader] = lists = ([], []);
            (vote > 0 ? lists.Likes : lists.Dislikes).Add(example);
        }
        return new LearnedRanking([.. ids], [.. titles], [.. vectors], byReader.ToDictionary(r => r.Key, r => new ReaderExamples([.. r.Value.Likes], [.. r.Value.Dislikes])));
    }

    /// <summary>
    /// Whether this reader's digest is ordered by their own model: <c>learned</c>, or <c>auto</c> with at least one vote
    /// or seed on an embedded paper. Such a reader is composed on their own (their order is theirs alone).
    /// </summary>
    public bool Learns(DueReader reader) => reader.Preferences.Ranking switch
    {
        RankingMode.Score => false,
        RankingMode.Learned => true,
        _ => _readers.ContainsKey(reader.Id),
    };

    /// <summary>
    /// The reader's papers in their order, each with its reason (the closest liked paper added) and relevance;
    /// those under the reader's <c>minRelevance</c> go to <paramref name="leftOut"/> instead.
    /// </summary>
    public List<(CandidatePaper Paper, string Why)> Rank(DueReader reader, List<(CandidatePaper Paper, string Why)> chosen, HashSet<long> leftOut)
    {
        var examples = _readers.GetValueOrDefault(reader.Id);
        var scored = new List<(CandidatePaper Paper, string Why, float Relevance)>(chosen.Count);
        var unranked = new List<(CandidatePaper Paper, string Why)>();
        var minimum = reader.Preferences.MinRelevance;
        foreach (var (paper, why) in chosen)
        {
            if (examples is null || paper.Embedding is null)
            {
                unranked.Add((paper, why));
                continue;
            }
            var (relevance, closest) = Relevance(paper, why, examples);
            if (minimum is { } floor && relevance < floor)
            {
                leftOut.Add(paper.Id);
                continue;
            }
            scored.Add((paper, closest is { } like ? Because(why, _titles[like]) : why, relevance));
        }
        var ordered = PaperRanking.Rank(scored, s => s.Paper).OrderByDescending(s => s.Relevance).Select(s => (s.Paper, s.Why)).ToList();
        ordered.AddRange(PaperRanking.Rank(unranked, u => u.Paper));
        return ordered;
    }

    /// <summary>
    /// The paper's relevance to this reader and the liked paper it is closest to (null: none liked). A paper the
    /// reader voted on themselves (a seed collected lately, which a newcomer's first digest may carry) is not its
    /// own example: its similarity of 1 would put it first with the why line <c>like “its own title”</c>.
    /// </summary>
    internal (float Relevance, int? Closest) Relevance(CandidatePaper paper, string why, ReaderExamples examples)
    {
        var similarities = Similarities(paper);
        float best = 0;
        int? closest = null;
        foreach (var like in examples.Likes)
            if (_ids[like] != paper.Id && (closest is null || similarities[like] > best))
                (best, closest) = (similarities[like], like);
        float worst = 0;
        foreach (var dislike in examples.Dislikes)
            if (_ids[dislike] != paper.Id)
                worst = Math.Max(worst, similarities[dislike]);
        var relevance = best - DislikeWeight * worst;
        if (why.StartsWith("by ", StringComparison.Ordinal) || why.Contains("matches \u201c", StringComparison.Ordinal))
            relevance += FilterBonus;
        return (relevance, closest);
    }

    /// <summary>The paper against every voted paper, once per compose however many readers look at it.</summary>
    private float[] Similarities(CandidatePaper paper)
    {
        if (_similarities.TryGetValue(paper.Id, out var known))
            return known;
        var values = new float[_vectors.Length];
        for (var i = 0; i < values.Length; i++)
            values[i] = PaperVector.Similarity(paper.Embedding, _vectors[i]);
        _similarities[paper.Id] = values;
        return values;
    }

    private static string Because(string why, string title)
    {
        var like = $"like \u201c{(title.Length <= MaxTitleInWhy ? title : title[..(MaxTitleInWhy - 1)] + "\u2026")}\u201d";
        return why.Length == 0 ? like : why + " \u00b7 " + like;
    }
}
