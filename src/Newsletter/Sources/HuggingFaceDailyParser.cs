using System.Text.Json;

namespace Newsletter.Sources;

/// <summary>
/// The Hugging Face daily papers API: a JSON array whose items hold the paper under "paper";
/// <c>paper.id</c> is the version-free arXiv id and <c>paper.upvotes</c> the score.
/// </summary>
public static class HuggingFaceDailyParser
{
    public static ParsedFeed Parse(ReadOnlyMemory<byte> content, string sourceName)
    {
        using var document = JsonDocument.Parse(content);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
            throw new SourceException("expected a JSON array of daily papers");
        var feed = new ParsedFeedBuilder();
        var index = 0;
        foreach (var item in document.RootElement.EnumerateArray())
            feed.Add(index++, () => item.ValueKind == JsonValueKind.Object ? ToEntry(item, sourceName) : throw new FormatException($"is a JSON {item.ValueKind}, not an object"));
        return feed.Build();
    }

    private static Entry? ToEntry(JsonElement item, string sourceName)
    {
        var paper = item.TryGetProperty("paper", out var p) && p.ValueKind == JsonValueKind.Object ? p : item;
        var id = String(paper, "id");
        if (id is null)
            return null;
        var authors = paper.TryGetProperty("authors", out var list) && list.ValueKind == JsonValueKind.Array
            // Hidden authors are not shown on the Hugging Face page either.
            ? list.EnumerateArray()
                .Where(a => !(a.TryGetProperty("hidden", out var hidden) && hidden.ValueKind == JsonValueKind.True))
                .Select(a => Text.Clean(String(a, "name"))).Where(n => n.Length > 0).ToArray()
            : [];
        var canonical = CanonicalId.For(sourceName, [id], arxivContext: true)!;
        return new Entry(
            canonical,
            Text.Clean(String(paper, "title") ?? String(item, "title")),
            Text.Clean(String(paper, "summary") ?? String(item, "summary")),
            authors,
            canonical.StartsWith("arxiv:", StringComparison.Ordinal) ? CanonicalId.ArxivAbsUrl(canonical) : $"https://huggingface.co/papers/{id}",
            Date(paper, "publishedAt") ?? Date(item, "publishedAt"),
            paper.TryGetProperty("upvotes", out var upvotes) && upvotes.TryGetInt32(out var score) ? score : 0,
            sourceName);
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Date(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var date)
            ? date : null;
}
