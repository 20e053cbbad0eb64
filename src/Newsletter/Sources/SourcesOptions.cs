using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Sources;

public enum SourceKind { Auto, HuggingFaceDaily, Rss, Atom, JsonFeed, ArxivApi }

public sealed class SourceDefinition
{
    public string Name { get; set; } = "";
    public SourceKind Kind { get; set; } = SourceKind.Auto;
    public string Url { get; set; } = "";
}

/// <summary>The "Sources" array and how fetching them is bounded.</summary>
public sealed class SourcesOptions
{
    public const string Section = "Newsletter";

    public static readonly SourceDefinition[] Defaults =
    [
        new() { Name = "huggingface-daily", Kind = SourceKind.HuggingFaceDaily, Url = "https://huggingface.co/api/daily_papers" },
        new() { Name = "arxiv-cs.LG", Kind = SourceKind.Rss, Url = "https://rss.arxiv.org/rss/cs.LG" },
    ];

    /// <summary>Empty in code: the configuration binder appends to lists, so defaults are applied only when none are configured.</summary>
    public List<SourceDefinition> Sources { get; set; } = [];

    /// <summary>Whole-request limit for one source.</summary>
    public TimeSpan SourceTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The arXiv API (<c>/api/query</c>) that categories of papers from sources without them
    /// (Hugging Face) are looked up at, in one batched <c>id_list</c> query per collect. Empty: off.
    /// </summary>
    public string ArxivApiUrl { get; set; } = "https://export.arxiv.org/api/query";

    /// <summary>
    /// Failed collects in a row after which <c>/health</c> calls a source degraded (and unhealthy when
    /// every source has). Not under <c>Sources</c>: that key is the array of sources.
    /// </summary>
    public int SourceUnhealthyAfter { get; set; } = 3;

    /// <summary>A response larger than this is refused rather than parsed.</summary>
    public long MaxSourceBytes { get; set; } = 20 * 1024 * 1024;
}

internal sealed class SourcesOptionsSetup : IPostConfigureOptions<SourcesOptions>
{
    public void PostConfigure(string? name, SourcesOptions options)
    {
        if (options.Sources.Count == 0)
            options.Sources.AddRange(SourcesOptions.Defaults);
    }
}

internal sealed class SourcesOptionsValidator : IValidateOptions<SourcesOptions>
{
    public ValidateOptionsResult Validate(string? name, SourcesOptions options)
    {
        var check = new ValidationFailures(SourcesOptions.Section);
        for (var i = 0; i < options.Sources.Count; i++)
        {
            var source = options.Sources[i];
            check.Require(!string.IsNullOrWhiteSpace(source.Name), $"Sources:{i}:Name", "must not be empty.");
            check.Require(Uri.TryCreate(source.Url, UriKind.Absolute, out var url)
                          && (url.Scheme is "http" or "https" or "file"),
                $"Sources:{i}:Url", $"must be an absolute http://, https:// or file:// URL; got '{source.Url}'.");
        }
        var duplicates = options.Sources.GroupBy(s => s.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1);
        foreach (var duplicate in duplicates)
            check.Require(false, "Sources", $"has the name '{duplicate.Key}' more than once; names must be unique.");
        check.Require(string.IsNullOrWhiteSpace(options.ArxivApiUrl)
                      || (Uri.TryCreate(options.ArxivApiUrl, UriKind.Absolute, out var api) && api.Scheme is "http" or "https"),
            "ArxivApiUrl", $"must be an absolute http:// or https:// URL, or empty to turn category lookups off; got '{options.ArxivApiUrl}'.");
        check.Require(options.SourceTimeout > TimeSpan.Zero, "SourceTimeout", "must be positive.");
        check.Require(options.MaxSourceBytes > 0, "MaxSourceBytes", "must be positive.");
        check.Require(options.SourceUnhealthyAfter >= 1, "SourceUnhealthyAfter", $"must be at least 1 (failed collects in a row); got {options.SourceUnhealthyAfter}.");
        return check.Result();
    }
}
