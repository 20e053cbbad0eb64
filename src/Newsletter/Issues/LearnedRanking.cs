using System.Data.Common;
using System.Numerics.Tensors;
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
/// is compared once with every voted paper (P × E dot products of 384, SIMD), then each reader only looks those up:
/// readers × papers × their own votes, with no vector arithmetic per reader. The votes are held as flat arrays
/// (reader ids sorted, each reader's examples a slice of one array), not one object per reader: a million readers
/// with a few votes each take a few tens of MB (`Newsletter.Benchmarks scoring` measures it).
/// </remarks>
internal sealed class LearnedRanking
{
    /// <summary>What a followed author or keyword match adds: a nudge, not a verdict (similarities run 0–1).</summary>
    public const float FilterBonus = 0.1f;

    /// <summary>How much a disliked paper's similarity subtracts.</summary>
    public const float DislikeWeight = 0.5f;

    private const int MaxTitleInWhy = 80;

    // One batch of readers' votes (their ids' stretch), and the voted papers they point to: a compose in batches reads each vote once.
    private const string VotesSql = """
        SELECT subscriber_id AS Reader, entry_id AS Entry, vote AS Vote FROM votes
        WHERE subscriber_id BETWEEN @first AND @last ORDER BY subscriber_id
        """;

    private const string ExamplesSql = """
        SELECT id AS Id, title AS Title, embedding AS Embedding FROM entries
        WHERE embedding IS NOT NULL AND id IN (SELECT entry_id FROM votes WHERE subscriber_id BETWEEN @first AND @last)
        """;

    private readonly string[] _titles;
    // Which voted paper an entry id is (a candidate that is one of the examples must not be its own example).
    private readonly Dictionary<long, int> _exampleOf;
    // The voted papers' vectors, one after another (example i at i × Dimensions).
    private readonly float[] _vectors;
    // Reader r (ascending ids) has the examples _examples[_offsets[r].._offsets[r + 1]]: a like is its index, a dislike ~index.
    private readonly long[] _readerIds;
    private readonly int[] _offsets;
    private readonly int[] _examples;
    // Per paper: its similarity to every example, computed once per compose.
    private readonly Dictionary<long, float[]> _similarities = [];
    // Each (paper's reason, closest liked paper) why line made once and shared by every reader it applies to.
    private readonly Dictionary<(string Why, int Like), string> _because = [];

    internal LearnedRanking(string[] titles, Dictionary<long, int> exampleOf, float[] vectors, long[] readerIds, int[] offsets, int[] examples)
    {
        _titles = titles;
        _exampleOf = exampleOf;
        _vectors = vectors;
        _readerIds = readerIds;
        _offsets = offsets;
        _examples = examples;
    }

    public static LearnedRanking None { get; } = new([], [], [], [], [0], []);

    /// <summary>How many voted papers with an embedding the readers' examples point into.</summary>
    public int ExampleCount => _titles.Length;

    /// <summary>The votes of the readers in <paramref name="readers"/> (whose ids lie in <paramref name="range"/>), on papers that have an embedding.</summary>
    public static async Task<LearnedRanking> LoadAsync(DbConnection connection, DbTransaction? transaction, IReadOnlyCollection<DueReader> readers, ReaderRange range)
    {
        var args = new { first = range.First, last = range.Last };
        var wanted = readers.Where(r => r.Preferences.Ranking != RankingMode.Score).Select(r => r.Id).ToHashSet();
        if (wanted.Count == 0)
            return None;
        var builder = new Builder();
        foreach (var row in await connection.QueryAsync<(long Id, string Title, byte[] Embedding)>(ExamplesSql, args, transaction))
            if (PaperVector.FromBytes(row.Embedding) is { } vector)
                builder.AddExample(row.Id, row.Title, vector);
        foreach (var (reader, entry, vote) in await connection.QueryAsync<(long Reader, long Entry, long Vote)>(VotesSql, args, transaction))
            if (wanted.Contains(reader))
                builder.AddVote(reader, entry, vote > 0);
        return builder.Build();
    }

    /// <summary>Collects voted papers and votes (votes in ascending reader order, as <see cref="VotesSql"/> gives them) into the flat form.</summary>
    internal sealed class Builder
    {
        private readonly List<string> _titles = [];
        private readonly List<float> _vectors = [];
        private readonly Dictionary<long, int> _index = [];
        private readonly List<long> _readerIds = [];
        private readonly List<int> _offsets = [0];
        private readonly List<int> _examples = [];

