using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Storage;

namespace Newsletter.Sources;

/// <summary>A paper a reader pointed at: its row and title, or why it could not be found.</summary>
public sealed record FoundPaper(long? EntryId, string Title, string? Problem);

/// <summary>
/// Finds the paper a reader or operator names, in any form the identity rules accept (arXiv id or URL, Hugging Face
/// page, DOI) or by its exact title. A paper not collected yet is looked up at <c>ArxivApiUrl</c> (arXiv ids only)
/// and stored as a reference, with a first-seen time of 0, so that it teaches the ranking without ever appearing
/// in a digest as news.
/// </summary>
public sealed class PaperLookup(Database database, IHttpClientFactory httpClientFactory, IOptions<SourcesOptions> options)
{
    /// <summary>What an unknown reference may be at most (a pasted title is rarely longer).</summary>
    public const int MaxReferenceLength = 300;

    private const string ByIdSql = "SELECT id AS Id, title AS Title FROM entries WHERE canonical_id = @id";

    private const string ByTitleSql = "SELECT id AS Id, title AS Title FROM entries WHERE lower(title) = lower(@title) ORDER BY id LIMIT 1";

    private const string InsertSql = """
        INSERT INTO entries (canonical_id, title, summary, authors, url, published_at, score, source, first_seen_at, updated_at, categories, categories_checked)
        VALUES (@CanonicalId, @Title, @Summary, @Authors, @Url, NULL, 0, @Source, 0, @Now, @Categories, 1)
        ON CONFLICT (canonical_id) DO NOTHING
        """;

    /// <summary>The source name a looked-up paper is stored under.</summary>
    public const string LookupSource = "arxiv-lookup";

    private sealed record Row(long Id, string Title);

    public async Task<FoundPaper> FindAsync(string reference, CancellationToken cancellationToken)
    {
        var text = Text.Clean(reference);
        if (text.Length == 0)
            return new FoundPaper(null, "", "is empty.");
        if (text.Length > MaxReferenceLength)
            return new FoundPaper(null, "", $"is longer than {MaxReferenceLength} characters; give an arXiv id, a link or a title.");
        // arXiv's own DOI names the arXiv paper (as the identity rules say), not a journal article to refuse.
        var canonical = CanonicalId.TryArxiv(text, arxivContext: true) ?? CanonicalId.ArxivFromDoi(text) ?? CanonicalId.TryDoi(text);
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            var row = canonical is not null
                ? await connection.QuerySingleOrDefaultAsync<Row>(ByIdSql, new { id = canonical })
                : await connection.QuerySingleOrDefaultAsync<Row>(ByTitleSql, new { title = text });
            if (row is not null)
                return new FoundPaper(row.Id, row.Title, null);
        }
        if (canonical is null)
            return new FoundPaper(null, "", $"'{Shorten(text)}' is not an arXiv id, a DOI or a link to a paper, nor the title of a collected paper.");
        if (!canonical.StartsWith("arxiv:", StringComparison.Ordinal) || string.IsNullOrWhiteSpace(options.Value.ArxivApiUrl))
            return new FoundPaper(null, "", $"{canonical} has not been collected here{(canonical.StartsWith("arxiv:", StringComparison.Ordinal) ? " and arXiv lookups are off (ArxivApiUrl is empty)" : "; only arXiv papers can be looked up")}.");
        return await FetchAsync(canonical, cancellationToken);
    }

    private async Task<FoundPaper> FetchAsync(string canonical, CancellationToken cancellationToken)
    {
        var baseUrl = options.Value.ArxivApiUrl;
        var url = baseUrl + (baseUrl.Contains('?') ? "&" : "?") + "id_list=" + Uri.EscapeDataString(canonical["arxiv:".Length..]) + "&max_results=1";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.SourceTimeout);
        Entry? entry;
        try
        {
            var client = httpClientFactory.CreateClient(FeedFetcher.HttpClientName);
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
                return new FoundPaper(null, "", $"{canonical} is not collected here and arXiv answered HTTP {(int)response.StatusCode}; try again later.");
            var content = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            if (content.Length > options.Value.MaxSourceBytes)
                return new FoundPaper(null, "", $"{canonical}: arXiv's answer was too large.");
            entry = FeedParsers.Parse(SourceKind.ArxivApi, content, LookupSource).Entries.FirstOrDefault(e => e.CanonicalId == canonical);
        }
        catch (Exception exception) when (exception is HttpRequestException or SourceException or System.Xml.XmlException
                                          || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new FoundPaper(null, "", $"{canonical} is not collected here and arXiv could not be asked ({(exception is OperationCanceledException ? "no answer in time" : exception.Message)}); try again later.");
        }
        if (entry is null)
            return new FoundPaper(null, "", $"arXiv does not know {canonical}.");
        entry = entry.WithinLimits();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(InsertSql, new
        {
            entry.CanonicalId,
            entry.Title,
            entry.Summary,
            Authors = string.Join(EntryColumns.AuthorSeparator, entry.Authors),
            entry.Url,
            Source = LookupSource,
            Now = DbTime.ToDb(DateTimeOffset.UnixEpoch),
            Categories = string.Join(' ', entry.Categories ?? []),
        });
        var row = await connection.QuerySingleAsync<Row>(ByIdSql, new { id = canonical });
        return new FoundPaper(row.Id, row.Title, null);
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
