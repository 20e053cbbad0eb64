namespace Newsletter.Configuration;

/// <summary>Top-level settings under "Newsletter" that several features share.</summary>
public sealed class NewsletterOptions
{
    public const string Section = "Newsletter";

    /// <summary>Base of every link in mail (confirm, unsubscribe, preferences).</summary>
    public string PublicBaseUrl { get; set; } = "http://localhost:5080";

    /// <summary>Key for signed links; generated and stored in the database when absent.</summary>
    public string? Secret { get; set; }

    /// <summary>Earlier secrets whose links still verify during a key rotation.</summary>
    public List<string> PreviousSecrets { get; set; } = [];

    /// <summary>
    /// A folder of secret files, one per key named as its environment variable (<c>Newsletter__Smtp__Password</c>),
    /// read at start-up (as is systemd's <c>$CREDENTIALS_DIRECTORY</c>); empty: none.
    /// </summary>
    public string? SecretsPath { get; set; }

    /// <summary>Folder of Scriban templates, relative to the current directory.</summary>
    public string TemplatesPath { get; set; } = "templates";

    public SenderOptions From { get; set; } = new();

    /// <summary>The public archive of issues and its feeds (<c>/archive</c>, <c>/feed.xml</c>, <c>/feed.json</c>).</summary>
    public ArchiveOptions Archive { get; set; } = new();

    /// <summary>Where the service's metrics go besides OTLP (which follows <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>).</summary>
    public MetricsOptions Metrics { get; set; } = new();

    /// <summary>Wall-clock limit of one template render; a render that takes longer fails.</summary>
    public TimeSpan RenderTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many top-ranked papers one issue shows in full (title, authors, abstract).</summary>
    public int MaxEntriesPerIssue { get; set; } = 50;

    /// <summary>
    /// How many further papers the same issue lists compactly (title and link) under "More papers",
    /// so a 100+ paper arXiv day reaches readers the day it appears. Papers past both limits are
    /// carried into the next issue.
    /// </summary>
    public int MaxMoreEntriesPerIssue { get; set; } = 250;

    /// <summary>Upper bounds of the two caps: an issue of real papers stays inside the template output limit.</summary>
    public const int MaxEntriesPerIssueLimit = 100;
    public const int MaxMoreEntriesPerIssueLimit = 1000;

    /// <summary>
    /// A paper still waiting for room this long after it was first seen is left out (and counted in
    /// the compose log line): the carry-over cannot grow without bound when every day brings more
    /// papers than an issue holds.
    /// </summary>
    public TimeSpan CarryOverMaxAge { get; set; } = TimeSpan.FromDays(3);
}

public sealed class SenderOptions
{
    public string Address { get; set; } = "digest@localhost";
    public string Name { get; set; } = "Daily Papers";
}

public sealed class ArchiveOptions
{
    /// <summary>Off: every archive page and feed answers 404, and digests carry no "view in browser" link.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Issues listed on one page of <c>/archive</c>.</summary>
    public int PageSize { get; set; } = 30;

    /// <summary>The newest issues a feed holds.</summary>
    public int FeedIssues { get; set; } = 10;

    /// <summary>How long browsers and shared caches may keep an archive page or feed before asking again (with ETag).</summary>
    public TimeSpan CacheFor { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class MetricsOptions
{
    /// <summary>Serve <c>GET /metrics</c> in the Prometheus text format (404 when off).</summary>
    public bool Prometheus { get; set; }
}