        public void AddExample(long entryId, string title, ReadOnlySpan<float> vector)
        {
            if (vector.Length != PaperVector.Dimensions || !_index.TryAdd(entryId, _titles.Count))
                return;
            _titles.Add(title);
            _vectors.AddRange(vector);
        }

        /// <summary>A vote on a paper without an embedding is no example (ignored).</summary>
        public void AddVote(long reader, long entryId, bool like)
        {
            if (!_index.TryGetValue(entryId, out var example))
                return;
            if (_readerIds.Count == 0 || _readerIds[^1] != reader)
            {
                if (_readerIds.Count > 0 && reader < _readerIds[^1])
                    throw new InvalidOperationException("votes must come in ascending reader order");
                _readerIds.Add(reader);
                _offsets.Add(_examples.Count);
            }
            _examples.Add(like ? example : ~example);
            _offsets[^1] = _examples.Count;
        }

        public LearnedRanking Build() => new([.. _titles], _index, [.. _vectors], [.. _readerIds], [.. _offsets], [.. _examples]);
    }

    /// <summary>
    /// Whether this reader's digest is ordered by their own model: <c>learned</c>, or <c>auto</c> with at least one vote
    /// or seed on an embedded paper. Such a reader is composed on their own (their order is theirs alone).
    /// </summary>
    public bool Learns(DueReader reader) => reader.Preferences.Ranking switch
    {
        RankingMode.Score => false,
        RankingMode.Learned => true,
        _ => ReaderIndex(reader.Id) >= 0,
    };

    private int ReaderIndex(long reader) => Array.BinarySearch(_readerIds, reader);

    private ReadOnlySpan<int> Examples(int readerIndex) =>
        readerIndex < 0 ? [] : _examples.AsSpan(_offsets[readerIndex], _offsets[readerIndex + 1] - _offsets[readerIndex]);

    /// <summary>
    /// The reader's papers in their order, each with its reason (the closest liked paper added) and relevance;
    /// those under the reader's <c>minRelevance</c> go to <paramref name="leftOut"/> instead.
    /// </summary>
    public List<(CandidatePaper Paper, string Why)> Rank(DueReader reader, List<(CandidatePaper Paper, string Why)> chosen, HashSet<long> leftOut)
    {
        var readerIndex = ReaderIndex(reader.Id);
        var minimum = reader.Preferences.MinRelevance;
        var papers = new CandidatePaper[chosen.Count];
        var keys = new ulong[chosen.Count];
        var closest = new int[chosen.Count];
        var count = 0;
        for (var i = 0; i < chosen.Count; i++)
        {
            var (paper, why) = chosen[i];
            papers[i] = paper;
            if (readerIndex < 0 || paper.Embedding is null)
            {
                keys[count++] = Key(null, i);
                continue;
            }
            var (relevance, like) = Relevance(readerIndex, Similarities(paper), Bonus(why), SelfOf(paper));
            if (minimum is { } floor && relevance < floor)
            {
                leftOut.Add(paper.Id);
                continue;
            }
            closest[i] = like;
            keys[count++] = Key(relevance, i);
        }
        Sort(keys.AsSpan(0, count), papers);
        var result = new List<(CandidatePaper Paper, string Why)>(count);
        foreach (var key in keys.AsSpan(0, count))
        {
            var i = (int)(uint)key;
            var why = chosen[i].Why;
            result.Add((papers[i], (key >> 32) != Unranked && closest[i] >= 0 ? Because(why, closest[i]) : why));
        }
        return result;
    }

    /// <summary>
    /// <see cref="Rank"/>'s arithmetic without allocating (the scoring benchmark's hot loop): <paramref name="order"/>
    /// gets the indexes of <paramref name="papers"/> in the reader's order (ranked first, then unranked by score);
    /// <paramref name="similarities"/>[i] is paper i's <see cref="SimilarityRow"/>; <paramref name="keys"/> is scratch.
    /// </summary>
    internal void Score(long reader, CandidatePaper[] papers, ReadOnlySpan<float[]> similarities, ReadOnlySpan<int> selves, Span<ulong> keys, Span<int> order)
    {
        var readerIndex = ReaderIndex(reader);
        for (var i = 0; i < papers.Length; i++)
            keys[i] = readerIndex < 0 || papers[i].Embedding is null ? Key(null, i) : Key(Relevance(readerIndex, similarities[i], 0, selves[i]).Relevance, i);
        Sort(keys[..papers.Length], papers);
        for (var i = 0; i < papers.Length; i++)
            order[i] = (int)(uint)keys[i];
    }

    private const uint Unranked = uint.MaxValue;

