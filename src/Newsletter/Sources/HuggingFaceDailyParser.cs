using System.Text.Json;
using Newsletter.Model;

namespace Newsletter.Sources;

/// <summary>
/// The Hugging Face daily papers API: a JSON array whose items hold the paper under "paper";
/// <c>paper.id</c> is the version-free arXiv id and <c>paper.upvotes</c> the score. The card's fields sit under
/// "paper" (<c>githubRepo</c>, <c>githubStars</c>, <c>projectPage</c>, <c>ai_summary</c>, <c>ai_keywords</c>) and at the
/// item's top level (<c>numComments</c>; <c>organization</c>, an object with <c>fullname</c> and <c>name</c>); each is
/// read from either place, so a move between them in the API loses nothing.
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
            sourceName,
            Card: Card(item, paper, canonical, id));
    }

    /// <summary>The card's fields as the API gives them; <see cref="PaperCard.Bounded"/> (through <see cref="Entry.WithinLimits"/>) keeps them sane.</summary>
    private static PaperCard Card(JsonElement item, JsonElement paper, string canonical, string id)
    {
        string? Either(string name) => String(paper, name) ?? String(item, name);
        int? Number(string name) => Int(paper, name) ?? Int(item, name);
        // Every daily paper has its page (and discussion) on the hub, under its arXiv id.
        var page = canonical.StartsWith("arxiv:", StringComparison.Ordinal)
            ? "https://huggingface.co/papers/" + canonical["arxiv:".Length..]
            : id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_') ? "https://huggingface.co/papers/" + id : null;
        return new PaperCard(
            Either("githubRepo"),
            Number("githubStars"),
            Either("projectPage"),
            page,
            Number("numComments"),
            Organization(item) ?? Organization(paper),
            Either("ai_summary"),
            Keywords(paper) ?? Keywords(item));
    }

    private static string? Organization(JsonElement element) =>
        !element.TryGetProperty("organization", out var organization) ? null
        : organization.ValueKind == JsonValueKind.Object ? String(organization, "fullname") ?? String(organization, "name")
        : organization.ValueKind == JsonValueKind.String ? organization.GetString()
        : null;

    private static string[]? Keywords(JsonElement element) =>
        element.TryGetProperty("ai_keywords", out var list) && list.ValueKind == JsonValueKind.Array
            // Bounded before the caps apply: a hostile list of a million keywords is not read past what is kept.
            ? list.EnumerateArray().Where(k => k.ValueKind == JsonValueKind.String).Take(PaperCard.MaxKeywords * 4).Select(k => k.GetString()!).ToArray()
            : null;

    private static int? Int(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : null;

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Date(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var date)
            ? date : null;
}
