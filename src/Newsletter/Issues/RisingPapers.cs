using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using Dapper;
using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Issues;

/// <summary>
/// Per reader with a minimum score: the recent papers judged at an earlier compose and not sent to
/// them whose score has risen since, to be judged again, so that "papers with at least N upvotes"
/// holds for a paper that trends after it was first collected (an arXiv paper at 0 that reaches
/// Hugging Face the next day is one row, its score raised by the later fetch).
/// </summary>
/// <remarks>
/// Rising for a reader: first seen within <c>CarryOverMaxAge</c> and at or before the start of
/// their window (so an earlier compose judged it, and this one's window does not hold it), with
/// <c>entries.score_raised_at</c> after their cursor. Collect and compose serialise on the entries
/// lock and both take their time inside it, so a rise is before a cursor or after it, and every rise
/// between two composes is seen at the next one. Less what the reader's ledger holds (a digest's
/// shown papers, or an old-style issue's own list): a paper reaches a reader once. The reader's
/// whole filter then judges it again (<see cref="DigestGroups"/>): a keyword, topic or exclusion
/// that ruled it out still does. Readers without a minimum score are not looked at (a higher score
/// changes nothing for them, and the common case must cost nothing); neither are readers never
/// composed for, whose first window already holds what they start with. For the others the cost
/// follows the readers, not the papers: one ledger look-up per reader and recent issue, each digest's
/// papers read once, and one answer per cursor, minimum and set of digests sent (readers composed
/// together share them), only for readers with a paper that has reached their minimum since.
/// Readers whose rising papers differ are grouped apart (<see cref="Key"/>), so no frozen digest
/// carries one reader's rising paper to another.
/// </remarks>
internal sealed partial class RisingPapers
{
    public static readonly RisingPapers None = new(new Dictionary<long, string>(), new Dictionary<string, List<CandidatePaper>>(StringComparer.Ordinal));

    // A superset for all these readers at once (rise after the earliest cursor, first seen before the
    // latest window start), cut per reader in memory; first_seen_at is indexed and the stretch is days.
    private const string CandidatesSql = """
        SELECT id AS Id, first_seen_at AS FirstSeenAt, score_raised_at AS RaisedAt, score AS Score FROM entries
        WHERE first_seen_at > @floor AND first_seen_at <= @until AND score_raised_at > @since
        """;

    // A paper first seen after the floor can only be in a digest made after it (or an old-style issue composed after it).
    private const string RecentIssuesSql = """
        SELECT issue_id FROM digests WHERE created_at > @floor
        UNION SELECT id FROM issues WHERE composed_at > @floor
        """;

    // What these readers were sent in the recent issues: by (issue, reader), the ledger's unique key, a
    // point look-up per reader and issue, and a row per digest, not per paper in it (a popular paper is
    // in 100,000 readers' mail). One statement for all of them: see IdList.
    private const string LedgerSql = """
        SELECT subscriber_id AS Reader, issue_id AS IssueId, digest_id AS DigestId FROM deliveries
        WHERE issue_id IN @issues AND subscriber_id IN @readers
        """;

    // What those digests showed (compact 2 was not shown: it is carried, not sent), read once per digest.
    private const string DigestPapersSql = "SELECT digest_id AS Id, entry_id AS Paper FROM digest_entries WHERE digest_id IN @ids AND entry_id IN @papers AND compact < 2";

    // A delivery from before personal digests (no digest) sent its issue's own list.
    private const string IssuePapersSql = "SELECT issue_id AS Id, entry_id AS Paper FROM issue_entries WHERE issue_id IN @ids AND entry_id IN @papers";

    private const string PapersByIdSql = $"""
        SELECT id AS Id, title AS Title, summary AS Summary, authors AS Authors, url AS Url, score AS Score,
               published_at AS PublishedAt, source AS Source, categories AS Categories, first_seen_at AS FirstSeenAt, embedding AS Embedding,
               {PaperRow.CardColumns}
        FROM entries WHERE id IN @ids
        """;

    private const string SourcesByIdSql = "SELECT entry_id AS EntryId, source AS Source FROM entry_sources WHERE entry_id IN @ids";

    private readonly IReadOnlyDictionary<long, string> _keys;
    private readonly IReadOnlyDictionary<string, List<CandidatePaper>> _papers;