    /// <summary>
    /// A paper's sort key: the relevance, highest first, in the upper half (as an order-preserving integer; unranked
    /// papers last), its index in the lower. A primitive sort of these is several times faster than comparing records.
    /// </summary>
    private static ulong Key(float? relevance, int index)
    {
        uint high;
        if (relevance is not { } value)
        {
            high = Unranked;
        }
        else
        {
            // -relevance as bits that sort as unsigned integers in the floats' order (0 and -0 alike).
            var bits = (uint)BitConverter.SingleToInt32Bits(value == 0 ? 0f : -value);
            high = (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000;
            high = Math.Min(high, Unranked - 1);
        }
        return ((ulong)high << 32) | (uint)index;
    }

    /// <summary>By relevance; papers of equal relevance (and the unranked ones) in <see cref="PaperRanking"/>'s order.</summary>
    private static void Sort(Span<ulong> keys, CandidatePaper[] papers)
    {
        keys.Sort();
        for (var start = 0; start < keys.Length;)
        {
            var end = start + 1;
            while (end < keys.Length && keys[end] >> 32 == keys[start] >> 32)
                end++;
            if (end - start > 1)
                keys[start..end].Sort(new TieBreak(papers));
            start = end;
        }
    }

    /// <summary><see cref="PaperRanking"/>'s order (score, recency, id) on keys' paper indexes.</summary>
    private readonly struct TieBreak(CandidatePaper[] papers) : IComparer<ulong>
    {
        public int Compare(ulong x, ulong y)
        {
            var (a, b) = (papers[(int)(uint)x], papers[(int)(uint)y]);
            var byScore = b.Score.CompareTo(a.Score);
            if (byScore != 0)
                return byScore;
            var byRecency = (b.PublishedAt?.ToUnixTimeMilliseconds() ?? b.FirstSeenAt).CompareTo(a.PublishedAt?.ToUnixTimeMilliseconds() ?? a.FirstSeenAt);
            return byRecency != 0 ? byRecency : a.Id.CompareTo(b.Id);
        }
    }

    /// <summary>
    /// A reader's relevance of a paper from its similarities to the examples, and the closest liked example (-1: none
    /// liked). A paper the reader voted on themselves (<paramref name="self"/>: a seed collected lately, which a
    /// newcomer's first digest may carry) is not its own example: its similarity of 1 would put it first with the why
    /// line <c>like “its own title”</c>.
    /// </summary>
    private (float Relevance, int Closest) Relevance(int readerIndex, float[] similarities, float bonus, int self)
    {
        float best = 0, worst = 0;
        var closest = -1;
        foreach (var example in Examples(readerIndex))
        {
            if (example == self || ~example == self)
                continue;
            if (example >= 0)
            {
                if (closest < 0 || similarities[example] > best)
                    (best, closest) = (similarities[example], example);
            }
            else
            {
                worst = Math.Max(worst, similarities[~example]);
            }
        }
        return (best - DislikeWeight * worst + bonus, closest);
    }

    private static float Bonus(string why) =>
        why.StartsWith("by ", StringComparison.Ordinal) || why.Contains("matches \u201c", StringComparison.Ordinal) ? FilterBonus : 0;

    /// <summary>The paper's index among the voted papers, or int.MinValue when nobody voted on it (matches no example).</summary>
    internal int SelfOf(CandidatePaper paper) => _exampleOf.TryGetValue(paper.Id, out var index) ? index : int.MinValue;

    /// <summary>The paper against every voted paper, once per compose however many readers look at it.</summary>
    internal float[] SimilarityRow(CandidatePaper paper) => Similarities(paper);

    private float[] Similarities(CandidatePaper paper)
    {
        if (_similarities.TryGetValue(paper.Id, out var known))
            return known;
        var values = new float[_titles.Length];
        var vector = paper.Embedding.AsSpan();
        if (vector.Length == PaperVector.Dimensions)
            for (var i = 0; i < values.Length; i++)
                values[i] = TensorPrimitives.Dot(vector, _vectors.AsSpan(i * PaperVector.Dimensions, PaperVector.Dimensions));
        _similarities[paper.Id] = values;
        return values;
    }

    private string Because(string why, int like)
    {
        if (_because.TryGetValue((why, like), out var known))
            return known;
        var title = _titles[like];
        var text = $"like \u201c{(title.Length <= MaxTitleInWhy ? title : title[..(MaxTitleInWhy - 1)] + "\u2026")}\u201d";
        return _because[(why, like)] = why.Length == 0 ? text : why + " \u00b7 " + text;
    }
}
