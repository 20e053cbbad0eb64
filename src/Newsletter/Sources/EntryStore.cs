using Dapper;
using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Sources;

public sealed record UpsertCounts(int Added, int Updated);

/// <summary>Stores entries once per canonical id; later sightings refresh the score and fill gaps.</summary>
public sealed class EntryStore(Database database, TimeProvider time)
{
    /// <summary>
    /// A later sighting never replaces what is known with less: the score only grows (HF upvotes
    /// beat an RSS 0), and empty summaries or author lists are filled in. A title that was only the
    /// start of the summary (a title-less first sighting) gives way to a real title from a later source.
    /// The link and the author list are replaced only when <c>@RepairUrl</c> / <c>@FillAuthors</c> say so,
    /// decided beside the stored row (<see cref="Stored"/>): the rules are easier to read, and the same on
    /// both providers, in C# than in SQL.
    /// When the score grows, <c>score_raised_at</c> says when: the composer judges a recent paper again
    /// for a reader whose minimum score it did not reach at first.
    /// A card's fields (code link and stars, project page, discussion and comments, organisation, AI summary and
    /// keywords) take each sighting's value where it has one (stars and comments change from day to day); a sighting
    /// without one (NULL: an RSS feed knows none of them) keeps what is stored.
    /// </summary>
    private const string UpsertSql = """
        INSERT INTO entries (canonical_id, title, summary, authors, url, published_at, score, source, first_seen_at, updated_at, categories, categories_checked,
                             code_url, code_stars, project_url, discussion_url, comments, organization, ai_summary, ai_keywords)
        VALUES (@CanonicalId, @Title, @Summary, @Authors, @Url, @PublishedAt, @Score, @Source, @Now, @Now, @Categories, @CategoriesChecked,
                @CodeUrl, @CodeStars, @ProjectUrl, @DiscussionUrl, @Comments, @Organization, @AiSummary, @AiKeywords)
        ON CONFLICT (canonical_id) DO UPDATE SET
            score        = CASE WHEN excluded.score > entries.score THEN excluded.score ELSE entries.score END,
            score_raised_at = CASE WHEN excluded.score > entries.score THEN excluded.updated_at ELSE entries.score_raised_at END,
            title        = CASE WHEN (entries.title = substr(entries.summary, 1, length(entries.title))
                                      OR (substr(entries.title, length(entries.title), 1) = '…' AND length(entries.title) > 1
                                          AND substr(entries.title, 1, length(entries.title) - 1) = substr(entries.summary, 1, length(entries.title) - 1)))
                                    AND excluded.title <> ''
                                    AND excluded.title <> substr(excluded.summary, 1, length(excluded.title))
                                    AND NOT (substr(excluded.title, length(excluded.title), 1) = '…' AND substr(excluded.title, 1, length(excluded.title) - 1) = substr(excluded.summary, 1, length(excluded.title) - 1))
                                THEN excluded.title ELSE entries.title END,
            summary      = CASE WHEN entries.summary = '' THEN excluded.summary ELSE entries.summary END,
            authors      = CASE WHEN @FillAuthors = 1 THEN excluded.authors ELSE entries.authors END,
            url          = CASE WHEN @RepairUrl = 1 THEN excluded.url ELSE entries.url END,
            published_at = COALESCE(entries.published_at, excluded.published_at),
            categories   = CASE WHEN entries.categories = '' THEN excluded.categories ELSE entries.categories END,
            categories_checked = CASE WHEN excluded.categories_checked > entries.categories_checked THEN excluded.categories_checked ELSE entries.categories_checked END,
            code_url       = COALESCE(excluded.code_url, entries.code_url),
            code_stars     = COALESCE(excluded.code_stars, entries.code_stars),
            project_url    = COALESCE(excluded.project_url, entries.project_url),
            discussion_url = COALESCE(excluded.discussion_url, entries.discussion_url),
            comments       = COALESCE(excluded.comments, entries.comments),
            organization   = COALESCE(excluded.organization, entries.organization),
            ai_summary     = COALESCE(excluded.ai_summary, entries.ai_summary),
            ai_keywords    = COALESCE(excluded.ai_keywords, entries.ai_keywords),
            updated_at   = excluded.updated_at
        RETURNING id
        """;

    /// <summary>
    /// Asked before the upsert, in its transaction: comparing first_seen_at with now would count a paper
    /// twice when two sources bring it within one clock tick (collect runs the sources side by side).
    /// The link and authors say whether this sighting may repair them.
    /// </summary>
    private const string StoredSql = "SELECT url AS Url, authors AS Authors FROM entries WHERE canonical_id = @CanonicalId";

    /// <summary>What an earlier version stored at the end of an author list it cut at 50 names.</summary>
    private const string EarlierCapMarker = "\net al.";

    /// <summary>The row a sighting meets, if the paper is known.</summary>
    private sealed class Stored
    {
        public string Url { get; init; } = "";
        public string Authors { get; init; } = "";

        /// <summary>A broken link (none, not http(s), a bare paper link resolved against its feed) gives way to a working one; a working one stays.</summary>
        public bool RepairsUrl(Entry entry) => PaperLinks.IsBroken(Url) && !PaperLinks.IsBroken(entry.Url);