    private RisingPapers(IReadOnlyDictionary<long, string> keys, IReadOnlyDictionary<string, List<CandidatePaper>> papers)
    {
        _keys = keys;
        _papers = papers;
    }

    /// <summary>The reader's rising papers as one text ("" for none): part of their group's key.</summary>
    public string Key(long readerId) => _keys.Count == 0 ? "" : _keys.GetValueOrDefault(readerId, "");

    /// <summary>The rising papers of the readers with this <see cref="Key"/>.</summary>
    public IReadOnlyList<CandidatePaper> Papers(string key) => _papers.TryGetValue(key, out var papers) ? papers : [];

    /// <param name="windowFloor">The earliest window start (<see cref="DigestComposer.LongestWindow"/> ago).</param>
    /// <param name="carryFloor">Papers first seen at or before this are too old to be judged again (<c>CarryOverMaxAge</c> ago).</param>
    public static async Task<RisingPapers> FindAsync(Database database, DbConnection connection, DbTransaction? transaction,
        IReadOnlyCollection<DueReader> readers, long windowFloor, long carryFloor, CancellationToken cancellationToken)
    {
        var asking = readers.Where(r => r.Preferences.MinScore is > 0 && !r.IsNew).ToList();
        if (asking.Count == 0)
            return None;
        long WindowStart(DueReader reader) => Math.Max(reader.ServedUntil, windowFloor);
        var until = asking.Max(WindowStart);
        if (until <= carryFloor)
            return None;
        var candidates = (await connection.QueryAsync<(long Id, long FirstSeenAt, long RaisedAt, long Score)>(new CommandDefinition(CandidatesSql,
            new { floor = carryFloor, until, since = asking.Min(r => r.ServedUntil) }, transaction, cancellationToken: cancellationToken))).ToList();
        if (candidates.Count == 0)
            return None;

        // Readers composed together share a cursor and a minimum, so their cut is made once. A paper
        // still short of the minimum is left out here, as the filter would (a followed author's is exempt).
        var cuts = new Dictionary<(long Start, long Cursor, int Minimum), long[]>();
        var cutOf = new Dictionary<long, long[]>();
        foreach (var reader in asking)
        {
            var cut = (Start: WindowStart(reader), Cursor: reader.ServedUntil, Minimum: reader.Preferences.Authors.Count > 0 ? 0 : reader.Preferences.MinScore!.Value);
            if (!cuts.TryGetValue(cut, out var ids))
                cuts[cut] = ids = candidates.Where(c => c.FirstSeenAt <= cut.Start && c.RaisedAt > cut.Cursor && c.Score >= cut.Minimum).Select(c => c.Id).Order().ToArray();
            if (ids.Length > 0)
                cutOf[reader.Id] = ids;
        }
        if (cutOf.Count == 0)
            return None;
        var rising = await LeaveOutSentAsync(database, connection, transaction, cutOf, carryFloor, cancellationToken);
        if (rising.Keys.Count == 0)
            return None;
        var rows = await PapersAsync(database, connection, transaction, rising.Papers.Values.SelectMany(ids => ids).Distinct().Order().ToArray(), cancellationToken);
        return new RisingPapers(rising.Keys, rising.Papers.ToDictionary(p => p.Key, p => p.Value.Select(id => rows[id]).ToList(), StringComparer.Ordinal));
    }

