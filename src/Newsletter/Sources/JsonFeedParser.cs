using System.Text.Json;

namespace Newsletter.Sources;

/// <summary>JSON Feed 1.0 and 1.1: <c>authors</c> (1.1) or the older <c>author</c>; keys starting with "_" are extensions and ignored.</summary>
public static class JsonFeedParser
{
    public static IReadOnlyList<Entry> Parse(ReadOnlyMemory<byte> content, string sourceName)
    {
        using var document = JsonDocument.Parse(content);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            throw new SourceException("not a JSON Feed: no \"items\" array");
        var feedAuthors = Authors(root);
        var entries = new List<Entry>();
        foreach (var item in items.EnumerateArray())
        {
            var id = String(item, "id");
            var url = String(item, "url");
            var externalUrl = String(item, "external_url");
            var body = String(item, "content_text") is { } plain ? Text.Clean(plain) : Text.FromHtml(String(item, "content_html"));
            var summary = String(item, "summary") is { } s ? Text.Clean(s) : body;
            var title = Text.Clean(String(item, "title"));
            if (title.Length == 0)
                title = Text.Truncate(body.Length > 0 ? body : summary, 100);
            var authors = Authors(item);
            var canonical = CanonicalId.For(sourceName, externalUrl, url, id);
            entries.Add(new Entry(
                canonical,
                title,
                summary,
                authors.Count > 0 ? authors : feedAuthors,
                url ?? externalUrl ?? (canonical.StartsWith("arxiv:", StringComparison.Ordinal) ? CanonicalId.ArxivAbsUrl(canonical) : ""),
                Date(item, "date_published") ?? Date(item, "date_modified"),
                0,
                sourceName));
        }
        return entries;
    }

    private static IReadOnlyList<string> Authors(JsonElement element)
    {
        if (element.TryGetProperty("authors", out var authors) && authors.ValueKind == JsonValueKind.Array)
            return authors.EnumerateArray().Select(a => Text.Clean(String(a, "name"))).Where(n => n.Length > 0).ToArray();
        if (element.TryGetProperty("author", out var author) && author.ValueKind == JsonValueKind.Object && String(author, "name") is { } name)
            return [Text.Clean(name)];
        return [];
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Date(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var date)
            ? date : null;
}
