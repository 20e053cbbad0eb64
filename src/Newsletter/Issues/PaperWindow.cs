using System.Data.Common;
using Dapper;
using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Issues;

/// <summary>Reads the papers a compose chooses from: those first seen in a stretch of collection time, and those an earlier digest had no room for.</summary>
internal sealed class PaperWindow(Database database)
{
    /// <summary>How many ids one IN list carries.</summary>
    public const int Chunk = 500;

    private const string WindowEntriesSql = $"""
        SELECT id AS Id, title AS Title, summary AS Summary, authors AS Authors, url AS Url, score AS Score,
               published_at AS PublishedAt, source AS Source, categories AS Categories, first_seen_at AS FirstSeenAt, embedding AS Embedding,
               {PaperRow.CardColumns}
        FROM entries WHERE first_seen_at > @from AND first_seen_at <= @to
        """;

    private const string CarriedSql = "SELECT entry_id FROM digest_entries WHERE digest_id = @id AND compact = 2";

    private const string PapersByIdSql = $"""
        SELECT id AS Id, title AS Title, summary AS Summary, authors AS Authors, url AS Url, score AS Score,
               published_at AS PublishedAt, source AS Source, categories AS Categories, first_seen_at AS FirstSeenAt, embedding AS Embedding,
               {PaperRow.CardColumns}
        FROM entries WHERE id IN @ids
        """;

    private const string SourcesByIdSql = "SELECT entry_id AS EntryId, source AS Source FROM entry_sources WHERE entry_id IN @ids";

    private const string WindowSourcesSql = """
        SELECT s.entry_id AS EntryId, s.source AS Source FROM entry_sources s JOIN entries e ON e.id = s.entry_id
        WHERE e.first_seen_at > @from AND e.first_seen_at <= @to
        """;

    /// <summary>The papers first seen in (<paramref name="from"/>, <paramref name="to"/>], with their sources.</summary>
    public static async Task<IReadOnlyList<CandidatePaper>> WindowAsync(DbConnection connection, DbTransaction? transaction, long from, long to)
    {
        var sources = (await connection.QueryAsync<(long EntryId, string Source)>(WindowSourcesSql, new { from, to }, transaction))
            .ToLookup(s => s.EntryId, s => s.Source);
        var rows = await connection.QueryAsync<PaperRow>(WindowEntriesSql, new { from, to }, transaction);
        return rows.Select(r => r.ToCandidate(sources[r.Id].ToList())).ToList();
    }

    /// <summary>Per previous digest, the papers it had no room for.</summary>
    public async Task<Dictionary<long, List<CandidatePaper>>> CarriedAsync(DbConnection connection, DbTransaction? transaction, IEnumerable<long> digestIds)
    {
        var carried = new Dictionary<long, List<CandidatePaper>>();
        foreach (var digestId in digestIds)
        {
            var ids = (await connection.QueryAsync<long>(CarriedSql, new { id = digestId }, transaction)).ToList();
            if (ids.Count == 0)
                continue;
            var list = new List<CandidatePaper>();
            foreach (var chunk in ids.Chunk(Chunk))
            {
                var sources = (await connection.QueryAsync<(long EntryId, string Source)>(database.InList(SourcesByIdSql), new { ids = chunk }, transaction)).ToLookup(s => s.EntryId, s => s.Source);
                list.AddRange((await connection.QueryAsync<PaperRow>(database.InList(PapersByIdSql), new { ids = chunk }, transaction)).Select(r => r.ToCandidate(sources[r.Id].ToList())));
            }
            carried[digestId] = list;
        }
        return carried;
    }
}