    /// <summary>
    /// Leaves out of each reader's cut what their ledger shows they were sent; readers with the same
    /// cut and the same digests get the same answer, worked out once.
    /// </summary>
    private static async Task<(Dictionary<long, string> Keys, Dictionary<string, long[]> Papers)> LeaveOutSentAsync(Database database,
        DbConnection connection, DbTransaction? transaction, Dictionary<long, long[]> cutOf, long carryFloor, CancellationToken cancellationToken)
    {
        var issues = (await connection.QueryAsync<long>(new CommandDefinition(RecentIssuesSql, new { floor = carryFloor }, transaction, cancellationToken: cancellationToken))).ToArray();
        // A reader's history: the digests they were sent (an old-style delivery stands for its issue's list, as -issue id).
        var readers = cutOf.Keys.Order().ToArray();
        var history = readers.ToDictionary(r => r, _ => new List<long>());
        if (issues.Length > 0)
            foreach (var (reader, issueId, digestId) in await connection.QueryAsync<(long Reader, long IssueId, long? DigestId)>(new CommandDefinition(IdList(database, LedgerSql),
                new { issues = IdValues(database, issues), readers = IdValues(database, readers) }, transaction, cancellationToken: cancellationToken)))
                history[reader].Add(digestId ?? -issueId);
        var papers = readers.Select(r => cutOf[r]).Distinct().SelectMany(cut => cut).Distinct().Order().ToArray();
        var sentIn = history.Values.SelectMany(h => h).Distinct().ToList();
        var shown = await PapersOfAsync(database, connection, transaction, DigestPapersSql, sentIn.Where(id => id > 0), papers, cancellationToken);
        foreach (var (issueId, list) in await PapersOfAsync(database, connection, transaction, IssuePapersSql, sentIn.Where(id => id < 0).Select(id => -id), papers, cancellationToken))
            shown[-issueId] = list;

        var keys = new Dictionary<long, string>();
        var byKey = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var answers = new Dictionary<(long[] Cut, string History), string>();
        foreach (var reader in readers)
        {
            var cut = cutOf[reader];
            var sent = history[reader].Order().ToArray();
            var answer = (cut, string.Join(',', sent));
            if (!answers.TryGetValue(answer, out var key))
            {
                var left = cut.Except(sent.SelectMany(id => shown.GetValueOrDefault(id) ?? [])).ToArray();
                answers[answer] = key = string.Join(',', left);
                if (left.Length > 0)
                    byKey.TryAdd(key, left);
            }
            if (key.Length > 0)
                keys[reader] = key;
        }
        return (keys, byKey);
    }

    /// <summary>
    /// A list of ids as one parameter, however long: PostgreSQL takes an array (<c>= ANY</c>); SQLite a
    /// JSON text read by <c>json_each</c>, where Dapper's expansion would make a parameter of every id
    /// (and tens of thousands of readers would need many statements, each parsed anew).
    /// </summary>
    private static string IdList(Database database, string sql) =>
        database.IsPostgres ? database.InList(sql) : InListPattern().Replace(sql, "IN (SELECT value FROM json_each($1))");

    private static object IdValues(Database database, long[] ids) =>
        database.IsPostgres ? ids : "[" + string.Join(',', ids.Select(id => id.ToString(CultureInfo.InvariantCulture))) + "]";

    [GeneratedRegex(@"\bIN (@\w+)")]
    private static partial Regex InListPattern();

    /// <summary>Per digest (or issue), which of <paramref name="papers"/> it showed.</summary>
    private static async Task<Dictionary<long, List<long>>> PapersOfAsync(Database database, DbConnection connection, DbTransaction? transaction,
        string sql, IEnumerable<long> ids, long[] papers, CancellationToken cancellationToken)
    {
        var shown = new Dictionary<long, List<long>>();
        foreach (var chunk in ids.Distinct().Order().Chunk(PaperWindow.Chunk))
            foreach (var (id, paper) in await connection.QueryAsync<(long Id, long Paper)>(new CommandDefinition(database.InList(sql), new { ids = chunk, papers }, transaction, cancellationToken: cancellationToken)))
            {
                if (!shown.TryGetValue(id, out var list))
                    shown[id] = list = [];
                list.Add(paper);
            }
        return shown;
    }

    private static async Task<Dictionary<long, CandidatePaper>> PapersAsync(Database database, DbConnection connection, DbTransaction? transaction, long[] ids, CancellationToken cancellationToken)
    {
        var papers = new Dictionary<long, CandidatePaper>();
        foreach (var chunk in ids.Chunk(PaperWindow.Chunk))
        {
            var sources = (await connection.QueryAsync<(long EntryId, string Source)>(new CommandDefinition(database.InList(SourcesByIdSql), new { ids = chunk }, transaction, cancellationToken: cancellationToken)))
                .ToLookup(s => s.EntryId, s => s.Source);
            foreach (var row in await connection.QueryAsync<PaperRow>(new CommandDefinition(database.InList(PapersByIdSql), new { ids = chunk }, transaction, cancellationToken: cancellationToken)))
                papers[row.Id] = row.ToCandidate(sources[row.Id].ToList());
        }
        return papers;
    }
}
