using System.Diagnostics;
using Newsletter.Issues;
using Newsletter.Model;

namespace Newsletter.Benchmarks;

/// <summary>
/// Learned ranking at scale, in-process and without a database: READERS readers with a few votes each (3-5 likes,
/// 0-2 dislikes) on EXAMPLES earlier papers, scored against PAPERS candidates, as a compose does it (the P × E
/// similarities once, then per reader the look-ups and the sort). Vectors are deterministic synthetic 384-dim unit
/// vectors in 24 topic clusters (no model needed). Prints the seconds of each step, what the hot loop allocated and
/// the peak RSS.
/// </summary>
internal static class ScoringBenchmark
{
    public static void Run(int readers, int papers, int examples)
    {
        var random = new Random(21);
        var topics = Enumerable.Range(0, 24).Select(_ => Vector(random, null)).ToArray();
        var clock = Stopwatch.StartNew();
        var builder = new LearnedRanking.Builder();
        for (var e = 0; e < examples; e++)
            builder.AddExample(1_000_000 + e, $"Earlier paper {e} on topic {e % topics.Length}", Vector(random, topics[e % topics.Length]));
        for (var r = 1; r <= readers; r++)
        {
            var likes = 3 + r % 3;
            var dislikes = r % 3;
            for (var v = 0; v < likes + dislikes; v++)
                builder.AddVote(r, 1_000_000 + random.Next(examples), v < likes);
        }
        var ranking = builder.Build();
        var built = clock.Elapsed.TotalSeconds;
        var candidates = Enumerable.Range(0, papers).Select(p => new CandidatePaper(p + 1, $"Paper {p}", "", [], "", 1000 - p,
            DateTimeOffset.UnixEpoch, "bench", [], [], 0, Vector(random, topics[p % topics.Length]))).ToArray();

        clock.Restart();
        var similarities = candidates.Select(ranking.SimilarityRow).ToArray();
        var selves = candidates.Select(ranking.SelfOf).ToArray();
        var pairs = clock.Elapsed.TotalSeconds;

        var keys = new ulong[papers];
        var order = new int[papers];
        long checksum = 0;
        GC.Collect();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var gcs = GC.CollectionCount(0);
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        clock.Restart();
        for (var r = 1; r <= readers; r++)
        {
            ranking.Score(r, candidates, similarities, selves, keys, order);
            checksum += order[0];
        }
        var scoring = clock.Elapsed.TotalSeconds;
        self.Refresh();
        var scoringCpu = (self.TotalProcessorTime - cpu).TotalSeconds;
        var hotAllocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        var hotGcs = GC.CollectionCount(0) - gcs;

        // The same through Rank, as DigestGroups calls it: a list per reader, the why lines shared.
        var chosen = candidates.Select(c => (c, "")).ToList();
        var preferences = new Preferences { Ranking = RankingMode.Learned };
        var leftOut = new HashSet<long>();
        var rankReaders = Math.Min(readers, 100_000);
        clock.Restart();
        for (var r = 1; r <= rankReaders; r++)
            checksum += ranking.Rank(new DueReader(r, 0, null, preferences, 0), chosen, leftOut)[0].Paper.Id;
        var rank = clock.Elapsed.TotalSeconds;

        self.Refresh();
        Console.WriteLine($"| readers | papers | voted papers | build s | P×E similarities s | scoring s (all readers): wall | CPU | µs CPU per reader | hot-loop bytes allocated | gen0 GCs | Rank() µs per reader | peak RSS MB |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine($"| {readers:N0} | {papers} | {examples:N0} | {built:F2} | {pairs:F3} | **{scoring:F2}** | {scoringCpu:F2} | {scoringCpu * 1e6 / readers:F2} | {hotAllocated:N0} | {hotGcs} | {rank * 1e6 / rankReaders:F2} | {self.PeakWorkingSet64 / 1_048_576} |");
        Console.Error.WriteLine($"checksum {checksum}");
    }

    /// <summary>A unit vector: around <paramref name="centre"/> (a topic) when given, else anywhere.</summary>
    private static float[] Vector(Random random, float[]? centre)
    {
        var vector = new float[PaperVector.Dimensions];
        for (var i = 0; i < vector.Length; i++)
            vector[i] = (float)(random.NextDouble() * 2 - 1) + (centre is null ? 0 : 8f * centre[i]);
        return PaperVector.Normalised(vector);
    }
}
