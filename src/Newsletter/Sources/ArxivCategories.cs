using System.Xml.Linq;
using Microsoft.Extensions.Options;

namespace Newsletter.Sources;

/// <summary>
/// Hugging Face lists papers without their arXiv categories, so readers' topics could not match
/// them. After each collect, the papers still without categories are looked up with one batched
/// arXiv API query (<c>id_list</c>) at <c>ArxivApiUrl</c> (empty: off). Answers are stored, so a
/// paper is asked about once; when the lookup fails, nothing is stored and it is asked again
/// next run (meanwhile the paper reaches readers without topic filters).
/// </summary>
public sealed class ArxivCategories(IHttpClientFactory httpClientFactory, EntryStore entries, IOptions<SourcesOptions> options, TimeProvider time, ILogger<ArxivCategories> logger)
{
    /// <summary>arXiv's API takes comma-separated ids; a few hundred fit one URL comfortably.</summary>
    public const int BatchSize = 200;

    /// <summary>Looks up what is missing; returns how many papers got categories, or null when off or failed.</summary>
    public async Task<int?> LookUpAsync(CancellationToken cancellationToken)
    {
        var baseUrl = options.Value.ArxivApiUrl;
        if (string.IsNullOrWhiteSpace(baseUrl))
            return null;
        var missing = await entries.WithoutCategoriesAsync(time.GetUtcNow() - TimeSpan.FromDays(8), BatchSize, cancellationToken);
        if (missing.Count == 0)
            return 0;
        var ids = missing.Select(m => m.CanonicalId["arxiv:".Length..]).ToList();
        var url = baseUrl + (baseUrl.Contains('?') ? "&" : "?") + "id_list=" + string.Join(',', ids.Select(Uri.EscapeDataString)) + "&max_results=" + ids.Count;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.SourceTimeout);
        try
        {
            var client = httpClientFactory.CreateClient(FeedFetcher.HttpClientName);
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
                throw new SourceException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            var content = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            if (content.Length > options.Value.MaxSourceBytes)
                throw new SourceException($"answer exceeds the limit of {options.Value.MaxSourceBytes} bytes");
            var found = Parse(content);
            // An id arXiv does not answer for is stored without categories: asking again would not help.
            var results = missing.Select(m => (m.Id, found.TryGetValue(m.CanonicalId, out var categories) ? categories : (IReadOnlyList<string>)[])).ToList();
            await entries.SaveCategoriesAsync(results, cancellationToken);
            var known = results.Count(r => r.Item2.Count > 0);
            logger.LogInformation("arXiv categories looked up for {Count} papers ({Known} known to arXiv)", results.Count, known);
            return known;
        }
        catch (Exception exception) when (exception is HttpRequestException or SourceException or System.Xml.XmlException
                                          || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var reason = exception is OperationCanceledException ? $"no answer within {options.Value.SourceTimeout.TotalSeconds:0} s" : exception.Message;
            logger.LogWarning("arXiv category lookup ({Url}) failed: {Reason}; {Count} papers are looked up again next run", baseUrl, reason, missing.Count);
            return null;
        }
    }

    private static readonly XNamespace Atom = "http://www.w3.org/2005/Atom";

    /// <summary>arXiv API Atom: each entry's id (with a version) and its <c>category term</c>s; an error feed is a failure.</summary>
    private static Dictionary<string, IReadOnlyList<string>> Parse(byte[] content)
    {
        XDocument document;
        using (var reader = XmlFeedParser.CreateReader(content))
            document = XDocument.Load(reader);
        var found = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var entry in document.Root?.Elements(Atom + "entry") ?? [])
        {
            var idText = entry.Element(Atom + "id")?.Value.Trim();
            if (idText?.Contains("arxiv.org/api/errors", StringComparison.OrdinalIgnoreCase) == true || entry.Element(Atom + "title")?.Value == "Error")
                throw new SourceException($"arXiv API error: {Text.Clean(entry.Element(Atom + "summary")?.Value)}");
            if (CanonicalId.TryArxiv(idText) is not { } id)
                continue;
            found[id] = entry.Elements(Atom + "category").Select(c => Text.Clean((string?)c.Attribute("term")))
                .Where(c => c.Length is > 0 and <= 50 && !c.Contains(' ')).Distinct().ToList();
        }
        return found;
    }
}