        /// <summary>An empty list is filled in; a list an earlier version cut at 50 names gives way to a longer one.</summary>
        public bool FillsAuthors(Entry entry) => entry.Authors.Count > 0
            && (Authors.Length == 0
                || (Authors.EndsWith(EarlierCapMarker, StringComparison.Ordinal) && entry.Authors.Count >= EntryColumns.Authors(Authors).Length));
    }

    // Every source that listed a paper: a reader's topic may name any of them.
    private const string SourceSql = "INSERT INTO entry_sources (entry_id, source) VALUES (@id, @source) ON CONFLICT DO NOTHING";

    private const string UncheckedSql = """
        SELECT id AS Id, canonical_id AS CanonicalId FROM entries
        WHERE categories_checked = 0 AND categories = '' AND canonical_id LIKE 'arxiv:%' AND first_seen_at > @since
        ORDER BY id LIMIT @limit
        """;

    private const string CategoriesSql = "UPDATE entries SET categories = @categories, categories_checked = 1 WHERE id = @id";

    // PostgreSQL's text cannot hold NUL; rendering turns control characters into spaces anyway,
    // so a feed's NUL becomes that space here, on both providers alike.
    private static string NoNul(string text) => text.Contains('\0') ? text.Replace('\0', ' ') : text;

    private static string? Nullable(string? text) => string.IsNullOrEmpty(text) ? null : NoNul(text);

    public async Task<UpsertCounts> UpsertAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Sources are stored in parallel: a paper two sources bring at once must count as new once.
        // SQLite's IMMEDIATE transactions serialise this already; PostgreSQL takes a lock for it
        // (the digest composer takes the same one).
        await database.SerializeAsync(connection, transaction, EntryColumns.WriteLockName);
        // Taken inside the (write) transaction, after the lock: first-seen times then follow commit
        // order, so a digest composed meanwhile never moves a reader's cursor past a paper it could not see.
        var clock = time.GetUtcNow();
        var now = DbTime.ToDb(clock);
        // Ranking uses the date: a feed dating its items in the future would rank itself first every day.
        var latestPlausible = clock.AddDays(1);
        int added = 0, updated = 0;
        // One source may list a paper twice (e.g. two versions): keep its best-scored sighting.
        foreach (var entry in entries.GroupBy(e => e.CanonicalId).Select(g => g.MaxBy(e => e.Score)!))
        {
            var categories = entry.Categories ?? [];
            var card = entry.Card ?? PaperCard.Empty;
            var stored = await connection.QuerySingleOrDefaultAsync<Stored>(StoredSql, new { entry.CanonicalId }, transaction);
            var id = await connection.ExecuteScalarAsync<long>(UpsertSql, new
            {
                entry.CanonicalId,
                Title = NoNul(entry.Title),
                Summary = NoNul(entry.Summary),
                Authors = NoNul(string.Join(EntryColumns.AuthorSeparator, entry.Authors)),
                Url = NoNul(entry.Url),
                PublishedAt = entry.PublishedAt is { } published ? DbTime.ToDb(published > latestPlausible ? clock : published) : (long?)null,
                entry.Score,
                entry.Source,
                Now = now,
                Categories = NoNul(string.Join(' ', categories)),
                CategoriesChecked = categories.Count > 0 ? 1 : 0,
                RepairUrl = stored?.RepairsUrl(entry) == true ? 1 : 0,
                FillAuthors = stored is null || stored.FillsAuthors(entry) ? 1 : 0,
                CodeUrl = Nullable(card.CodeUrl),
                card.CodeStars,
                ProjectUrl = Nullable(card.ProjectUrl),
                DiscussionUrl = Nullable(card.DiscussionUrl),
                card.Comments,
                Organization = Nullable(card.Organization),
                AiSummary = Nullable(card.AiSummary),
                AiKeywords = card.AiKeywords is { Count: > 0 } keywords ? NoNul(EntryColumns.JoinList(keywords)) : null,
            }, transaction);
            await connection.ExecuteAsync(SourceSql, new { id, source = entry.Source }, transaction);
            if (stored is not null) updated++; else added++;
        }
        await transaction.CommitAsync(cancellationToken);
        return new UpsertCounts(added, updated);
    }

    /// <summary>arXiv papers first seen since <paramref name="since"/> whose categories are not known yet (e.g. from Hugging Face).</summary>
    public async Task<IReadOnlyList<(long Id, string CanonicalId)>> WithoutCategoriesAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<(long Id, string CanonicalId)>(UncheckedSql, new { since = DbTime.ToDb(since), limit })).ToList();
    }

    /// <summary>Stores looked-up categories; an id arXiv did not know is stored with none, so it is not asked again.</summary>
    public async Task SaveCategoriesAsync(IReadOnlyList<(long Id, IReadOnlyList<string> Categories)> found, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var (id, categories) in found)
            await connection.ExecuteAsync(CategoriesSql, new { id, categories = string.Join(' ', categories) }, transaction);
        await transaction.CommitAsync(cancellationToken);
    }
}
