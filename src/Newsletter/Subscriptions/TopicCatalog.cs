using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Sources;

namespace Newsletter.Subscriptions;

/// <summary>
/// What a reader's topic may name: an arXiv archive or category, or a configured source
/// (<c>Sources:N:Name</c>). A topic that names neither matches nothing and the reader would never
/// learn why, so it is refused with the nearest name.
/// </summary>
public sealed class TopicCatalog(IOptions<SourcesOptions> sources)
{
    /// <summary>Null when <paramref name="topic"/> is known; otherwise the sentence that says why not.</summary>
    public string? Problem(string topic)
    {
        var names = sources.Value.Sources.Select(s => s.Name).Where(n => !string.IsNullOrWhiteSpace(n)).ToArray();
        if (ArxivTaxonomy.Find(topic) is not null || names.Contains(topic, StringComparer.OrdinalIgnoreCase))
            return null;
        var nearest = Suggestions.Nearest(topic, ArxivTaxonomy.Categories.Concat(ArxivTaxonomy.Archives).Concat(names));
        return nearest is null
            ? $"'{topic}' is neither an arXiv category (such as cs.LG) nor a source name ({string.Join(", ", names)})."
            : $"'{topic}' is neither an arXiv category nor a source name; did you mean '{nearest}'?";
    }
}
