using Microsoft.Data.Sqlite;
using Newsletter.Model;

namespace Newsletter.Benchmarks;

/// <summary>
/// The "learned" bench case: every paper gets a deterministic synthetic 384-dim unit vector (six topic clusters; the
/// bench never needs the embedding model), and every reader three likes and one dislike drawn from the day's papers by
/// their id, so nearly every reader has an order of their own (learned ranking, <c>ranking = auto</c> with votes).
/// </summary>
internal static class LearnedSeed
{
    public static async Task VotesAsync(SqliteConnection connection, SqliteTransaction transaction, int subscribers)
    {
        var random = new Random(18);
        var topics = Enumerable.Range(0, 6).Select(_ => Vector(random, null)).ToArray();
        var papers = new List<long>();
        using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = "SELECT id FROM entries ORDER BY id";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                papers.Add(reader.GetInt64(0));
        }
        using (var embed = connection.CreateCommand())
        {
            embed.Transaction = transaction;
            embed.CommandText = "UPDATE entries SET embedding = $v WHERE id = $id";
            var vector = embed.Parameters.Add("$v", SqliteType.Blob);
            var id = embed.Parameters.Add("$id", SqliteType.Integer);
            for (var i = 0; i < papers.Count; i++)
            {
                (vector.Value, id.Value) = (PaperVector.ToBytes(Vector(random, topics[i % topics.Length])), papers[i]);
                await embed.ExecuteNonQueryAsync();
            }
        }
        using var vote = connection.CreateCommand();
        vote.Transaction = transaction;
        vote.CommandText = "INSERT INTO votes (subscriber_id, entry_id, vote, origin, voted_at) SELECT id, $e, $v, 'seed', 0 FROM subscribers WHERE email_key = $m";
        var entry = vote.Parameters.Add("$e", SqliteType.Integer);
        var value = vote.Parameters.Add("$v", SqliteType.Integer);
        var email = vote.Parameters.Add("$m", SqliteType.Text);
        for (var r = 1; r <= subscribers; r++)
        {
            var own = new Random(r);
            email.Value = $"reader{r}@example.org";
            var picked = papers.OrderBy(_ => own.Next()).Take(4).ToArray();
            for (var v = 0; v < picked.Length; v++)
            {
                (entry.Value, value.Value) = (picked[v], v < 3 ? 1 : -1);
                await vote.ExecuteNonQueryAsync();
            }
        }
    }

    private static float[] Vector(Random random, float[]? centre)
    {
        var vector = new float[PaperVector.Dimensions];
        for (var i = 0; i < vector.Length; i++)
            vector[i] = (float)(random.NextDouble() * 2 - 1) + (centre is null ? 0 : 8f * centre[i]);
        return PaperVector.Normalised(vector);
    }
}
